"""Load: stage a municipality's snapshots (as of one or more 基準日) and the deltas between them
in the lake, each a partition written by :func:`load.partition.write_partition`.

The rows come from :mod:`transform.main`; this module decides what to stage, names the
partitions through :class:`~jumin.core.lake.Lake` and writes their manifests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jumin.core.lake import PART_FILE, Lake, parse_snapshot_ref, snapshot_ref
from jumin.core.layouts import LAYOUTS, get_layout
from jumin.core.schema import delta_schema, snapshot_schema
from load.config import ParquetConfig
from load.errors import SnapshotMissing
from load.partition import read_manifest, write_partition
from transform.delta import compared_items
from transform.main import AcceptedHistory, accepted_history, day_range, delta_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotResult:
    """One staged snapshot partition; small enough for XCom (:meth:`to_dict`)."""

    layout: str
    lg_code: str
    kijunbi: str
    known_at: str
    rows: int
    #: the partition's ``part-0.parquet``
    path: str

    def to_dict(self) -> dict[str, str | int]:
        return asdict(self)


@dataclass(frozen=True)
class DeltaResult:
    """One staged delta partition: the changes from snapshot ``from_ref`` to ``to_ref``
    (references like ``2026-11-01`` or ``2026-11-01@2026-11-05``)."""

    layout: str
    lg_code: str
    from_ref: str
    to_ref: str
    rows: int
    added: int
    removed: int
    changed: int
    #: the partition's ``part-0.parquet``
    path: str

    def to_dict(self) -> dict[str, str | int]:
        """JSON-ready, with ``from`` and ``to`` named as in the partition folders and manifest."""
        return {
            "layout": self.layout,
            "lg_code": self.lg_code,
            "from": self.from_ref,
            "to": self.to_ref,
            "rows": self.rows,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "path": self.path,
        }


class Tally:
    """Counts the values of one column while batches stream to the writer, so a manifest can
    say what a partition holds without reading it back."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.rows: dict[str, int] = {}

    def count(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            counts = pc.value_counts(batch.column(self.column))
            for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True):
                self.rows[value] = self.rows.get(value, 0) + n
            yield batch


def snapshot_inputs(tally: Tally, set_dates: dict[str, str]) -> list[dict[str, Any]]:
    """The upload sets a snapshot's rows come from, with their 基準日 and row counts: a later
    set that contributes nothing leaves an old snapshot's manifest unchanged."""
    return [
        {"set_id": s, "kijunbi": set_dates[s], "rows": tally.rows[s]}
        for s in sorted(tally.rows, key=lambda s: (set_dates[s], s))
    ]


def _stage_day(
    history: AcceptedHistory, lake: Lake, as_of: str, known: str, config: ParquetConfig | None
) -> dict[str, Any]:
    """Stage the snapshot of one 基準日."""
    layout, lg_code = history.layout, history.lg_code
    tally = Tally("set_id")
    manifest = write_partition(
        tally.count(history.snapshot(as_of, known)),
        lake.snapshot(layout.name, as_of, known, lg_code),
        snapshot_schema(layout),
        lambda: {
            "dataset": "snapshot",
            "layout": layout.name,
            "layout_version": layout.version,
            "lg_code": lg_code,
            "kijunbi": as_of,
            "known_at": known,
            "inputs": snapshot_inputs(tally, history.set_dates),
        },
        config,
    )
    log.info("snapshot %s %s %s known at %s: %d rows", layout.name, lg_code, as_of, known, manifest["rows"])
    return manifest


def snapshot_layout(
    lake_root: str | Path,
    layout_name: str,
    lg_code: str,
    kijunbi: str,
    known_at: str | None = None,
    until: str | None = None,
    config: ParquetConfig | None = None,
) -> list[SnapshotResult]:
    """Build and stage the snapshots of one layout for 基準日 ``kijunbi`` (through ``until``),
    as known at ``known_at`` (default: each 基準日). Nothing when nothing was accepted yet."""
    lake = Lake.at(lake_root)
    layout = get_layout(layout_name)
    history = accepted_history(lake, layout, lg_code)
    if history is None:
        return []
    out = []
    for as_of in day_range(kijunbi, until):
        known = known_at or as_of
        manifest = _stage_day(history, lake, as_of, known, config)
        out.append(
            SnapshotResult(
                layout=layout.name,
                lg_code=lg_code,
                kijunbi=as_of,
                known_at=known,
                rows=manifest["rows"],
                path=str(lake.snapshot(layout.name, as_of, known, lg_code) / PART_FILE),
            )
        )
    return out


