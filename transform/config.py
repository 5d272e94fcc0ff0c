"""Settings of the transform stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DuckConfig:
    """DuckDB resources per task; workers run one municipality at a time."""

    threads: int = 2
    memory_limit: str = "4GB"
