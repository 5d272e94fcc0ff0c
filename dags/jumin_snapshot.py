"""
### jumin_snapshot — bitemporal 基準日 snapshots and deltas staged as Parquet

Runs when `jumin_ingest` accepts new rows (Asset `jumin_accepted`) or when triggered by hand.

1. **plan** — which municipalities and 基準日: with **kijunbi** set, that day (through **until**
   for a backfill) for every municipality with accepted data or those in **lg_codes**; when
   triggered by accepted data, the 基準日 of the new upload sets, per municipality. The events
   must name this run's **lake** (default: the deployment's `JUMIN_LAKE`), else the run fails
   naming both lakes; a municipality asked for (in **lg_codes** or an event) without accepted
   rows, or a **kijunbi** with no municipality at all, fails too, never a run that stages nothing.
2. **snapshot** (one mapped task per municipality) — the state as of each 基準日 (applied to
   異動日) as known at **known_at** (applied to 処理日; empty = each 基準日) for 宛名,
   住基 本人確認情報 and 支援措置:
   `<lake>/snapshot/<layout>/kijunbi=<d>/known_at=<k>/lg_code=<code>/part-0.parquet` and its
   `_manifest.json`, replaced atomically; a rerun gives byte-identical files.
3. **delta** (when **delta** is on and **known_at** is empty) — the changes into each 基準日
   from the staged 基準日 before it: `<lake>/delta/<layout>/from=<d0>/to=<d>/lg_code=<code>/`.
4. **announce** — once every snapshot is staged (and only for snapshots as known on their own
   day, **known_at** empty), updates the Asset `jumin_snapshots` with the lake, the 基準日 and
   their municipalities: `jumin_reconcile` runs on it.

Backfill a month: `{"kijunbi": "2026-10-01", "until": "2026-10-31"}` (see `docs/operations.md`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset, Param, dag, task

from jumin.apps.orchestration import (
    ACCEPTED_ASSET,
    LG_CODES_PARAM,
    OPTIONAL_DATE_PARAM,
    SNAPSHOTS_ASSET,
    default_paths,
)

if TYPE_CHECKING:
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor
    from airflow.sdk.types import OutletEventAccessorsProtocol

PATHS = default_paths()
SNAPSHOTS = Asset(SNAPSHOTS_ASSET)


@dag(
    dag_id="jumin_snapshot",
    schedule=[Asset(ACCEPTED_ASSET)],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    doc_md=__doc__,
    tags=["jumin", "基準日"],
    params={
        "kijunbi": Param(
            "", **OPTIONAL_DATE_PARAM, description="基準日 (as of); empty = the 基準日 of newly accepted sets"
        ),
        "until": Param("", **OPTIONAL_DATE_PARAM, description="last 基準日 of a backfill; empty = kijunbi only"),
        "known_at": Param("", **OPTIONAL_DATE_PARAM, description="処理日 cut-off; empty = each 基準日"),
        "delta": Param(True, type="boolean", description="stage deltas from the day before"),
        "lg_codes": Param([], **LG_CODES_PARAM),
        "lake": Param(PATHS["lake"], type="string", description="lake root"),
    },
)
def jumin_snapshot() -> None:
    @task
    def plan(
        params: dict[str, Any] | None = None, triggering_asset_events: TriggeringAssetEventsAccessor | None = None
    ) -> list[dict[str, str | None]]:
        from jumin.apps.orchestration import fail_fast, snapshot_plan

        p = params or {}
        events = [e.extra for evs in (triggering_asset_events or {}).values() for e in evs]
        return fail_fast(snapshot_plan, p["lake"], p, events)

    @task(map_index_template="{{ lg_code }}")
    def snapshot(
        lg_code: str, kijunbi: str, until: str | None, params: dict[str, Any] | None = None
    ) -> list[dict[str, str | int]]:
        from jumin.apps.orchestration import fail_fast, stage_snapshots

        p = params or {}
        return fail_fast(stage_snapshots, p["lake"], lg_code, kijunbi, p["known_at"] or None, until)

    @task(map_index_template="{{ lg_code }}")
    def delta(
        lg_code: str, kijunbi: str, until: str | None, params: dict[str, Any] | None = None
    ) -> list[dict[str, str | int]]:
        from jumin.apps.orchestration import fail_fast
        from load.main import delta_municipality

        p = params or {}
        if not p["delta"] or p["known_at"]:
            return []  # deltas chain the snapshots as known on their own day
        return [r.to_dict() for r in fail_fast(delta_municipality, p["lake"], lg_code, kijunbi, until)]

    @task(outlets=[SNAPSHOTS])
    def announce(
        planned: list[dict[str, str | None]],
        params: dict[str, Any] | None = None,
        outlet_events: OutletEventAccessorsProtocol | None = None,
    ) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from jumin.apps.orchestration import snapshots_event

        p = params or {}
        if p["known_at"]:
            raise AirflowSkipException("snapshots as known at a later 処理日 are not reconciled")
        extra = snapshots_event(planned, p["lake"])
        assert outlet_events is not None, "Airflow gives a task with outlets its outlet_events"
        outlet_events[SNAPSHOTS].extra = extra
        return extra

    planned = plan()
    staged = snapshot.expand_kwargs(planned)
    staged >> delta.expand_kwargs(planned)
    staged >> announce(planned)  # type: ignore[arg-type]  # Airflow resolves the XComArg when the task runs


jumin_snapshot()
