"""Paths of the lake, in one place (see docs/lake.md).

::

    <lake>/raw/lg_code=<c>/set=<id>/                      immutable copy of an upload set
    <lake>/parsed/<layout>/lg_code=<c>/set=<id>.parquet   decoded rows, all text, with line numbers
    <lake>/accepted/<layout>/lg_code=<c>/set=<id>.parquet rows that passed validation, typed
    <lake>/rejected/<layout>/lg_code=<c>/set=<id>.parquet quarantine: rows with their errors
    <lake>/receipts/lg_code=<c>/<id>.json (+ .txt)        受付結果 per upload set
    <lake>/docs/lg_code=<c>/<id>.html                     GX Data Docs of the set's validation
    <lake>/snapshot/<layout>/kijunbi=<d>/known_at=<k>/lg_code=<c>/part-0.parquet (+ _manifest.json)
    <lake>/delta/<layout>/from=<ref>/to=<ref>/lg_code=<c>/part-0.parquet (+ _manifest.json)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: parsed, accepted and rejected zones are read back by the next stage at once: fast snappy
#: beats smaller zstd there; published snapshots use load.config.ParquetConfig (zstd)
WORK_COMPRESSION = "snappy"


@dataclass(frozen=True)
class Lake:
    """A lake rooted at ``root`` (a local folder; object storage later)."""

    root: Path

    def raw(self, lg_code: str, set_id: str) -> Path:
        return self.root / "raw" / f"lg_code={lg_code}" / f"set={set_id}"

    def parsed(self, layout: str, lg_code: str, set_id: str) -> Path:
        return self.root / "parsed" / layout / f"lg_code={lg_code}" / f"set={set_id}.parquet"

    def accepted(self, layout: str, lg_code: str, set_id: str) -> Path:
        return self.root / "accepted" / layout / f"lg_code={lg_code}" / f"set={set_id}.parquet"

    def accepted_glob(self, layout: str, lg_code: str) -> Path:
        return self.root / "accepted" / layout / f"lg_code={lg_code}"

    def rejected(self, layout: str, lg_code: str, set_id: str) -> Path:
        return self.root / "rejected" / layout / f"lg_code={lg_code}" / f"set={set_id}.parquet"

    def receipt(self, lg_code: str, set_id: str) -> Path:
        return self.root / "receipts" / f"lg_code={lg_code}" / f"{set_id}.json"

    def data_docs(self, lg_code: str, set_id: str) -> Path:
        return self.root / "docs" / f"lg_code={lg_code}" / f"{set_id}.html"

    def snapshot(self, layout: str, kijunbi: str, known_at: str, lg_code: str) -> Path:
        """Partition folder of the snapshot as of ``kijunbi`` as known at ``known_at``."""
        return (self.root / "snapshot" / layout / f"kijunbi={kijunbi}" / f"known_at={known_at}"
                / f"lg_code={lg_code}")

    def snapshot_root(self, layout: str) -> Path:
        return self.root / "snapshot" / layout

    def delta(self, layout: str, from_ref: str, to_ref: str, lg_code: str) -> Path:
        """Partition folder of the changes from snapshot ``from_ref`` to ``to_ref``
        (references as made by :func:`snapshot_ref`)."""
        return (self.root / "delta" / layout / f"from={from_ref}" / f"to={to_ref}"
                / f"lg_code={lg_code}")


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary name and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_work_table(table: pa.Table, path: Path) -> None:
    """Write a parsed, accepted or rejected file atomically (temporary name, then rename)."""
    import pyarrow.parquet as pq

    tmp = temp_path(path)
    pq.write_table(table, tmp, compression=WORK_COMPRESSION)
    tmp.replace(path)


def temp_path(path: Path) -> Path:
    """A sibling temporary name for ``path`` (same folder, so the rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")
