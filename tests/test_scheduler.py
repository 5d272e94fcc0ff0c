"""The DAGs through Airflow's real scheduler: api-server, scheduler and dag-processor as
subprocesses on loopback (:class:`jumin.apps.airflow.AirflowServers`, what ``make airflow``
runs), triggered through the REST API, the snapshot run started by the asset event."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.inbox import deliver_local
from jumin.apps.airflow import AirflowServers
from jumin.core.lake import Lake
from jumin.core.landing import LandingTree
from load.deliver.contract import example_contracts, load_contract
from load.main import snapshot_municipality
from tests.conftest import REPO

SAMPLE = REPO / "sample_data" / "landing"
LG_CODES = sorted(p.name for p in SAMPLE.iterdir())
KIJUNBI = "2026-11-01"
#: how long one DAG run may take here (measured: ~10-20 s for each DAG on 2 cores)
RUN_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deliver(landing: Path, codes: list[str]) -> Path:
    for code in codes:
        deliver_local(SAMPLE / code, landing, code)
    return landing


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[AirflowServers]:
    """Its own AIRFLOW_HOME (SQLite, migrated first), landing holding the sample, and lake;
    every process is killed in teardown, also when the test fails."""
    s = AirflowServers(
        home=tmp_path / "airflow",
        port=free_port(),
        landing=deliver(tmp_path / "landing", LG_CODES),
        lake=tmp_path / "lake",
        components=("api-server", "scheduler", "dag-processor"),
    )
    s.migrate()
    with s:
        yield s


def component_logs(s: AirflowServers) -> str:
    return "\n".join(
        f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-20:])
        for p in sorted(s.log_dir.glob("*.log"))
    )


def runs(s: AirflowServers, token: str, dag_id: str) -> list[dict[str, Any]]:
    return list(s.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=run_after", token)["dag_runs"])


def wait_for_run(
    s: AirflowServers, token: str, dag_id: str, *, not_in: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """The first run of ``dag_id`` (other than ``not_in``) to finish."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        for run in runs(s, token, dag_id):
            if run["dag_run_id"] not in not_in and run["state"] in ("success", "failed"):
                return run
        time.sleep(1)
    raise AssertionError(f"no {dag_id} run finished in {RUN_TIMEOUT_S} s\n{component_logs(s)}")


def trigger(s: AirflowServers, token: str, dag_id: str, conf: dict[str, Any]) -> str:
    run = s.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", token, {"logical_date": None, "conf": conf})
    return str(run["dag_run_id"])


def task_log(s: AirflowServers, dag_id: str, run_id: str, task_id: str) -> str:
    return (
        s.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}" / "attempt=1.log"
    ).read_text()


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet file, local or in an object-store lake."""
    return int(pq.read_metadata(pa.BufferReader(path.read_bytes())).num_rows)


def assert_snapshots_as_the_library_makes(lake_root: Path, reference: Path) -> dict[str, list[Any]]:
    """The snapshots a DAG run staged in ``lake_root`` are, row count and bytes, those the
    library makes over a copy of the same accepted zone (in ``reference``); its results per
    municipality."""
    lake, ref = Lake(lake_root), Lake(reference)
    for path in lake.root.glob("accepted/*/lg_code=*/*.parquet"):  # also from object storage
        copy = ref.root / str(path.relative_to(lake.root))
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
    out = {}
    for code in LG_CODES:
        expected = snapshot_municipality(ref.root, code, KIJUNBI)
        assert {r.layout for r in expected} == {"atena", "juki", "shien", "teikyoteishi"}
        for r in expected:
            staged = lake.root / Path(r.path).relative_to(ref.root)
            assert parquet_rows(staged) == r.rows, (code, r.layout)
            assert hashlib.sha256(staged.read_bytes()).digest() == hashlib.sha256(Path(r.path).read_bytes()).digest()
        out[code] = expected
    return out


@pytest.mark.unit
def test_servers_settings_follow_the_port(tmp_path: Path) -> None:
    """The tasks call the execution API back on the API server's own port, on loopback; the lake
    and landing are the DAGs' defaults through JUMIN_LAKE and JUMIN_LANDING."""
    s = AirflowServers(home=tmp_path, port=18123, landing=tmp_path / "landing", lake=tmp_path / "lake")
    env = s.env()
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "18123")
    assert s.command("api-server")[-4:] == ["--host", "127.0.0.1", "--port", "18123"]
    # no log server on every interface
    assert all("--skip-serve-logs" in s.command(c) for c in ("scheduler", "triggerer"))
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
    assert (env["JUMIN_LAKE"], env["JUMIN_LANDING"]) == (str(tmp_path / "lake"), str(tmp_path / "landing"))
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(s.password_file)


