"""What the DAGs need besides the stage functions: settings and error mapping.

Kept free of Airflow imports at module level so DAG files stay cheap to parse.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from jumin.core.errors import TerminalError
from jumin.core.lake import Lake

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
    return SftpSettings(
        host=conn.host or "127.0.0.1",
        port=conn.port or 22,
        username=conn.login or "",
        key_file=extra.get("key_file", ""),
        host_key=extra.get("host_key", ""),
    ).to_uri()


#: name of the Airflow Asset updated when upload sets are accepted into the lake
ACCEPTED_ASSET = "jumin_accepted"

#: JSON schema of an optional date Param (empty = not given)
OPTIONAL_DATE_PARAM: dict[str, Any] = {"type": "string", "pattern": r"^$|^\d{4}-\d{2}-\d{2}$"}


def accepted_event(results: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The extra of the "accepted" asset event: which municipality got rows for which 基準日.

    ``results`` are the validation results of one ingest run as they travel through XCom
    (:meth:`ValidationResult.to_dict <expectations.main.ValidationResult.to_dict>`), where
    ``accepted`` is the count of accepted rows; None when no set had any (no event, so no
    snapshot run).
    """
    sets = sorted({(str(r["lg_code"]), str(r["kijunbi"])) for r in results if int(r["accepted"]) > 0})
    return {"sets": [{"lg_code": c, "kijunbi": k} for c, k in sets]} if sets else None


def snapshot_plan(
    lake: str | Path, params: dict[str, Any], events: list[dict[str, Any]]
) -> list[dict[str, str | None]]:
    """What one ``jumin_snapshot`` run builds: per municipality, a 基準日 or a range of them.

    A run with a ``kijunbi`` Param (manual trigger or backfill, ``until`` for the last day)
    covers every municipality with accepted data, or those in ``lg_codes``. A run triggered by
    accepted data without that Param covers, per municipality named in the events, the days from
    its earliest to its latest new 基準日.
    """
    only = params.get("lg_codes") or None
    if params.get("kijunbi"):
        found = Lake(Path(lake)).municipalities("accepted")
        codes = [c for c in found if c in only] if only else found
        return [{"lg_code": c, "kijunbi": params["kijunbi"], "until": params.get("until") or None} for c in codes]
    if not events:
        raise TerminalError("no 基準日: give the kijunbi Param, or let accepted data trigger the run")
    days: dict[str, list[str]] = {}
    for extra in events:
        for s in extra.get("sets", []):
            if not only or s["lg_code"] in only:
                days.setdefault(s["lg_code"], []).append(s["kijunbi"])
    return [
        {"lg_code": c, "kijunbi": min(d), "until": max(d) if max(d) != min(d) else None}
        for c, d in sorted(days.items())
    ]
