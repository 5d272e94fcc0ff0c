"""
### jumin_deliver — purpose-bound datasets for common SaaS, one mapped task per contract

Runs when `jumin_reconcile` has staged the reconciliation of a 基準日 (Asset
`jumin_reconciled`) or when triggered by hand.

1. **plan** — (contract, 基準日) pairs: the files of **contracts** (empty = every `*.yaml` of the
   deployment's contracts folder, `JUMIN_CONTRACTS`, by default the example contracts shipped
   in `load/deliver/contracts/`), for **kijunbi** or the days of the triggering events, which
   must name this run's **lake**. No contract or no day fails the run.
2. **deliver** (mapped per contract and day) — one row per person the contract allows, only its
   items under the contract's pseudonymous ids, addresses of persons under 支援措置 emptied,
   checked by the contract's own rules before release:
   `<lake>/deliver/contract=<id>/kijunbi=<d>/part-0.parquet` and its `_manifest.json`, replaced
   atomically; a rerun gives byte-identical files. A contract the project refuses (an item its
   legal basis does not allow …) fails its task with the reason.

See `docs/contracts.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset, Param, dag, task

from jumin.apps.orchestration import OPTIONAL_DATE_PARAM, RECONCILED_ASSET, default_paths

if TYPE_CHECKING:
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

PATHS = default_paths()


@dag(
    dag_id="jumin_deliver",
    schedule=[Asset(RECONCILED_ASSET)],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    doc_md=__doc__,
    tags=["jumin", "提供"],
    params={
        "kijunbi": Param("", **OPTIONAL_DATE_PARAM, description="基準日; empty = the days of the reconciliation"),
        "contracts": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            description="contract files (ODCS YAML); empty = every contract of the deployment",
        ),
        "lake": Param(PATHS["lake"], type="string", description="lake root"),
    },
)
def jumin_deliver() -> None:
    @task
    def plan(
        params: dict[str, Any] | None = None, triggering_asset_events: TriggeringAssetEventsAccessor | None = None
    ) -> list[dict[str, str]]:
        from jumin.apps.orchestration import default_paths, deliver_plan, fail_fast

        p = params or {}
        events = [e.extra for evs in (triggering_asset_events or {}).values() for e in evs]
        return fail_fast(deliver_plan, p["lake"], default_paths()["contracts"], p, events)

    @task(map_index_template="{{ contract }}")
    def deliver(contract: str, kijunbi: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        import datetime as dt

        from jumin.apps.orchestration import fail_fast
        from load.deliver.main import deliver as deliver_contract

        at = dt.datetime.now(dt.UTC)  # the ledger's time of the delivery
        return fail_fast(deliver_contract, (params or {})["lake"], contract, kijunbi, at).to_dict()

    deliver.expand_kwargs(plan())


jumin_deliver()