@pytest.mark.airflow
@pytest.mark.integration
@pytest.mark.timeout(180)
def test_ingest_through_the_scheduler_triggers_the_snapshot(servers: AirflowServers, tmp_path: Path) -> None:
    s = servers
    token = s.token()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    dag_ids = {"jumin_ingest", "jumin_snapshot", "jumin_reconcile", "jumin_deliver"}
    while {d["dag_id"] for d in s.api("GET", "/api/v2/dags", token)["dags"]} != dag_ids:
        assert time.monotonic() < deadline, f"the DAGs were not parsed\n{component_logs(s)}"
        time.sleep(1)

    # the deployment's SaaS outboxes (what `jumin landing provision --saas` makes)
    accounts = sorted({load_contract(p).account for p in example_contracts().values()})
    for account in accounts:
        LandingTree(s.landing).saas_outbox(account).mkdir(parents=True)
    run_id = trigger(s, token, "jumin_ingest", {"landing": str(s.landing), "lake": str(s.lake), "lg_codes": []})
    ingest = wait_for_run(s, token, "jumin_ingest")
    assert (ingest["dag_run_id"], ingest["state"]) == (run_id, "success"), component_logs(s)
    snap = wait_for_run(s, token, "jumin_snapshot")
    assert (snap["run_type"], snap["state"]) == ("asset_triggered", "success"), component_logs(s)
    # the staged snapshots trigger the reconciliation, which returns review files to the outboxes
    rec = wait_for_run(s, token, "jumin_reconcile")
    assert (rec["run_type"], rec["state"]) == ("asset_triggered", "success"), component_logs(s)
    for code in LG_CODES:
        assert Lake(s.lake).is_staged(Lake(s.lake).reconcile("links", KIJUNBI, code)), code
    # the staged reconciliation triggers the deliveries of the deployment's contracts
    dlv = wait_for_run(s, token, "jumin_deliver")
    assert (dlv["run_type"], dlv["state"]) == ("asset_triggered", "success"), component_logs(s)
    assert Lake(s.lake).is_staged(Lake(s.lake).delivery("vaccination_65plus", KIJUNBI))
    # and publishes them to each SaaS's outbox, where its team pulls them
    for account in accounts:
        outbox = LandingTree(s.landing).saas_outbox(account)
        assert list(outbox.glob("contract=*/kijunbi=*/_manifest.json")), account

    # the staged snapshots: the same rows and bytes as the library makes over the same accepted zone
    for code, expected in assert_snapshots_as_the_library_makes(s.lake, tmp_path / "reference").items():
        assert min(r.rows for r in expected if r.layout in ("atena", "juki")) > 0, code

    # accepted into another lake: the event names that lake and the snapshot run, over its own
    # default lake, fails naming both instead of staging nothing
    other = tmp_path / "other-lake"
    landing2 = deliver(tmp_path / "landing2", LG_CODES[:1])
    done = {r["dag_run_id"] for r in runs(s, token, "jumin_snapshot")}
    trigger(s, token, "jumin_ingest", {"landing": str(landing2), "lake": str(other)})
    assert wait_for_run(s, token, "jumin_ingest", not_in={run_id})["state"] == "success", component_logs(s)
    refused = wait_for_run(s, token, "jumin_snapshot", not_in=done)
    assert (refused["run_type"], refused["state"]) == ("asset_triggered", "failed")
    log = task_log(s, "jumin_snapshot", refused["dag_run_id"], "plan")
    assert f"event is for lake '{other}' but this run's lake is '{s.lake}'" in log
    assert not (other / "snapshot").exists()
