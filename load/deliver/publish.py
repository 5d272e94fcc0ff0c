"""Publish a contract's staged deliveries to its SaaS's read-only outbox on the landing zone.

Every staged full delivery and delta of the contract goes out under its lake path below
``deliver/`` (``contract=<id>/kijunbi=<d>/part-0.parquet`` …), oldest 基準日 first, in each
partition the data file before its manifest: a consumer (``jumin pull``) treats a partition
whose manifest is not there yet as not published. A marker per file in the lake
(:meth:`Lake.published_marker`), written after the file reached the outbox, holds its SHA-256:
a rerun sends only new or changed files, and a run killed in between sends the rest next time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from extract.saas_outbox import SaasOutbox
from jumin.core.errors import TerminalError
from jumin.core.files import atomic_write_bytes, remove_stale_temps, sha256_file
from jumin.core.lake import PART_FILE, PARTITION_MANIFEST, Lake

log = logging.getLogger(__name__)


class NothingToPublish(TerminalError):
    """The contract has no staged delivery in the lake."""


@dataclass(frozen=True)
class PublishResult:
    """What one publication put into a SaaS's outbox."""

    contract: str
    account: str
    #: partitions published (full deliveries and deltas)
    partitions: int
    #: files put this time (the rest were there with the same bytes)
    sent: list[str]

    def to_dict(self) -> dict[str, object]:
        return {"contract": self.contract, "account": self.account, "partitions": self.partitions, "sent": self.sent}


def partitions(lake: Lake, contract_id: str) -> list[Path]:
    """The contract's staged partitions in publication order: by 基準日, a day's full delivery
    before the delta into it."""
    full = [(d, 0, lake.delivery(contract_id, d)) for d in lake.delivery_days(contract_id)]
    deltas = [(to, 1, lake.delivery_delta(contract_id, fr, to)) for fr, to in lake.delivery_deltas(contract_id)]
    return [p for _, _, p in sorted(full + deltas)]


def publish(outbox: SaasOutbox, lake_root: str | Path, contract_id: str) -> PublishResult:
    """Put every staged delivery of ``contract_id`` that the outbox lacks into ``outbox``."""
    lake = Lake.at(lake_root)
    folders = partitions(lake, contract_id)
    if not folders:
        where = lake.delivery(contract_id, "*").parent
        raise NothingToPublish(f"{contract_id}: no staged delivery under {where} (run `jumin deliver` first)")
    sent = []
    for folder in folders:
        for name in (PART_FILE, PARTITION_MANIFEST):
            path = folder / name
            rel = path.relative_to(lake.deliveries_root()).as_posix()
            digest = sha256_file(path).encode()
            marker = lake.published_marker(outbox.account, rel)
            if marker.exists() and marker.read_bytes() == digest:
                continue
            outbox.put(rel, path)
            marker.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(marker.parent)  # a marker a killed earlier run was writing
            atomic_write_bytes(marker, digest)
            sent.append(rel)
    log.info("%s: published %d files to SaaS %s", contract_id, len(sent), outbox.account)
    return PublishResult(contract_id, outbox.account, len(folders), sent)


def publish_contract(source: str | Path, lake_root: str | Path, contract_path: str | Path) -> PublishResult:
    """Publish the deliveries of the contract file ``contract_path`` to its SaaS's outbox at the
    landing zone ``source`` (a local landing folder or the service account's ``sftp://`` URI)."""
    from extract.saas_outbox import open_saas_outbox
    from load.deliver.contract import load_contract

    contract = load_contract(contract_path)
    with open_saas_outbox(source, contract.account) as outbox:
        return publish(outbox, lake_root, contract.id)
