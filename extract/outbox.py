"""Return receipts (受付結果の返却) and review files (名寄せ候補): copy them to a municipality's
outbox, where its staff pick them up."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from extract.inbox import Inbox
from jumin.core.files import atomic_write_bytes, remove_stale_temps, sha256_bytes
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
    lake = Lake.at(lake_root)
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


def return_review_files(inbox: Inbox, lake_root: str | Path, kijunbi: str | None = None) -> list[str]:
    """Copy the municipality's review files (of one 基準日, or all) to its outbox under their
    own names (``nayose_koho_<YYYYMMDD>.xlsx`` and ``.csv``) unless the same bytes are there.

    As for receipts, a hidden marker beside each file, written after the file reached the
    outbox, holds the SHA-256 of what was returned: a rewritten file goes out again, an
    unchanged one does not, and a run killed in between returns it next time.
    """
    lake = Lake.at(lake_root)
    files = lake.review_files(inbox.lg_code, kijunbi)
    for folder in sorted({p.parent for p in files}):
        remove_stale_temps(folder)
    existing = inbox.outbox_names()
    returned = []
    for path in files:
        data = path.read_bytes()
        digest = sha256_bytes(data).encode()
        marker = Lake.returned_marker(path, path.suffix)
        if path.name in existing and marker.exists() and marker.read_bytes() == digest:
            continue
        inbox.put_outbox(path.name, data)
        atomic_write_bytes(marker, digest)
        returned.append(path.name)
    if returned:
        log.info("%s: returned %d review files", inbox.lg_code, len(returned))
    return returned
