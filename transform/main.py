"""Snapshot one municipality as of one or more 基準日, and the deltas between snapshots, staged
in the lake."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from jumin.lake import PART_FILE, PARTITION_MANIFEST, Lake, parse_snapshot_ref, snapshot_ref
from jumin.layouts import LAYOUTS, Layout, get_layout
from load.config import ParquetConfig
from load.main import read_manifest, write_partition
from load.schema import PARTITION_KEYS, delta_schema, snapshot_schema
from transform import duck
from transform.config import SNAPSHOT_DUCK
from transform.delta import compared_items, delta_sql
from transform.errors import SnapshotMissing
from transform.snapshot import PARQUET_LOCATOR, narrow_columns, snapshot_sql

log = logging.getLogger(__name__)

#: rows per Arrow batch streamed from DuckDB to the Parquet writer
BATCH_ROWS = 122_880


def day_range(first: str, last: str | None = None) -> list[str]:
    """Every date from ``first`` to ``last`` inclusive (just ``first`` without ``last``)."""
    start = dt.date.fromisoformat(first)
    end = dt.date.fromisoformat(last) if last else start
    if end < start:
        raise ValueError(f"date range ends before it starts: {first} .. {last}")
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _load_narrow(con: duckdb.DuckDBPyConnection, layout: Layout, source: str) -> None:
    """Keys, dates and codes of every accepted row, read once for all 基準日 of a run."""
    cols = ", ".join(duck.quote_ident(c) for c in narrow_columns(layout, PARQUET_LOCATOR))
    duck.run(con, "narrow", f"CREATE TEMP TABLE narrow AS SELECT {cols} FROM {source}")


def _set_dates(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """基準日 of every accepted upload set of the run."""
    rows = con.execute("SELECT DISTINCT set_id, strftime(kijunbi, '%Y-%m-%d') FROM narrow"
                       ).fetchall()
    return dict(rows)


class Tally:
    """Counts the values of one column while batches stream to the writer, so a manifest can
    say what a partition holds without reading it back."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.rows: dict[str, int] = {}

    def count(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            counts = pc.value_counts(batch.column(self.column))
            for value, n in zip(counts.field("values").to_pylist(),
                                counts.field("counts").to_pylist(), strict=True):
                self.rows[value] = self.rows.get(value, 0) + n
            yield batch


def snapshot_inputs(tally: Tally, set_dates: dict[str, str]) -> list[dict[str, Any]]:
    """The upload sets a snapshot's rows come from, with their 基準日 and row counts: a later
    set that contributes nothing leaves an old snapshot's manifest unchanged."""
    return [{"set_id": s, "kijunbi": set_dates[s], "rows": tally.rows[s]}
            for s in sorted(tally.rows, key=lambda s: (set_dates[s], s))]


def _stage_day(con: duckdb.DuckDBPyConnection, lake: Lake, layout: Layout, lg_code: str,
               wide: str, as_of: str, known: str, set_dates: dict[str, str],
               config: ParquetConfig | None) -> dict[str, Any]:
    """Stage the snapshot of one 基準日 from the ``narrow`` table and the ``wide`` rows."""
    sql = snapshot_sql(layout, "narrow", wide, as_of, known, drop=PARTITION_KEYS)
    table = f"snapshot {layout.name} {lg_code} {as_of} known at {known}"
    tally = Tally("set_id")
    manifest = write_partition(
        tally.count(duck.batches(con, table, sql, BATCH_ROWS)),
        lake.snapshot(layout.name, as_of, known, lg_code), snapshot_schema(layout),
        lambda: {"dataset": "snapshot", "layout": layout.name, "layout_version": layout.version,
                 "lg_code": lg_code, "kijunbi": as_of, "known_at": known,
                 "inputs": snapshot_inputs(tally, set_dates)}, config)
    log.info("%s: %d rows", table, manifest["rows"])
    return manifest


def snapshot_layout(lake_root: str | Path, layout_name: str, lg_code: str, kijunbi: str,
                    known_at: str | None = None, until: str | None = None,
                    config: ParquetConfig | None = None) -> list[dict[str, Any]]:
    """Build and stage the snapshots of one layout for 基準日 ``kijunbi`` (through ``until``),
    as known at ``known_at`` (default: each 基準日). Nothing when nothing was accepted yet."""
    lake = Lake(Path(lake_root))
    layout = get_layout(layout_name)
    files = sorted(str(p) for p in lake.accepted_glob(layout.name, lg_code).glob("*.parquet"))
    if not files:
        return []
    # the file list is fixed once: the locator's file_index must mean the same file in every
    # scan of the run, even if an ingest adds a set meanwhile
    wide = f"read_parquet([{', '.join(duck.quote_literal(f) for f in files)}])"
    con = duck.connect(SNAPSHOT_DUCK)
    _load_narrow(con, layout, wide)
    set_dates = _set_dates(con)
    out = []
    for as_of in day_range(kijunbi, until):
        known = known_at or as_of
        manifest = _stage_day(con, lake, layout, lg_code, wide, as_of, known, set_dates, config)
        out.append({"layout": layout.name, "lg_code": lg_code, "kijunbi": as_of,
                    "known_at": known, "rows": manifest["rows"],
                    "path": str(lake.snapshot(layout.name, as_of, known, lg_code) / PART_FILE)})
    return out


def snapshot_municipality(lake_root: str | Path, lg_code: str, kijunbi: str,
                          known_at: str | None = None, until: str | None = None
                          ) -> list[dict[str, Any]]:
    """Snapshots of every layout with accepted data for one municipality, for 基準日
    ``kijunbi`` (through ``until``: a backfill)."""
    return [r for name in LAYOUTS
            for r in snapshot_layout(lake_root, name, lg_code, kijunbi, known_at, until)]


def previous_snapshot(lake: Lake, layout: str, lg_code: str, kijunbi: str) -> str | None:
    """The latest staged 基準日 before ``kijunbi`` (as known on its own day), if any."""
    days = sorted(p.name.removeprefix("kijunbi=") for p in lake.snapshot_root(layout).glob("kijunbi=*"))
    staged = [d for d in days if d < kijunbi
              and (lake.snapshot(layout, d, d, lg_code) / PARTITION_MANIFEST).is_file()]
    return staged[-1] if staged else None


def delta_layout(lake_root: str | Path, layout_name: str, lg_code: str, from_ref: str,
                 to_ref: str, config: ParquetConfig | None = None) -> dict[str, Any]:
    """Stage the changes between two staged snapshots of one layout (references like
    ``2026-11-01`` or ``2026-11-01@2026-11-05``)."""
    lake = Lake(Path(lake_root))
    layout = get_layout(layout_name)
    folders = [lake.snapshot(layout.name, *parse_snapshot_ref(r), lg_code)
               for r in (from_ref, to_ref)]
    for f in folders:
        if not (f / PARTITION_MANIFEST).is_file():
            raise SnapshotMissing(f"{f}: no staged snapshot; run `jumin snapshot` for it first")
    old, new = (f"read_parquet({duck.quote_literal(str(f / PART_FILE))})" for f in folders)
    compared = compared_items(layout)
    con = duck.connect(SNAPSHOT_DUCK)
    table = f"delta {layout.name} {lg_code} {from_ref} -> {to_ref}"
    changes = Tally("change")
    reader = changes.count(duck.batches(con, table, delta_sql(layout, old, new), BATCH_ROWS))
    target = lake.delta(layout.name, from_ref, to_ref, lg_code)
    manifest = write_partition(reader, target, delta_schema(layout, compared), {
        "dataset": "delta", "layout": layout.name, "layout_version": layout.version,
        "lg_code": lg_code, "from": from_ref, "to": to_ref,
        "inputs": [{"snapshot": r, "sha256": read_manifest(f)["files"][0]["sha256"]}
                   for r, f in zip((from_ref, to_ref), folders, strict=True)]}, config)
    counts = {k: changes.rows.get(k, 0) for k in ("added", "removed", "changed")}
    log.info("%s: %s", table, counts)
    return {"layout": layout.name, "lg_code": lg_code, "from": from_ref, "to": to_ref,
            "rows": manifest["rows"], **counts,
            "path": str(target / PART_FILE)}


def delta_municipality(lake_root: str | Path, lg_code: str, kijunbi: str,
                       until: str | None = None, since: str | None = None
                       ) -> list[dict[str, Any]]:
    """Deltas into each staged 基準日 from ``kijunbi`` through ``until``, each from the staged
    snapshot before it (or from ``since`` for the first one), for every layout that has both.

    ``kijunbi`` and ``since`` may name a snapshot known later (``2026-10-15@2026-11-05``): the
    delta from ``2026-10-15`` to that one lists the late-recorded changes.
    """
    lake = Lake(Path(lake_root))
    targets = [kijunbi] if "@" in kijunbi else day_range(kijunbi, until)
    out = []
    for name in LAYOUTS:
        for to in targets:
            day, known = parse_snapshot_ref(to)
            if not (lake.snapshot(name, day, known, lg_code) / PARTITION_MANIFEST).is_file():
                continue
            start = since if since and to == targets[0] else previous_snapshot(lake, name,
                                                                               lg_code, day)
            if start is not None:
                out.append(delta_layout(lake.root, name, lg_code, snapshot_ref(*parse_snapshot_ref(start)),
                                        snapshot_ref(day, known)))
    return out
