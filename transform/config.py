"""Settings of the transform stage."""

from __future__ import annotations

from jumin.core.duck import DuckConfig

#: snapshots sort national volumes: a lower limit spills to disk instead of growing the worker
#: (10M history rows: ~2.4 GiB peak RSS, about as fast as with 4 GB)
SNAPSHOT_DUCK = DuckConfig(memory_limit="2GB")

#: reconciliation joins the national 住基 with every 宛名 of the 基準日
RECONCILE_DUCK = DuckConfig(memory_limit="6GB")
