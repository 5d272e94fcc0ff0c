"""What the DAGs need besides the stage functions: settings and error mapping.

Kept free of Airflow imports at module level so DAG files stay cheap to parse.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jumin.errors import TerminalError

T = TypeVar("T")

#: JSON schema of the ``lg_codes`` Param shared by the DAGs
LG_CODES_PARAM: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[0-9]{6}$"},
    "description": "全国地方公共団体コード (6 digits); empty = every municipality",
}


def default_paths() -> dict[str, str]:
    """Landing and lake folders from ``JUMIN_LANDING`` / ``JUMIN_LAKE`` (demo defaults otherwise)."""
    home = Path(os.environ.get("JUMIN_HOME", Path.cwd() / ".demo"))
    return {
        "landing": os.environ.get("JUMIN_LANDING", str(home / "landing")),
        "lake": os.environ.get("JUMIN_LAKE", str(home / "lake")),
    }


def fail_fast(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a stage function; a terminal error fails the task without retries.

    Transient errors propagate as they are, so Airflow retries them.
    """
    try:
        return func(*args, **kwargs)
    except TerminalError as e:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(e)) from e


def municipalities_in(folder: str | Path, pattern: str, only: list[str] | None) -> list[str]:
    """Municipality codes that have data under ``folder`` (restricted to ``only`` if given)."""
    names = {p.name.removeprefix("lg_code=") for p in Path(folder).glob(pattern) if p.is_dir()}
    found = sorted(n for n in names if len(n) == 6 and n.isdigit())
    return [c for c in found if c in only] if only else found


def landing_source(params: dict[str, Any]) -> str:
    """Where upload sets come from: the Airflow connection ``sftp_conn_id`` when set
    (host, port, login, extras ``key_file`` and ``host_key``), else the local ``landing`` folder.
    """
    conn_id = params.get("sftp_conn_id") or ""
    if not conn_id:
        return str(params["landing"])
    from airflow.sdk import BaseHook

    from extract.sftp import SftpSettings

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    return SftpSettings(host=conn.host or "127.0.0.1", port=conn.port or 22,
                        username=conn.login or "", key_file=extra.get("key_file", ""),
                        host_key=extra.get("host_key", "")).to_uri()
