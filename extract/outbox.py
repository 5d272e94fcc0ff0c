"""Publish receipts to a municipality's outbox, where its staff pick them up."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from extract.inbox import Inbox
from jumin.lake import Lake
from jumin.manifest import MANIFEST_SUFFIX

log = logging.getLogger(__name__)


def outbox_name(manifest: str, set_id: str, suffix: str) -> str:
    """``<manifest stem>_<set_id>.receipt.json`` (or ``.txt``): staff see which upload it answers."""
    stem = manifest.removesuffix(MANIFEST_SUFFIX) or "upload"
    return f"{stem}_{set_id}.receipt{suffix}"


def publish_receipts(inbox: Inbox, lake_root: str | Path) -> list[str]:
    """Copy every receipt of the municipality to its outbox unless the same bytes are there.

    An "incomplete" receipt is replaced by the final one once the set is processed.
    """
    lake = Lake(Path(lake_root))
    folder = lake.receipt(inbox.lg_code, "x").parent
    existing = inbox.outbox_names()
    published = []
    for path in sorted(folder.glob("*.json")):
        receipt = json.loads(path.read_text(encoding="utf-8"))
        for suffix, source in ((".txt", path.with_suffix(".txt")), (".json", path)):
            name = outbox_name(str(receipt["manifest"]), str(receipt["set_id"]), suffix)
            status_file = path.with_name(f".{path.stem}{suffix}.published")
            data = source.read_bytes()
            if name in existing and status_file.exists() and status_file.read_bytes() == data:
                continue
            inbox.publish(name, data)
            status_file.write_bytes(data)
            published.append(name)
    if published:
        log.info("%s: published %d receipt files", inbox.lg_code, len(published))
    return published