def snapshot_municipality(
    lake_root: str | Path, lg_code: str, kijunbi: str, known_at: str | None = None, until: str | None = None
) -> list[SnapshotResult]:
    """Snapshots of every snapshot layout with accepted data for one municipality, for 基準日
    ``kijunbi`` (through ``until``: a backfill); decision sets (名寄せ判定) are not snapshots."""
    return [
        r
        for name, layout in LAYOUTS.items()
        if layout.snapshot
        for r in snapshot_layout(lake_root, name, lg_code, kijunbi, known_at, until)
    ]


def previous_snapshot(lake: Lake, layout: str, lg_code: str, kijunbi: str) -> str | None:
    """The latest staged 基準日 before ``kijunbi`` (as known on its own day), if any."""
    staged = [
        d for d in lake.snapshot_days(layout) if d < kijunbi and lake.is_staged(lake.snapshot(layout, d, d, lg_code))
    ]
    return staged[-1] if staged else None


def delta_layout(
    lake_root: str | Path,
    layout_name: str,
    lg_code: str,
    from_ref: str,
    to_ref: str,
    config: ParquetConfig | None = None,
) -> DeltaResult:
    """Stage the changes between two staged snapshots of one layout (references like
    ``2026-11-01`` or ``2026-11-01@2026-11-05``)."""
    lake = Lake.at(lake_root)
    layout = get_layout(layout_name)
    folders = [lake.snapshot(layout.name, *parse_snapshot_ref(r), lg_code) for r in (from_ref, to_ref)]
    for f in folders:
        if not lake.is_staged(f):
            raise SnapshotMissing(f"{f}: no staged snapshot; run `jumin snapshot` for it first")
    label = f"{from_ref} -> {to_ref}"
    changes = Tally("change")
    old, new = (f / PART_FILE for f in folders)
    reader = changes.count(delta_rows(layout, lg_code, old, new, label))
    target = lake.delta(layout.name, from_ref, to_ref, lg_code)
    manifest = write_partition(
        reader,
        target,
        delta_schema(layout, compared_items(layout)),
        {
            "dataset": "delta",
            "layout": layout.name,
            "layout_version": layout.version,
            "lg_code": lg_code,
            "from": from_ref,
            "to": to_ref,
            "inputs": [
                {"snapshot": r, "sha256": read_manifest(f)["files"][0]["sha256"]}
                for r, f in zip((from_ref, to_ref), folders, strict=True)
            ],
        },
        config,
    )
    result = DeltaResult(
        layout=layout.name,
        lg_code=lg_code,
        from_ref=from_ref,
        to_ref=to_ref,
        rows=manifest["rows"],
        added=changes.rows.get("added", 0),
        removed=changes.rows.get("removed", 0),
        changed=changes.rows.get("changed", 0),
        path=str(target / PART_FILE),
    )
    log.info(
        "delta %s %s %s: %d added, %d removed, %d changed",
        layout.name,
        lg_code,
        label,
        result.added,
        result.removed,
        result.changed,
    )
    return result


def delta_municipality(
    lake_root: str | Path, lg_code: str, kijunbi: str, until: str | None = None, since: str | None = None
) -> list[DeltaResult]:
    """Deltas into each staged 基準日 from ``kijunbi`` through ``until``, each from the staged
    snapshot before it (or from ``since`` for the first one), for every layout that has both.

    ``kijunbi`` and ``since`` may name a snapshot known later (``2026-10-15@2026-11-05``): the
    delta from ``2026-10-15`` to that one lists the late-recorded changes.
    """
    lake = Lake.at(lake_root)
    targets = [kijunbi] if "@" in kijunbi else day_range(kijunbi, until)
    out = []
    for name in LAYOUTS:
        for to in targets:
            day, known = parse_snapshot_ref(to)
            if not lake.is_staged(lake.snapshot(name, day, known, lg_code)):
                continue
            start = since if since and to == targets[0] else previous_snapshot(lake, name, lg_code, day)
            if start is not None:
                out.append(
                    delta_layout(
                        lake.root, name, lg_code, snapshot_ref(*parse_snapshot_ref(start)), snapshot_ref(day, known)
                    )
                )
    return out
