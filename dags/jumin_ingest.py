"""
### jumin_ingest — 受付: upload sets → raw, parsed, validated, receipts (mapped per municipality)

For every municipality with an inbox in the landing zone (or those named in **lg_codes**):

1. **ingest** — picks up complete upload sets (manifest uploaded last, every file present with
   its declared size and sha256), keeps a raw copy, decodes and parses strictly, and moves the
   set to the archive. Incomplete sets are left alone (reported after a timeout); a bad set is
   rejected with a receipt; an identical re-upload is not processed twice.
2. **validate** — runs the layout's Great Expectations suite; accepted rows go to
   `accepted/`, rejected rows to quarantine `rejected/`, one 受付結果 receipt per set.
3. **return_receipts** — puts each receipt (`.json` and a Japanese `.txt`) into the municipality's
   `outbox/`.
4. **data_docs** — renders GX Data Docs per validated set into `docs/lg_code=<code>/`; the
   task returns the pages' paths and each receipt names its page.
5. **announce** — when rows were accepted, updates the Asset `jumin_accepted` with the lake,
   the municipalities and the 基準日 concerned, which triggers `jumin_snapshot`.

The landing zone is the SFTP server of the Airflow connection **sftp_conn_id** (e.g.
`AIRFLOW_CONN_JUMIN_SFTP`) or, when that is empty, the local folder **landing**. SFTP errors
retry; one municipality's failure never blocks the others. A landing without any inbox, or a
code in **lg_codes** that is not a valid 全国地方公共団体コード or has no inbox, fails the run.
**landing** and **lake** default to the deployment's `JUMIN_LANDING` and `JUMIN_LAKE`; the
snapshot DAG refuses events for another lake than its own. Rerun one municipality:
`{"lg_codes": ["131016"]}`. See `docs/operations.md` and `docs/landing.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset, Param, dag, task

from jumin.apps.orchestration import ACCEPTED_ASSET, LG_CODES_PARAM, default_paths, landing_params

if TYPE_CHECKING:
    from airflow.sdk.types import OutletEventAccessorsProtocol

PATHS = default_paths()
RETRY: dict[str, Any] = {"retries": 3, "retry_delay": pendulum.duration(seconds=30)}
ACCEPTED = Asset(ACCEPTED_ASSET)


@dag(
    dag_id="jumin_ingest",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    doc_md=__doc__,
    tags=["jumin", "受付"],
    max_active_runs=1,
    params={
        "lg_codes": Param([], **LG_CODES_PARAM),
        **landing_params(PATHS["landing"]),
        "lake": Param(PATHS["lake"], type="string", description="lake root"),
    },
)
def jumin_ingest() -> None:
    @task(**RETRY)
    def municipalities(params: dict[str, Any] | None = None) -> list[str]:
        from jumin.apps.orchestration import fail_fast, landing_source, municipalities_to_ingest

        p = params or {}
        return fail_fast(municipalities_to_ingest, landing_source(p), p.get("lg_codes") or [])

    @task(**RETRY, map_index_template="{{ lg_code }}")
    def ingest(lg_code: str, params: dict[str, Any] | None = None) -> str:
        from extract.main import ingest_municipality
        from jumin.apps.orchestration import fail_fast, landing_source

        p = params or {}
        fail_fast(ingest_municipality, landing_source(p), p["lake"], lg_code)
        return lg_code

    @task(map_index_template="{{ lg_code }}")
    def validate(lg_code: str, params: dict[str, Any] | None = None) -> list[dict[str, str | int]]:
        from expectations.main import validate_municipality
        from jumin.apps.orchestration import fail_fast

        return [r.to_dict() for r in fail_fast(validate_municipality, (params or {})["lake"], lg_code)]

    @task(map_index_template="{{ lg_code }}")
    def data_docs(lg_code: str, params: dict[str, Any] | None = None) -> list[str]:
        from expectations.data_docs import build_data_docs
        from jumin.apps.orchestration import fail_fast

        return fail_fast(build_data_docs, (params or {})["lake"], lg_code)

    @task(**RETRY, map_index_template="{{ lg_code }}")
    def return_receipts(lg_code: str, params: dict[str, Any] | None = None) -> list[str]:
        from extract.main import return_municipality_receipts
        from jumin.apps.orchestration import fail_fast, landing_source

        p = params or {}
        return fail_fast(return_municipality_receipts, landing_source(p), p["lake"], lg_code)

    @task(outlets=[ACCEPTED], trigger_rule="all_done")
    def announce(
        validated: list[list[dict[str, Any]]],
        params: dict[str, Any] | None = None,
        outlet_events: OutletEventAccessorsProtocol | None = None,
    ) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from jumin.apps.orchestration import accepted_event

        # one slice read of the mapped XCom: iterating it would ask for the item one past the
        # end (the SDK logs that miss as an error), and a failed municipality would end it early
        extra = accepted_event([r for results in validated[:] if results for r in results], (params or {})["lake"])
        if extra is None:
            raise AirflowSkipException("nothing new was accepted: no snapshot needed")
        assert outlet_events is not None, "Airflow gives a task with outlets its outlet_events"
        outlet_events[ACCEPTED].extra = extra
        return extra

    codes = ingest.expand(lg_code=municipalities())
    validated = validate.expand(lg_code=codes)
    validated >> [return_receipts.expand(lg_code=codes), data_docs.expand(lg_code=codes)]
    announce(validated)  # type: ignore[arg-type]  # Airflow resolves the XComArg when the task runs


jumin_ingest()
