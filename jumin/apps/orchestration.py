"""What the DAGs need besides the stage functions: settings and error mapping.

Kept free of Airflow imports at module level so DAG files stay cheap to parse.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.errors import TerminalError
from jumin.core.lake import Lake
from jumin.core.store import S3_SCHEME

T = TypeVar("T")

#: JSON schema of the ``lg_codes`` Param shared by the DAGs
#: (optional Params allow null: the UI's trigger form sends an empty field as null and keeps the
#: Trigger button disabled while a Param that does not allow null is empty)
LG_CODES_PARAM: dict[str, Any] = {
    "type": ["null", "array"],
    "items": {"type": "string", "pattern": "^[0-9]{6}$"},
    "description": "全国地方公共団体コード (6 digits); empty = every municipality",
}


def default_paths() -> dict[str, str]:
    """Landing and lake folders from ``JUMIN_LANDING`` / ``JUMIN_LAKE`` (demo defaults
    otherwise), and the folder of the deployment's delivery contracts from ``JUMIN_CONTRACTS``
    (default: the example contracts shipped with the project)."""
    home = Path(os.environ.get("JUMIN_HOME", Path.cwd() / ".demo"))
    shipped = Path(__file__).resolve().parents[2] / "load" / "deliver" / "contracts"
    return {
        "landing": os.environ.get("JUMIN_LANDING", str(home / "landing")),
        "lake": os.environ.get("JUMIN_LAKE", str(home / "lake")),
        "contracts": os.environ.get("JUMIN_CONTRACTS", str(shipped)),
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


#: the Airflow connections holding the deployment's delivery secrets (their password: the
#: secret as hex digits): the master secret of every contract's pseudonymous person ids, and
#: the key of the persons in the delivery ledger
PSEUDONYM_CONN_ID = "jumin_pseudonym"
LEDGER_CONN_ID = "jumin_ledger"
#: the shortest secret accepted from a connection (bytes)
MIN_SECRET_BYTES = 32


def secret_source(conn_id: str) -> Callable[[], bytes] | None:
    """The secret store of production: a function returning the secret held by the Airflow
    connection ``conn_id`` (its password, at least 64 hex digits), or None when the deployment
    defines no such connection (the demo: the lake's secret file serves then, made on first
    use with a warning). A connection whose password is not such a secret fails, named."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    text = (conn.password or "").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < MIN_SECRET_BYTES:
        raise TerminalError(
            f"Airflow connection {conn_id}: its password must be the secret as at least {2 * MIN_SECRET_BYTES} hex "
            "digits (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return lambda: secret


#: name of the Airflow Asset updated when upload sets are accepted into the lake
ACCEPTED_ASSET = "jumin_accepted"

#: name of the Airflow Asset updated when the snapshots of a 基準日 are staged
SNAPSHOTS_ASSET = "jumin_snapshots"
#: name of the Airflow Asset updated when the reconciliation of a 基準日 is staged
RECONCILED_ASSET = "jumin_reconciled"

#: JSON schema of an optional date Param (empty = not given)
OPTIONAL_DATE_PARAM: dict[str, Any] = {"type": ["null", "string"], "pattern": r"^$|^\d{4}-\d{2}-\d{2}$"}
#: JSON schema of an optional string Param (empty = not given)
OPTIONAL_STRING_PARAM: dict[str, Any] = {"type": ["null", "string"]}


def landing_params(landing: str) -> dict[str, Any]:
    """The Params by which a DAG reaches the landing zone, shared by every DAG that does:
    ``sftp_conn_id`` (the Airflow connection of the SFTP server's service account; empty = the
    local folder) and ``landing`` (that folder, default ``landing``)."""
    from airflow.sdk import Param

    return {
        "sftp_conn_id": Param(
            "",
            **OPTIONAL_STRING_PARAM,
            description="Airflow connection of the SFTP landing zone (service account); empty = local landing folder",
        ),
        "landing": Param(landing, type="string", description="local landing folder"),
    }


def check_lg_codes(codes: Iterable[str]) -> list[str]:
    """The ``lg_codes`` Param, each entry a 全国地方公共団体コード whose check digit checks;
    a bad entry fails the run, named, instead of matching no municipality."""
    codes = list(codes)
    bad = [c for c in codes if not is_valid_lg_code(str(c))]
    if bad:
        raise TerminalError(
            f"lg_codes: {', '.join(map(repr, bad))} is not a 全国地方公共団体コード (6 digits, the last a check digit)"
        )
    return codes


def municipalities_to_ingest(source: str, lg_codes: Iterable[str] = ()) -> list[str]:
    """The municipalities one ingest run maps over: those with an inbox at ``source`` (a local
    landing folder or an ``sftp://`` URI), or the ``lg_codes`` asked for, each checked by its
    check digit and required to have one. Finding no inbox at all, or none for a code asked for,
    fails (:func:`extract.landing.requested_municipalities`, as for the CLI): a wrong landing or
    code would otherwise be a successful run that did nothing.
    """
    from extract.landing import requested_municipalities

    return requested_municipalities(source, check_lg_codes(lg_codes))


def lake_of(lake: str | Path) -> str:
    """How an asset event names a lake: its absolute path, normalised (no file-system access),
    or its ``s3://`` URI."""
    if isinstance(lake, str) and lake.startswith(S3_SCHEME):
        return lake.rstrip("/")
    return os.path.abspath(os.fspath(lake))


def accepted_event(results: Iterable[Mapping[str, Any]], lake: str | Path) -> dict[str, Any] | None:
    """The extra of the "accepted" asset event: the lake the rows were accepted into and which
    municipality got rows for which 基準日.

    ``results`` are the validation results of one ingest run as they travel through XCom
    (:meth:`ValidationResult.to_dict <expectations.main.ValidationResult.to_dict>`), where
    ``accepted`` is the count of accepted rows; None when no set had any (no event, so no
    snapshot run).
    """
    sets = sorted({(str(r["lg_code"]), str(r["kijunbi"])) for r in results if int(r["accepted"]) > 0})
    if not sets:
        return None
    return {"lake": lake_of(lake), "sets": [{"lg_code": c, "kijunbi": k} for c, k in sets]}


def check_event_lakes(
    lake: str | Path, events: list[dict[str, Any]], asset: str = ACCEPTED_ASSET, dag_id: str = "jumin_snapshot"
) -> None:
    """Every triggering event (of ``asset``, starting ``dag_id``) must be about this run's lake:
    a run over another lake would find none of the event's municipalities and do nothing."""
    for extra in events:
        theirs = extra.get("lake")
        if theirs is None or lake_of(theirs) != lake_of(lake):
            raise TerminalError(
                f"the {asset} event is for lake {theirs!r} but this run's lake is {lake_of(lake)!r}:"
                " set the same lake for both DAGs (JUMIN_LAKE in the environment of the DAG processor"
                f" and the workers), or trigger {dag_id} by hand with that lake Param"
            )


def days_event(pairs: Iterable[tuple[str, str]], lake: str | Path) -> dict[str, Any]:
    """An asset event's extra naming days and their municipalities: the lake and, per 基準日,
    the sorted codes of the (基準日, lg_code) ``pairs``."""
    days: dict[str, set[str]] = {}
    for day, code in pairs:
        days.setdefault(day, set()).add(code)
    return {"lake": lake_of(lake), "days": [{"kijunbi": d, "lg_codes": sorted(c)} for d, c in sorted(days.items())]}


def days_label(kijunbi: str, until: str | None) -> str:
    """A 基準日 or a range of them, as error messages name it: ``2026-10-01 .. 2026-10-31``."""
    return kijunbi + (f" .. {until}" if until else "")


def largest_first(plan: list[dict[str, Any]], size: Callable[[str], int]) -> list[dict[str, Any]]:
    """``plan`` (entries with ``lg_code``) with the largest municipalities first, by ``size``
    (bytes), then by code. The scheduler queues a mapped task's instances by ``map_index``, so
    the plan's order is the run's order: a big city started last would alone set the makespan."""
    sizes = {c: size(c) for c in {str(e["lg_code"]) for e in plan}}
    return sorted(plan, key=lambda e: (-sizes[str(e["lg_code"])], str(e["lg_code"]), str(e.get("kijunbi"))))


def snapshot_plan(
    lake: str | Path, params: dict[str, Any], events: list[dict[str, Any]]
) -> list[dict[str, str | None]]:
    """What one ``jumin_snapshot`` run builds: per municipality, a 基準日 or a range of them,
    the largest municipalities first (:func:`largest_first`).

    A run with a ``kijunbi`` Param (manual trigger or backfill, ``until`` for the last day)
    covers every municipality with accepted data, or those in ``lg_codes``. A run triggered by
    accepted data without that Param covers, per municipality named in the events, the days from
    its earliest to its latest new 基準日; the events must name this run's lake.

    Asked for a municipality with no accepted data (named in ``lg_codes`` or in an event), or
    for a 基準日 with no municipality at all, the plan fails, saying what it looked for where.
    """
    only = check_lg_codes(params.get("lg_codes") or [])
    accepted = Lake.at(lake).municipalities("accepted")
    where = str(Lake.at(lake_of(lake)).accepted_folder("<layout>", "<code>"))
    if params.get("kijunbi"):
        day = days_label(params["kijunbi"], params.get("until"))
        if only:
            missing = [c for c in only if c not in accepted]
            if missing:
                raise TerminalError(f"no accepted rows for {', '.join(missing)} (基準日 {day}) under {where}")
            codes = [c for c in accepted if c in only]
        else:
            codes = accepted
            if not codes:
                raise TerminalError(f"no municipality has accepted rows for 基準日 {day}: nothing under {where}")
        plan = [{"lg_code": c, "kijunbi": params["kijunbi"], "until": params.get("until") or None} for c in codes]
        return largest_first(plan, Lake.at(lake).accepted_bytes)
    if not events:
        raise TerminalError("no 基準日: give the kijunbi Param, or let accepted data trigger the run")
    check_event_lakes(lake, events)
    days: dict[str, list[str]] = {}
    for extra in events:
        for s in extra.get("sets", []):
            if not only or s["lg_code"] in only:
                days.setdefault(s["lg_code"], []).append(s["kijunbi"])
    missing = [f"{c} (基準日 {', '.join(sorted(set(d)))})" for c, d in sorted(days.items()) if c not in accepted]
    if missing:
        raise TerminalError(
            f"accepted data was announced but there are no accepted rows for {'; '.join(missing)} under {where}"
        )
    plan = [
        {"lg_code": c, "kijunbi": min(d), "until": max(d) if max(d) != min(d) else None}
        for c, d in sorted(days.items())
    ]
    return largest_first(plan, Lake.at(lake).accepted_bytes)


def stage_snapshots(
    lake: str | Path, lg_code: str, kijunbi: str, known_at: str | None = None, until: str | None = None
) -> list[dict[str, str | int]]:
    """One ``snapshot`` task: :func:`load.main.snapshot_municipality`, which stages nothing for a
    municipality without accepted rows; here that fails, naming the municipality, day and lake."""
    from load.main import snapshot_municipality

    staged = snapshot_municipality(lake, lg_code, kijunbi, known_at, until)
    if not staged:
        day = days_label(kijunbi, until)
        raise TerminalError(
            f"snapshot of {lg_code} for 基準日 {day}: no accepted rows under"
            f" {Lake.at(lake_of(lake)).accepted_folder('<layout>', lg_code)}"
        )
    return [r.to_dict() for r in staged]


def snapshots_event(planned: Iterable[Mapping[str, Any]], lake: str | Path) -> dict[str, Any]:
    """The extra of the "snapshots" asset event: the lake and every 基準日 a snapshot run staged
    (the plan's days, ranges written out), with the municipalities of each."""
    from transform.main import day_range

    return days_event(
        ((day, str(p["lg_code"])) for p in planned for day in day_range(str(p["kijunbi"]), p.get("until") or None)),
        lake,
    )


def reconcile_plan(lake: str | Path, params: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What one ``jumin_reconcile`` run reconciles: (municipality, 基準日) pairs, the largest
    municipalities first (:func:`largest_first`).

    With the ``kijunbi`` Param: that day, for every municipality with a staged 宛名 snapshot or
    those in ``lg_codes``; triggered by staged snapshots: the days and municipalities of the
    events (which must name this run's lake). A municipality or day without a staged 宛名
    snapshot fails the plan, named, instead of a run that reconciles nothing.
    """
    from transform.reconcile.frames import snapshot_files

    only = check_lg_codes(params.get("lg_codes") or [])
    the_lake = Lake.at(lake)
    wanted: dict[str, list[str]] = {}
    if params.get("kijunbi"):
        wanted[params["kijunbi"]] = only  # empty: every municipality with a 宛名 snapshot
    elif events:
        check_event_lakes(lake, events, SNAPSHOTS_ASSET, "jumin_reconcile")
        for extra in events:
            for d in extra.get("days", []):
                codes = [c for c in d["lg_codes"] if not only or c in only]
                if codes:
                    wanted.setdefault(d["kijunbi"], []).extend(codes)
    else:
        raise TerminalError("no 基準日: give the kijunbi Param, or let staged snapshots trigger the run")
    plan = []
    for day, codes in sorted(wanted.items()):
        staged = snapshot_files(the_lake, "atena", day)
        asked = sorted(set(codes)) if codes else sorted(staged)
        missing = [c for c in asked if c not in staged]
        if missing or not asked:
            where = the_lake.snapshot("atena", day, day, "<code>")
            raise TerminalError(
                f"no staged 宛名 snapshot of 基準日 {day} for {', '.join(missing) or 'any municipality'} under {where}"
            )
        plan += [{"lg_code": c, "kijunbi": day} for c in asked]
    if not plan:
        raise TerminalError(f"the events name no municipality of lg_codes {only}: nothing to reconcile")
    from load.review import review_key

    # the secret behind the review files' masked 候補番号, made here once before the fan-out: in
    # object storage two mapped tasks making it at the same instant could each keep their own
    review_key(the_lake)
    return largest_first(plan, the_lake.accepted_bytes)


def key_plan(lake: str | Path, planned: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """What one ``jumin_reconcile`` run keys before its national step: for each 基準日 of the
    plan, every municipality with a staged 住基 or 宛名 snapshot of the day (the national step
    reads them all, not only the municipalities being reconciled), the largest first."""
    from transform.reconcile.keyed import staged_municipalities

    the_lake = Lake.at(lake)
    days = sorted({str(p["kijunbi"]) for p in planned})
    plan = [{"lg_code": c, "kijunbi": d} for d in days for c in staged_municipalities(the_lake, d)]
    return largest_first(plan, the_lake.accepted_bytes)


def reconciled_event(results: Iterable[Iterable[Mapping[str, Any]]], lake: str | Path) -> dict[str, Any] | None:
    """The extra of the "reconciled" asset event: the lake and the days reconciled with their
    municipalities (from the mapped reconcile tasks' results); None when none was staged."""
    pairs = [(str(r["kijunbi"]), str(r["lg_code"])) for per_task in results for r in per_task or []]
    return days_event(pairs, lake) if pairs else None


def deliver_plan(
    lake: str | Path, contracts_folder: str | Path, params: dict[str, Any], events: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """What one ``jumin_deliver`` run delivers: (contract file, 基準日) pairs. The contracts are
    the ``contracts`` Param's files, or every ``*.yaml`` of the deployment's contracts folder;
    the days the ``kijunbi`` Param, or those of the triggering events (which must name this
    run's lake). No contract, or no day, fails the run, named."""
    files = [str(c) for c in params.get("contracts") or []]
    if not files:
        files = [str(p) for p in sorted(Path(contracts_folder).glob("*.yaml"))]
    if not files:
        raise TerminalError(f"no delivery contract: none given and no *.yaml in {contracts_folder}")
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise TerminalError(f"contract files not found: {', '.join(missing)}")
    if params.get("kijunbi"):
        days = [str(params["kijunbi"])]
    elif events:
        check_event_lakes(lake, events, RECONCILED_ASSET, "jumin_deliver")
        days = sorted({str(d["kijunbi"]) for extra in events for d in extra.get("days", [])})
    else:
        raise TerminalError("no 基準日: give the kijunbi Param, or let a staged reconciliation trigger the run")
    if not days:
        raise TerminalError("the events name no 基準日: nothing to deliver")
    from load.deliver.privacy import master_key

    # the pseudonym secret, when the lake's file serves (no connection), made here once before
    # the deliveries run side by side: in object storage two of them making it at the same
    # instant could each keep their own
    master_key(lake, secret_source(PSEUDONYM_CONN_ID))
    return [{"contract": f, "kijunbi": d} for d in days for f in files]
