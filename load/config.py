"""Settings of the load stage: Parquet writer options fixed so reruns are byte-identical."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParquetConfig:
    """Writer settings; every one of them is part of the byte-identical promise."""

    compression: str = "zstd"
    compression_level: int = 3
    row_group_size: int = 256_000
    #: pyarrow writes its version into the footer; pinned in requirements.lock
    write_statistics: bool = True
