"""Stage: write a table as one Hive partition of the lake, atomically."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jumin.lake import temp_path
from load.config import ParquetConfig
from load.errors import SchemaMismatch, StageWriteFailed


def write_partition(table: pa.Table, path: Path, schema: pa.Schema,
                    config: ParquetConfig | None = None) -> Path:
    """Write ``table`` to ``path`` through a temporary name and a rename.

    The partition columns (基準日, municipality) live in the folder names, not in the file,
    as Hive partitioning expects. A rerun replaces the file whole.
    """
    c = config or ParquetConfig()
    if not table.schema.equals(schema):
        raise SchemaMismatch(f"{path}: got {table.schema}, expected {schema}")
    tmp = temp_path(path)
    try:
        pq.write_table(table, tmp, compression=c.compression,
                       compression_level=c.compression_level, row_group_size=c.row_group_size,
                       write_statistics=c.write_statistics)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StageWriteFailed(f"{path}: {e}") from e
    return path
