"""Transform: the rows of a municipality's snapshots and deltas, computed by DuckDB from the
accepted zone and from staged snapshots, streamed as Arrow batches.

Nothing here writes the lake: :mod:`load.main` stages what these functions compute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from jumin.core import duck
from jumin.core.lake import Lake
from jumin.core.layouts import Layout
from jumin.core.schema import PARTITION_KEYS
from transform.config import SNAPSHOT_DUCK
from transform.delta import delta_sql
from transform.errors import DateRangeInvalid
from transform.snapshot import PARQUET_LOCATOR, narrow_columns, snapshot_sql

#: rows per Arrow batch streamed from DuckDB to the Parquet writer
BATCH_ROWS = 122_880


def day_range(first: str, last: str | None = None) -> list[str]:
    """Every date from ``first`` to ``last`` inclusive (just ``first`` without ``last``)."""
    start = dt.date.fromisoformat(first)
    end = dt.date.fromisoformat(last) if last else start
    if end < start:
        raise DateRangeInvalid(f"date range ends before it starts: {first} .. {last}")
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


@dataclass
class AcceptedHistory:
    """Every accepted row of one layout and municipality, opened once for all 基準日 of a run:
    keys, dates and codes in the ``narrow`` table, the full rows read back by locator."""

    con: duckdb.DuckDBPyConnection
    layout: Layout
    lg_code: str
    #: the accepted files as a DuckDB table function over a list fixed at the start
    wide: str
    #: 基準日 of every accepted upload set
    set_dates: dict[str, str]

    def snapshot(self, as_of: str, known_at: str) -> pa.RecordBatchReader:
        """The snapshot as of ``as_of`` as known at ``known_at``, without partition keys."""
        sql = snapshot_sql(self.layout, "narrow", self.wide, as_of, known_at, drop=PARTITION_KEYS)
        table = f"snapshot {self.layout.name} {self.lg_code} {as_of} known at {known_at}"
        return duck.batches(self.con, table, sql, BATCH_ROWS)


def accepted_history(lake: Lake, layout: Layout, lg_code: str) -> AcceptedHistory | None:
    """Open the accepted rows of one layout and municipality; None when nothing was accepted."""
    files = lake.accepted_files(layout.name, lg_code)
    if not files:
        return None
    # the file list is fixed once: the locator's file_index must mean the same file in every
    # scan of the run, even if an ingest adds a set meanwhile
    wide = f"read_parquet([{', '.join(duck.quote_literal(str(f)) for f in files)}])"
    con = duck.connect(SNAPSHOT_DUCK)
    cols = ", ".join(duck.quote_ident(c) for c in narrow_columns(layout, PARQUET_LOCATOR))
    duck.run(con, "narrow", f"CREATE TEMP TABLE narrow AS SELECT {cols} FROM {wide}")
    rows = duck.run(con, "set dates", "SELECT DISTINCT set_id, strftime(kijunbi, '%Y-%m-%d') FROM narrow").fetchall()
    return AcceptedHistory(con, layout, lg_code, wide, dict(rows))


def delta_rows(layout: Layout, lg_code: str, old: Path, new: Path, label: str) -> Iterator[pa.RecordBatch]:
    """The changes from the snapshot file ``old`` to ``new`` (added, removed, changed)."""
    sql = delta_sql(layout, *(f"read_parquet({duck.quote_literal(str(f))})" for f in (old, new)))
    con = duck.connect(SNAPSHOT_DUCK)
    # a generator keeps the connection alive for as long as the batches are read
    yield from duck.batches(con, f"delta {layout.name} {lg_code} {label}", sql, BATCH_ROWS)
