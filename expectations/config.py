"""Settings of the validation stage."""

from __future__ import annotations

import os
from dataclasses import dataclass

# GX sends usage analytics unless told not to; with no network that only costs time.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass(frozen=True)
class ValidateConfig:
    """What validation keeps and reports."""

    #: findings listed per receipt (all are counted; all rejected rows are in quarantine)
    max_listed: int = 1000
