"""Settings of the transform stage."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def _spill_folder() -> str:
    return str(Path(tempfile.gettempdir()) / "jumin-duckdb")


@dataclass(frozen=True)
class DuckConfig:
    """DuckDB resources per task; workers run one municipality at a time."""

    threads: int = 2
    memory_limit: str = "4GB"
    #: where DuckDB spills what exceeds ``memory_limit`` (never the worker's current folder)
    temp_directory: str = field(default_factory=_spill_folder)


#: snapshots sort national volumes: a lower limit spills to disk instead of growing the worker
#: (10M history rows: ~2.4 GiB peak RSS, about as fast as with 4 GB)
SNAPSHOT_DUCK = DuckConfig(memory_limit="2GB")
