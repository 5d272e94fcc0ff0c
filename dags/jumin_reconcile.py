"""
### jumin_reconcile — 宛名 reconciled with the national 住基 of a 基準日

Runs when `jumin_snapshot` stages the snapshots of a 基準日 (Asset `jumin_snapshots`) or when
triggered by hand.

1. **plan** — which (municipality, 基準日): with **kijunbi** set, that day for every municipality
   with a staged 宛名 snapshot or those in **lg_codes**; when triggered, the days and
   municipalities of the events, which must name this run's **lake** (default: the
   deployment's `JUMIN_LAKE`). A municipality or day without a staged 宛名 snapshot fails the
   run, named: never a run that reconciles nothing.
2. **key_plan**, **key** (one mapped task per municipality with a staged 住基 or 宛名
   snapshot of a planned day, the largest first) — its records keyed for matching (the 住基 with
   its history versions): `<lake>/reconcile/keyed/kijunbi=<d>/lg_code=<code>/`, `keyed.json`
   last, naming the inputs.
3. **prepare** — the national step of each day: every municipality's keyed tables put together
   (a municipality whose tables are missing or stale is keyed here), and the 住登外者 of all
   municipalities linked to 住基 and to each other (model trained by the first run of the day,
   then reused: `<lake>/reconcile/model/kijunbi=<d>/model.json`), into
   `<lake>/reconcile/work/kijunbi=<d>/`.
4. **reconcile** (one mapped task per municipality) — 住登者 linked by 住民票コード and checked
   (D001–D007; H001 表記ゆれ apart), its 住登外者's links and review candidates staged:
   `<lake>/reconcile/links/kijunbi=<d>/lg_code=<code>/part-0.parquet` and
   `<lake>/reconcile/discrepancies/…`, each with its `_manifest.json`, replaced atomically; a
   rerun gives byte-identical files. **engine** `gx` runs the discrepancy rules as a Great
   Expectations suite (the reference) instead of DuckDB. The clerks' decisions (accepted
   `nayose` upload sets) are applied first; the municipality's review file
   (`nayose_koho_<YYYYMMDD>.xlsx` and `.csv`) is written to `<lake>/reconcile/review/…`.
5. **return_review** (mapped) — puts new or changed review files into the municipality's
   `outbox/` on the landing zone: the SFTP server of the Airflow connection **sftp_conn_id**,
   or, when that is empty, the local folder **landing**.
6. **announce** — updates the Asset `jumin_reconciled` with the lake and the days and
   municipalities reconciled (even when one municipality failed): `jumin_deliver` runs on it.

See `docs/reconcile.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset, Param, dag, task

from jumin.apps.orchestration import (
    LG_CODES_PARAM,
    OPTIONAL_DATE_PARAM,
    RECONCILED_ASSET,
    SNAPSHOTS_ASSET,
    default_paths,
    landing_params,
)

if TYPE_CHECKING:
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor
    from airflow.sdk.types import OutletEventAccessorsProtocol

PATHS = default_paths()
RECONCILED = Asset(RECONCILED_ASSET)


@dag(
    dag_id="jumin_reconcile",
    schedule=[Asset(SNAPSHOTS_ASSET)],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    # the runs of a day share its keyed and work folders: one run at a time, a rerun waits
    max_active_runs=1,
    doc_md=__doc__,
    tags=["jumin", "名寄せ"],
    params={
        "kijunbi": Param("", **OPTIONAL_DATE_PARAM, description="基準日; empty = the days of the staged snapshots"),
        "lg_codes": Param([], **LG_CODES_PARAM),
        "engine": Param("duckdb", enum=["duckdb", "gx"], description="who runs the discrepancy rules"),
        **landing_params(PATHS["landing"]),
        "lake": Param(PATHS["lake"], type="string", description="lake root"),
    },
)
def jumin_reconcile() -> None:
    @task
    def plan(
        params: dict[str, Any] | None = None, triggering_asset_events: TriggeringAssetEventsAccessor | None = None
    ) -> list[dict[str, str]]:
        from jumin.apps.orchestration import fail_fast, reconcile_plan

        p = params or {}
        events = [e.extra for evs in (triggering_asset_events or {}).values() for e in evs]
        return fail_fast(reconcile_plan, p["lake"], p, events)

    @task
    def key_plan(planned: list[dict[str, str]], params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        from jumin.apps.orchestration import fail_fast, key_plan

        return fail_fast(key_plan, (params or {})["lake"], planned)

    @task(map_index_template="{{ lg_code }}")
    def key(lg_code: str, kijunbi: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        from jumin.apps.orchestration import fail_fast
        from transform.reconcile.keyed import key_municipality

        return fail_fast(key_municipality, (params or {})["lake"], kijunbi, lg_code).to_dict()

    @task
    def prepare(planned: list[dict[str, str]], params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from jumin.apps.orchestration import fail_fast
        from transform.reconcile.main import prepare_day

        lake = (params or {})["lake"]
        return [fail_fast(prepare_day, lake, day).to_dict() for day in sorted({p["kijunbi"] for p in planned})]

    @task(map_index_template="{{ lg_code }}")
    def reconcile(lg_code: str, kijunbi: str, params: dict[str, Any] | None = None) -> list[dict[str, str | int]]:
        from jumin.apps.orchestration import fail_fast
        from load.reconcile import reconcile_day

        p = params or {}
        results = fail_fast(reconcile_day, p["lake"], kijunbi, [lg_code], p["engine"], prepared=True)
        return [r.to_dict() for r in results]

    @task(retries=3, retry_delay=pendulum.duration(seconds=30), map_index_template="{{ lg_code }}")
    def return_review(lg_code: str, kijunbi: str, params: dict[str, Any] | None = None) -> list[str]:
        from extract.main import return_municipality_review_files
        from jumin.apps.orchestration import fail_fast, landing_source

        p = params or {}
        return fail_fast(return_municipality_review_files, landing_source(p), p["lake"], lg_code, kijunbi)

    @task(outlets=[RECONCILED], trigger_rule="all_done")
    def announce(
        results: list[list[dict[str, Any]]],
        params: dict[str, Any] | None = None,
        outlet_events: OutletEventAccessorsProtocol | None = None,
    ) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from jumin.apps.orchestration import reconciled_event

        # one slice read of the mapped XCom (see jumin_ingest's announce)
        extra = reconciled_event([r for r in results[:] if r], (params or {})["lake"])
        if extra is None:
            raise AirflowSkipException("nothing was reconciled: no delivery")
        assert outlet_events is not None, "Airflow gives a task with outlets its outlet_events"
        outlet_events[RECONCILED].extra = extra
        return extra

    planned = plan()
    reconciled = reconcile.expand_kwargs(planned)
    announce(reconciled)  # type: ignore[arg-type]  # Airflow resolves the XComArg when the task runs
    keyed = key.expand_kwargs(key_plan(planned))  # type: ignore[arg-type]  # resolved when the task runs
    keyed >> prepare(planned) >> reconciled  # type: ignore[arg-type]  # Airflow resolves the XComArg when the task runs
    reconciled >> return_review.expand_kwargs(planned)


jumin_reconcile()
