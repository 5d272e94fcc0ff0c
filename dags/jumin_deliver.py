"""
### jumin_deliver — purpose-bound datasets for common SaaS, one mapped task per contract

Runs when `jumin_reconcile` has staged the reconciliation of a 基準日 (Asset
`jumin_reconciled`) or when triggered by hand.

1. **plan** — (contract, 基準日) pairs: the files of **contracts** (empty = every `*.yaml` of the
   deployment's contracts folder, `JUMIN_CONTRACTS`, by default the example contracts shipped
   in `load/deliver/contracts/`), for **kijunbi** or the days of the triggering events, which
   must name this run's **lake**. No contract or no day fails the run.
2. **deliver** (mapped per contract and day, in parallel) — one row per person the contract
   allows, only its items under the contract's pseudonymous ids, addresses of persons under
   支援措置 emptied, checked by the contract's own rules before release (**engine** `duckdb`,
   one query, or `gx`, the Great Expectations suite generated from the contract), written to
   `<lake>/deliver/contract=<id>/kijunbi=<d>/part-0.parquet`; the pseudonym secret comes from
   the Airflow connection `jumin_pseudonym` (else the lake's file, with a warning). A contract
   the project refuses (an item its legal basis does not allow …) fails its task with the reason.
3. **seal** (mapped likewise, one at a time across all runs and workers, since every seal
   appends to the ledger's one hash chain) — logs the delivery's persons in the ledger (key from
   the connection `jumin_ledger`), then writes the `_manifest.json` that stages the delivery, and
   the delta from the contract's previous delivery; a rerun gives byte-identical files and logs
   nothing twice.
4. **publish** (mapped per contract, once every delivery is staged) — puts the contract's staged
   deliveries and deltas that are not there yet into its SaaS's read-only outbox on the landing
   zone (`saas/<account>/outbox/`): the SFTP server of the Airflow connection **sftp_conn_id**,
   or, when that is empty, the local folder **landing**. A SaaS without an outbox fails its task
   naming the folder (`jumin landing provision --saas <account>` makes it). SaaS teams pull with
   `jumin pull`.

See `docs/contracts.md` and `docs/pull.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset, Param, dag, task

from jumin.apps.orchestration import OPTIONAL_DATE_PARAM, RECONCILED_ASSET, default_paths, landing_params

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
        "engine": Param("duckdb", enum=["duckdb", "gx"], description="who runs the contract's checks of the output"),
        **landing_params(PATHS["landing"]),
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
    def deliver(contract: str, kijunbi: str, params: dict[str, Any] | None = None) -> dict[str, str]:
        from jumin.apps.orchestration import PSEUDONYM_CONN_ID, fail_fast, secret_source
        from load.deliver.main import stage_delivery

        p = params or {}
        key = secret_source(PSEUDONYM_CONN_ID)
        fail_fast(stage_delivery, p["lake"], contract, kijunbi, key, engine=p["engine"])
        return {"contract": contract, "kijunbi": kijunbi}

    # one seal at a time across every run and worker: each appends to the ledger's one hash
    # chain, and a lake in object storage has no lock that reaches across machines
    @task(map_index_template="{{ contract }}", max_active_tis_per_dag=1)
    def seal(contract: str, kijunbi: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        import datetime as dt

        from jumin.apps.orchestration import LEDGER_CONN_ID, fail_fast, secret_source
        from load.deliver.main import seal_delivery

        p = params or {}
        at = dt.datetime.now(dt.UTC)  # the ledger's time of the delivery
        return fail_fast(seal_delivery, p["lake"], contract, kijunbi, at, secret_source(LEDGER_CONN_ID)).to_dict()

    @task
    def contracts(planned: list[dict[str, str]]) -> list[str]:
        return sorted({p["contract"] for p in planned})

    @task(retries=3, retry_delay=pendulum.duration(seconds=30), map_index_template="{{ contract }}")
    def publish(contract: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        from jumin.apps.orchestration import fail_fast, landing_source
        from load.deliver.publish import publish_contract

        p = params or {}
        return fail_fast(publish_contract, landing_source(p), p["lake"], contract).to_dict()

    planned = plan()
    sealed = seal.expand_kwargs(deliver.expand_kwargs(planned))
    published = publish.expand(contract=contracts(planned))  # type: ignore[arg-type]  # an XComArg at parse time
    sealed >> published


jumin_deliver()
