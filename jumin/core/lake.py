"""Paths of the lake, in one place (see docs/lake.md).

::

    <lake>/raw/lg_code=<c>/set=<id>/                      immutable copy of an upload set
    <lake>/parsed/<layout>/lg_code=<c>/set=<id>.parquet   decoded rows, all text, with line numbers
    <lake>/accepted/<layout>/lg_code=<c>/set=<id>.parquet rows that passed validation, typed
    <lake>/rejected/<layout>/lg_code=<c>/set=<id>.parquet quarantine: rows with their errors
    <lake>/receipts/lg_code=<c>/<id>.json (+ .txt)        受付結果 per upload set
    <lake>/docs/lg_code=<c>/<id>.html (+ .stats.json)     GX Data Docs of the set's validation
    <lake>/reference/gaiji/<c>.json                       registered 外字 map
    <lake>/incoming/<c>/<id>/                             staging of a set being copied in
    <lake>/snapshot/<layout>/kijunbi=<d>/known_at=<k>/lg_code=<c>/part-0.parquet (+ _manifest.json)
    <lake>/delta/<layout>/from=<ref>/to=<ref>/lg_code=<c>/part-0.parquet (+ _manifest.json)
    <lake>/reconcile/<output>/kijunbi=<d>/lg_code=<c>/part-0.parquet (+ _manifest.json)
    <lake>/reconcile/model/kijunbi=<d>/model.json          the trained linking model of the run
    <lake>/reconcile/docs/kijunbi=<d>/lg_code=<c>.html      GX Data Docs of the discrepancy rules
    <lake>/reconcile/work/kijunbi=<d>/juki_keyed.parquet   the national 住基 keyed once per run
    <lake>/reconcile/review/kijunbi=<d>/lg_code=<c>/       the clerk's review files (xlsx, csv):
                                                           nayose_koho_<YYYYMMDD>.xlsx (+ .csv)
    <lake>/deliver/contract=<id>/kijunbi=<d>/part-0.parquet (+ _manifest.json)  a contract's delivery
    <lake>/deliver/contract=<id>/delta/from=<d0>/to=<d>/part-0.parquet         and its changes
    <lake>/published/saas=<account>/<path below deliver/>.sha256  what the SaaS's outbox holds
    <lake>/ledger/segments/<seq>-<delivery_id>.parquet    delivery ledger: one segment per delivery
    <lake>/ledger/chain.jsonl                             the ledger's hash chain, one record per segment
    <lake>/ledger/pending/contract=<id>/kijunbi=<d>/      a delivery written, not yet logged and staged
    <lake>/reference/ledger_key                           the secret keying persons in the ledger
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jumin.core import store
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.files import atomic_path

if TYPE_CHECKING:
    import pyarrow as pa

#: parsed, accepted and rejected zones are read back by the next stage at once: fast snappy
#: beats smaller zstd there; published snapshots use load.config.ParquetConfig (zstd)
WORK_COMPRESSION = "snappy"


#: a partition below ``deliver/``: ``contract=<id>/kijunbi=<d>`` or ``contract=<id>/delta/from=<d0>/to=<d>``
_DAY = r"(\d{4}-\d{2}-\d{2})"
_DELIVERY_PARTITION = re.compile(rf"contract=([a-z][a-z0-9_]*)/(?:kijunbi={_DAY}|delta/from={_DAY}/to={_DAY})")


@dataclass(frozen=True)
class Lake:
    """A lake rooted at ``root``: a local folder or an ``s3://`` path (:mod:`jumin.core.store`).
    Every path of the lake is built here; zones are ``raw``, ``parsed``, ``accepted`` ... as in
    the module docstring."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> Lake:
        """The lake at a folder or an ``s3://bucket/prefix`` URI (what configuration names)."""
        return cls(store.lake_path(root))

    # -- ingest
    def incoming(self, lg_code: str, set_id: str) -> Path:
        """Staging folder of a set being copied in, before it is checked and moved to raw; a
        local folder also for a lake in object storage (:func:`jumin.core.store.scratch`)."""
        base = store.scratch(self.root) if store.is_remote(self.root) else self.root
        return base / "incoming" / lg_code / set_id

    def raw(self, lg_code: str, set_id: str) -> Path:
        return self.root / "raw" / f"lg_code={lg_code}" / f"set={set_id}"

    def parsed_folder(self, layout: str, lg_code: str) -> Path:
        return self.root / "parsed" / layout / f"lg_code={lg_code}"

    def parsed(self, layout: str, lg_code: str, set_id: str) -> Path:
        return self.parsed_folder(layout, lg_code) / f"set={set_id}.parquet"

    @staticmethod
    def parsed_sidecar(parsed: Path) -> Path:
        """What ingest learnt about a parsed set (manifest, counts, row-structure findings)."""
        return parsed.with_suffix(".json")

    def parsed_files(self, lg_code: str) -> list[Path]:
        """Every parsed set of a municipality, all layouts, in a stable order."""
        return sorted(self.root.glob(f"parsed/*/lg_code={lg_code}/set=*.parquet"))

    @staticmethod
    def set_id_of(path: Path) -> str:
        """The set id in a ``set=<id>.parquet`` file name."""
        return path.stem.removeprefix("set=")

    # -- validate
    def accepted(self, layout: str, lg_code: str, set_id: str) -> Path:
        return self.accepted_folder(layout, lg_code) / f"set={set_id}.parquet"

    def accepted_folder(self, layout: str, lg_code: str) -> Path:
        return self.root / "accepted" / layout / f"lg_code={lg_code}"

    def accepted_files(self, layout: str, lg_code: str) -> list[Path]:
        """The accepted sets of one layout and municipality, sorted."""
        return sorted(self.accepted_folder(layout, lg_code).glob("*.parquet"))

    def rejected_folder(self, layout: str, lg_code: str) -> Path:
        return self.root / "rejected" / layout / f"lg_code={lg_code}"

    def rejected(self, layout: str, lg_code: str, set_id: str) -> Path:
        return self.rejected_folder(layout, lg_code) / f"set={set_id}.parquet"

    def receipts_folder(self, lg_code: str) -> Path:
        return self.root / "receipts" / f"lg_code={lg_code}"

    def receipt(self, lg_code: str, set_id: str) -> Path:
        """The JSON receipt of a set; the Japanese text is :meth:`receipt_text`."""
        return self.receipts_folder(lg_code) / f"{set_id}.json"

    @staticmethod
    def receipt_text(receipt: Path) -> Path:
        return receipt.with_suffix(".txt")

    def receipts(self, lg_code: str = "*") -> list[Path]:
        """The JSON receipts of a municipality (of all with the default), sorted."""
        return sorted(self.root.glob(f"receipts/lg_code={lg_code}/*.json"))

    @staticmethod
    def returned_marker(receipt: Path, suffix: str) -> Path:
        """Bytes of a receipt file (``.json`` or ``.txt``) last put in the outbox."""
        return receipt.with_name(f".{receipt.stem}{suffix}.returned")

    def docs_folder(self, lg_code: str) -> Path:
        return self.root / "docs" / f"lg_code={lg_code}"

    def data_docs(self, lg_code: str, set_id: str) -> Path:
        return self.docs_folder(lg_code) / f"{set_id}.html"

    def rule_stats(self, lg_code: str, set_id: str) -> Path:
        """Per-rule statistics of a validation, the input of its Data Docs page."""
        return self.docs_folder(lg_code) / f"{set_id}.stats.json"

    def rule_stats_files(self, lg_code: str) -> list[Path]:
        return sorted(self.docs_folder(lg_code).glob("*.stats.json"))

    @staticmethod
    def data_docs_of(stats: Path) -> Path:
        """The Data Docs page rendered from a :meth:`rule_stats` file."""
        return stats.with_name(stats.name.removesuffix(".stats.json") + ".html")

    # -- reference data
    def gaiji_map(self, lg_code: str) -> Path:
        """The registered 外字 map of a municipality."""
        return self.root / "reference" / "gaiji" / f"{lg_code}.json"

    # -- staged datasets
    def snapshot(self, layout: str, kijunbi: str, known_at: str, lg_code: str) -> Path:
        """Partition folder of the snapshot as of ``kijunbi`` as known at ``known_at``."""
        return self.root / "snapshot" / layout / f"kijunbi={kijunbi}" / f"known_at={known_at}" / f"lg_code={lg_code}"

    def staged_snapshots(self, layout: str, kijunbi: str, known_at: str | None = None) -> dict[str, Path]:
        """lg_code → the data file of every staged snapshot partition of a 基準日 (known at
        ``known_at``, default the 基準日 itself), in code order."""
        day = self.snapshot(layout, kijunbi, known_at or kijunbi, "*").parent
        out = {}
        for folder in sorted(day.glob("lg_code=*")):
            code = folder.name.removeprefix("lg_code=")
            if is_valid_lg_code(code) and self.is_staged(folder):
                out[code] = folder / PART_FILE
        return out

    def snapshot_days(self, layout: str) -> list[str]:
        """Every 基準日 with a snapshot folder of ``layout``, sorted."""
        return sorted(p.name.removeprefix("kijunbi=") for p in (self.root / "snapshot" / layout).glob("kijunbi=*"))

    def delta(self, layout: str, from_ref: str, to_ref: str, lg_code: str) -> Path:
        """Partition folder of the changes from snapshot ``from_ref`` to ``to_ref``
        (references as made by :func:`snapshot_ref`)."""
        return self.root / "delta" / layout / f"from={from_ref}" / f"to={to_ref}" / f"lg_code={lg_code}"

    # -- reconciliation
    def reconcile(self, output: str, kijunbi: str, lg_code: str) -> Path:
        """Partition folder of a reconciliation output (``links`` or ``discrepancies``) of a 基準日."""
        return self.root / "reconcile" / output / f"kijunbi={kijunbi}" / f"lg_code={lg_code}"

    def reconcile_glob(self, output: str) -> str:
        """A DuckDB glob over every data file of a reconciliation output (``links`` …)."""
        return str(self.root / "reconcile" / output / "**" / "*.parquet")

    def reconcile_docs(self, kijunbi: str, lg_code: str) -> Path:
        """The Data Docs page of a municipality's discrepancy rules for a 基準日."""
        return self.root / "reconcile" / "docs" / f"kijunbi={kijunbi}" / f"lg_code={lg_code}.html"

    def reconcile_model(self, kijunbi: str) -> Path:
        """The linking model trained (or reused) by the reconciliation of a 基準日."""
        return self.root / "reconcile" / "model" / f"kijunbi={kijunbi}" / "model.json"

    def reconcile_work(self, kijunbi: str) -> Path:
        """The national step's output of a 基準日 for every municipality's reconciliation (the
        住登外者 candidates and the keyed tables per reconciling municipality, ``prepared.json``
        last); rebuilt by every run, not a dataset."""
        return self.root / "reconcile" / "work" / f"kijunbi={kijunbi}"

    def reconcile_keyed(self, kijunbi: str, lg_code: str) -> Path:
        """One municipality's records of a 基準日 keyed for matching (its ``atena_keyed``,
        ``juki_keyed`` and ``juki_last`` tables and ``keyed.json``, written last), made by the
        reconcile DAG's mapped ``key`` task and read by the national step; not a dataset."""
        return self.root / "reconcile" / "keyed" / f"kijunbi={kijunbi}" / f"lg_code={lg_code}"

    def review_folder(self, kijunbi: str, lg_code: str) -> Path:
        """The review files (名寄せ候補一覧, xlsx and csv) of a municipality for a 基準日."""
        return self.root / "reconcile" / "review" / f"kijunbi={kijunbi}" / f"lg_code={lg_code}"

    def review_file(self, kijunbi: str, lg_code: str, suffix: str) -> Path:
        """``nayose_koho_<YYYYMMDD><suffix>`` (``.xlsx`` or ``.csv``) in :meth:`review_folder`: the
        name staff find in their outbox, which they may upload again as it is (ASCII only)."""
        return self.review_folder(kijunbi, lg_code) / f"{REVIEW_STEM}_{kijunbi.replace('-', '')}{suffix}"

    def review_masks(self, kijunbi: str, lg_code: str) -> Path:
        """Masked 候補番号 of the review files in :meth:`review_folder` → the 候補番号 each stands
        for; stays in the lake (never returned to the outbox)."""
        return self.review_folder(kijunbi, lg_code) / "_masked.json"

    def review_mask_files(self, lg_code: str) -> list[Path]:
        """Every :meth:`review_masks` file of a municipality, sorted."""
        return sorted(self.root.glob(str(self.review_masks("*", lg_code).relative_to(self.root))))

    def review_key(self) -> Path:
        """The secret (made once) behind the masked 候補番号 of review files."""
        return self.root / "reference" / "review_key"

    def delivery(self, contract_id: str, kijunbi: str) -> Path:
        """Partition folder of a contract's delivery for a 基準日."""
        return self.deliveries_root() / f"contract={contract_id}" / f"kijunbi={kijunbi}"

    def delivery_days(self, contract_id: str) -> list[str]:
        """Every 基準日 with a staged delivery of the contract, sorted."""
        folder = self.delivery(contract_id, "*").parent
        return sorted(p.name.removeprefix("kijunbi=") for p in folder.glob("kijunbi=*") if self.is_staged(p))

    def delivery_delta(self, contract_id: str, from_day: str, to_day: str) -> Path:
        """Partition folder of the changes of a contract's delivery from one 基準日 to another."""
        return self.delivery(contract_id, "x").parent / "delta" / f"from={from_day}" / f"to={to_day}"

    def delivery_deltas(self, contract_id: str) -> list[tuple[str, str]]:
        """Every staged delta of the contract as (from 基準日, to 基準日), sorted by the later."""
        base = self.delivery(contract_id, "x").parent / "delta"
        pairs = [
            (p.parent.name.removeprefix("from="), p.name.removeprefix("to="))
            for p in base.glob("from=*/to=*")
            if self.is_staged(p)
        ]
        return sorted(pairs, key=lambda fr: (fr[1], fr[0]))

    @staticmethod
    def delivery_partition(relpath: str) -> tuple[str, str | None, str] | None:
        """(contract id, from 基準日 or None, 基準日) of a path below :meth:`deliveries_root`
        naming a partition (a full delivery or a delta), else None; what a SaaS's outbox lists
        is read back with this."""
        m = _DELIVERY_PARTITION.fullmatch(relpath)
        if m is None:
            return None
        contract, day, since, to = m.groups()
        return (contract, None, day) if day else (contract, since, to)

    def deliveries_root(self) -> Path:
        """The folder of every contract's deliveries; paths below it are what a SaaS's outbox
        holds (``contract=<id>/kijunbi=<d>/…``)."""
        return self.root / "deliver"

    def published_marker(self, account: str, relpath: str) -> Path:
        """The SHA-256 of a delivery file (``relpath`` below :meth:`deliveries_root`) last put
        into the outbox of SaaS ``account``, written after it got there."""
        return self.root / "published" / f"saas={account}" / f"{relpath}.sha256"

    def secret(self, name: str) -> Path:
        """A secret of the demo and of deployments without a secret store (made once, mode 0600),
        e.g. ``pseudonym`` behind the contracts' pseudonymous person ids."""
        return self.root / "reference" / "secrets" / f"{name}.key"

    def review_files(self, lg_code: str, kijunbi: str | None = None) -> list[Path]:
        """The review files of a municipality (for one 基準日, or all), sorted."""
        folder = self.review_folder(kijunbi or "*", lg_code)
        return sorted(
            p for p in self.root.glob(str(folder.relative_to(self.root)) + f"/{REVIEW_STEM}_*") if p.is_file()
        )

    # -- delivery ledger (load/deliver/ledger.py, docs/ledger.md)
    def ledger_folder(self) -> Path:
        """The delivery ledger: segments and their hash chain."""
        return self.root / "ledger"

    def ledger_segments_folder(self) -> Path:
        return self.ledger_folder() / "segments"

    def ledger_segment(self, seq: int, delivery_id: str) -> Path:
        """The entries of one delivery, the ``seq``-th appended (from 1)."""
        return self.ledger_segments_folder() / f"{seq:08d}-{delivery_id}.parquet"

    def ledger_segment_files(self) -> list[Path]:
        """Every segment file in the ledger folder, in name (= sequence) order."""
        return sorted(self.ledger_segments_folder().glob("[0-9]*-*.parquet"))

    @staticmethod
    def ledger_segment_seq(segment: Path) -> tuple[int, str]:
        """(sequence number, delivery id) of a :meth:`ledger_segment` file name."""
        seq, _, delivery_id = segment.stem.partition("-")
        return int(seq), delivery_id

    def ledger_chain(self) -> Path:
        """The hash chain: one JSON line per segment, each committing to the one before."""
        return self.ledger_folder() / "chain.jsonl"

    def ledger_lock(self) -> Path:
        """Held while a delivery is appended, so two appends never take the same number."""
        return self.ledger_folder() / ".lock"

    def delivery_pending(self, contract_id: str, kijunbi: str) -> Path:
        """What a delivery written but not yet sealed (logged in the ledger, its manifest
        written) keeps for the seal: its manifest fields and the persons to log."""
        return self.ledger_folder() / "pending" / f"contract={contract_id}" / f"kijunbi={kijunbi}"

    def ledger_key(self) -> Path:
        """The secret (made once) behind the keyed person ids of the ledger."""
        return self.root / "reference" / "ledger_key"

    def dataset_glob(self, zone: str, layout: str) -> str:
        """A DuckDB glob over every data file of a staged zone (``snapshot`` or ``delta``)."""
        return str(self.root / zone / layout / "**" / "*.parquet")

    @staticmethod
    def is_staged(partition: Path) -> bool:
        """True once a partition's manifest, written after its data, is there."""
        return (partition / PARTITION_MANIFEST).is_file()

    def accepted_bytes(self, lg_code: str) -> int:
        """The size of a municipality's accepted sets, every layout: what its snapshot and
        reconcile tasks will read (a few ``stat`` calls, for ordering plans largest first)."""
        return sum(p.stat().st_size for p in self.root.glob(f"accepted/*/lg_code={lg_code}/*.parquet"))

    def municipalities(self, zone: str) -> list[str]:
        """Municipality codes with data in ``zone`` (``parsed`` or ``accepted``), sorted."""
        names = {p.name.removeprefix("lg_code=") for p in self.root.glob(f"{zone}/*/lg_code=*") if p.is_dir()}
        return sorted(n for n in names if is_valid_lg_code(n))


#: the review files' name stem (名寄せ候補)
REVIEW_STEM = "nayose_koho"

#: the data file of a staged partition, and the manifest written after it
PART_FILE = "part-0.parquet"
PARTITION_MANIFEST = "_manifest.json"


def snapshot_ref(kijunbi: str, known_at: str | None = None) -> str:
    """How a snapshot is named in delta paths: ``2026-11-01``, or ``2026-11-01@2026-11-05`` when
    known at a later 処理日 than its 基準日."""
    return kijunbi if not known_at or known_at == kijunbi else f"{kijunbi}@{known_at}"


def parse_snapshot_ref(ref: str) -> tuple[str, str]:
    """(基準日, known_at) of a snapshot reference."""
    kijunbi, _, known_at = ref.partition("@")
    return kijunbi, known_at or kijunbi


def write_work_table(table: pa.Table, path: Path) -> None:
    """Write a parsed, accepted or rejected file atomically (temporary name, then rename)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=WORK_COMPRESSION)
