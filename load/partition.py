"""Stage: write a dataset partition of the lake (one Parquet file plus its manifest), atomically
and byte-for-byte reproducibly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jumin.core.files import atomic_path, atomic_write_bytes, remove_stale_temps, sha256_file
from jumin.core.lake import PART_FILE, PARTITION_MANIFEST
from load.config import ParquetConfig
from load.errors import SchemaMismatch, StageWriteFailed


def row_groups(batches: Iterable[pa.RecordBatch], schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    """Re-cut a stream of batches into tables of exactly ``size`` rows (the last may be shorter),
    so row-group boundaries never depend on how the producer happened to chunk its output."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if not batch.schema.equals(schema):
            try:
                batch = batch.cast(schema)
            except (pa.ArrowInvalid, ValueError) as e:
                raise SchemaMismatch(f"got {batch.schema}, expected {schema}: {e}") from e
        pending.append(batch)
        count += batch.num_rows
        while count >= size:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, schema)


def schema_fields(schema: pa.Schema) -> list[dict[str, str]]:
    """A schema as JSON-friendly name/type pairs, for manifests."""
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def write_partition(
    batches: Iterable[pa.RecordBatch] | pa.Table,
    folder: Path,
    schema: pa.Schema,
    manifest: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    config: ParquetConfig | None = None,
) -> dict[str, Any]:
    """Write one partition: ``part-0.parquet`` then ``_manifest.json``, each through a temporary
    name and a rename, and return the manifest.

    Readers see the old file or the new one, never a mix; the manifest, written last, names the
    file's SHA-256, row count and schema, so a consumer can tell a complete partition. Partition
    keys live in the folder names, as Hive partitioning expects. Nothing time-dependent is
    written, so the same rows give the same bytes. ``manifest`` may be a function, called once
    the rows are written (for lineage counted while streaming). Temporary files a killed earlier
    attempt left in ``folder`` are removed first, so a rerun leaves the same folder.
    """
    rows = write_part(batches, folder, schema, config)
    fields = manifest() if callable(manifest) else manifest
    return write_partition_manifest(folder, fields, rows, schema, config)


def write_part(
    batches: Iterable[pa.RecordBatch] | pa.Table, folder: Path, schema: pa.Schema, config: ParquetConfig | None = None
) -> int:
    """Write a partition's data file, ``part-0.parquet``, atomically; its row count. The partition
    is not staged until :func:`write_partition_manifest` (readers trust the manifest only)."""
    c = config or ParquetConfig()
    remove_stale_temps(folder)  # what a killed earlier attempt left
    if isinstance(batches, pa.Table):
        batches = batches.to_batches()
    path = folder / PART_FILE
    rows = 0
    try:
        with (
            atomic_path(path) as tmp,
            pq.ParquetWriter(
                tmp,
                schema,
                compression=c.compression,
                compression_level=c.compression_level,
                write_statistics=c.write_statistics,
            ) as writer,
        ):
            for table in row_groups(batches, schema, c.row_group_size):
                writer.write_table(table, row_group_size=c.row_group_size)
                rows += table.num_rows
    except OSError as e:
        raise StageWriteFailed(f"{path}: {e}") from e
    return rows


def write_partition_manifest(
    folder: Path,
    fields: Mapping[str, Any],
    rows: int,
    schema: pa.Schema,
    config: ParquetConfig | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    """Stage a partition whose data file :func:`write_part` wrote: its manifest (``fields`` and
    the file's rows, schema, size, SHA-256 and writer settings), written atomically, last.
    ``sha256``: the data file's, when the caller has just read it (the file is not read again:
    in object storage that would be a second download)."""
    c = config or ParquetConfig()
    path = folder / PART_FILE
    full = {
        **fields,
        "rows": rows,
        "schema": schema_fields(schema),
        "files": [{"name": PART_FILE, "bytes": path.stat().st_size, "sha256": sha256 or sha256_file(path)}],
        "writer": {
            "pyarrow": pa.__version__,
            "compression": c.compression,
            "compression_level": c.compression_level,
            "row_group_size": c.row_group_size,
        },
    }
    atomic_write_bytes(folder / PARTITION_MANIFEST, manifest_bytes(full))
    return full


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical JSON of a partition manifest (sorted keys), so equal content is equal bytes."""
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a staged partition."""
    result: dict[str, Any] = json.loads((folder / PARTITION_MANIFEST).read_text(encoding="utf-8"))
    return result
