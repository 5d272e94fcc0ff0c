"""Settings of the extract stage."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: data and manifest names municipalities may use: no paths, no hidden files, no spaces
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ExtractConfig:
    """Limits applied while picking up and parsing upload sets."""

    max_file_bytes: int = 8 << 30
    #: a set whose files are still missing this long after its manifest arrived is reported
    #: in an "incomplete" receipt (and still picked up once complete)
    incomplete_after_s: float = 3600.0
