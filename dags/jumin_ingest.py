"""
### jumin_ingest — 受付: upload sets → raw, parsed, validated (one mapped task per municipality)

For every municipality with files in the landing folder (or those named in **lg_codes**):

1. **ingest** — picks up complete upload sets (manifest + files, sha256 checked), keeps a raw
   copy, decodes and parses strictly. A bad set is rejected with a receipt; others go on.
2. **validate** — runs the layout's Great Expectations suite; accepted rows go to
   `accepted/`, rejected rows to quarantine `rejected/`, one 受付結果 receipt per set in
   `receipts/lg_code=<code>/` (`.json` and a Japanese `.txt`).

Rerun one municipality: trigger with `{"lg_codes": ["131016"]}`. An identical re-upload is
recognised by its manifest hash and not processed twice. See `docs/operations.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from jumin.orchestration import LG_CODES_PARAM, default_paths

PATHS = default_paths()


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
        "landing": Param(PATHS["landing"], type="string", description="landing folder"),
        "lake": Param(PATHS["lake"], type="string", description="lake root"),
    },
)
def jumin_ingest() -> None:
    @task
    def municipalities(params: dict | None = None) -> list[str]:
        from jumin.orchestration import municipalities_in

        p = params or {}
        return municipalities_in(p["landing"], "*", p["lg_codes"])

    @task(retries=3, retry_delay=pendulum.duration(seconds=30), map_index_template="{{ lg_code }}")
    def ingest(lg_code: str, params: dict | None = None) -> str:
        from extract.main import ingest_municipality
        from jumin.orchestration import fail_fast

        p = params or {}
        fail_fast(ingest_municipality, p["landing"], p["lake"], lg_code)
        return lg_code

    @task(map_index_template="{{ lg_code }}")
    def validate(lg_code: str, params: dict | None = None) -> list[dict]:
        from expectations.main import validate_municipality
        from jumin.orchestration import fail_fast

        p = params or {}
        return fail_fast(validate_municipality, p["lake"], lg_code)

    validate.expand(lg_code=ingest.expand(lg_code=municipalities()))


jumin_ingest()
