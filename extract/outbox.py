"""Return receipts (受付結果の返却): copy them to a municipality's outbox, where its staff pick
them up."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from extract.inbox import Inbox
from jumin.core.files import atomic_write_bytes, remove_stale_temps
from jumin.core.lake import Lake
from jumin.core.manifest import MANIFEST_SUFFIX

log = logging.getLogger(__name__)


def outbox_name(manifest: str, set_id: str, suffix: str) -> str:
    """``<manifest stem>_<set_id>.receipt.json`` (or ``.txt``): staff see which upload it answers."""
    stem = manifest.removesuffix(MANIFEST_SUFFIX) or "upload"
    return f"{stem}_{set_id}.receipt{suffix}"


def return_receipts(inbox: Inbox, lake_root: str | Path) -> list[str]:
    """Copy every receipt of the municipality to its outbox unless the same bytes are there.

    An "incomplete" receipt is replaced by the final one once the set is processed. A marker is
    written after its receipt reached the outbox, so a killed run returns the rest next time;
    temporary markers of dead processes are removed first.
    """
    lake = Lake(Path(lake_root))
    remove_stale_temps(lake.receipts_folder(inbox.lg_code))
    existing = inbox.outbox_names()
    returned = []
    for path in lake.receipts(inbox.lg_code):
        receipt = json.loads(path.read_text(encoding="utf-8"))
        for suffix, source in ((".txt", Lake.receipt_text(path)), (".json", path)):
            name = outbox_name(str(receipt["manifest"]), str(receipt["set_id"]), suffix)
            marker = Lake.returned_marker(path, suffix)
            data = source.read_bytes()
            if name in existing and marker.exists() and marker.read_bytes() == data:
                continue
            inbox.put_outbox(name, data)
            atomic_write_bytes(marker, data)
            returned.append(name)
    if returned:
        log.info("%s: returned %d receipt files", inbox.lg_code, len(returned))
    return returned
