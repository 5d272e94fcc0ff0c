"""Snapshot one municipality as of a 基準日 and stage it in the lake."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jumin.lake import Lake
from jumin.layouts import LAYOUTS, get_layout
from load.main import write_partition
from load.schema import PARTITION_KEYS, snapshot_schema
from transform import duck
from transform.snapshot import snapshot_sql

log = logging.getLogger(__name__)


def snapshot_layout(lake_root: str | Path, layout_name: str, lg_code: str, kijunbi: str,
                    known_at: str | None = None) -> dict[str, Any] | None:
    """Build and stage the snapshot of one layout; None when nothing was accepted yet."""
    lake = Lake(Path(lake_root))
    layout = get_layout(layout_name)
    folder = lake.accepted_glob(layout.name, lg_code)
    if not folder.is_dir() or not any(folder.glob("*.parquet")):
        return None
    con = duck.connect()
    source = f"read_parquet({duck.quote_literal(str(folder / '*.parquet'))})"
    sql = snapshot_sql(layout, source, kijunbi, known_at)
    exclude = ", ".join(k for k in PARTITION_KEYS if k != "kijunbi")
    table = duck.arrow(con, f"snapshot {layout.name} {lg_code} {kijunbi}",
                       f"SELECT * EXCLUDE ({exclude}) FROM ({sql})")
    schema = snapshot_schema(layout)
    path = write_partition(table.cast(schema), lake.snapshot(layout.name, kijunbi, lg_code),
                           schema)
    log.info("snapshot %s %s %s: %d rows", layout.name, lg_code, kijunbi, table.num_rows)
    return {"layout": layout.name, "lg_code": lg_code, "kijunbi": kijunbi,
            "rows": table.num_rows, "path": str(path)}


def snapshot_municipality(lake_root: str | Path, lg_code: str, kijunbi: str,
                          known_at: str | None = None) -> list[dict[str, Any]]:
    """Snapshots of every layout with accepted data for one municipality."""
    out = [snapshot_layout(lake_root, name, lg_code, kijunbi, known_at) for name in LAYOUTS]
    return [o for o in out if o is not None]
