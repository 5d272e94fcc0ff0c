"""The production profile for real (issue 12): a private PostgreSQL cluster as the metadata
database, a private redis-server as the Celery broker, the CeleryExecutor and two Celery workers,
all on loopback (:class:`jumin.apps.airflow.AirflowServers` with ``profile="celery"``, what
``make airflow-celery`` runs), over a lake in object storage (``s3://``, moto's S3 server on
loopback). ``jumin_ingest`` runs its mapped tasks on both workers, then one worker is SIGKILLed
while it runs a ``snapshot`` task of the asset-triggered ``jumin_snapshot``: the task is retried
on the other worker, the run succeeds and the staged snapshots are byte-identical to the
library's over the same accepted zone; the asset-triggered ``jumin_reconcile`` and
``jumin_deliver`` follow on the one worker left, the deliveries reach the SaaS outboxes and the
ledger verifies.

Needs PostgreSQL 15, redis-server and moto (``make postgres redis moto``; ``make test`` depends on them).
PostgreSQL runs as the ``postgres`` account when we are root, so the test's folder is a
``/tmp/jumin-celery-*`` folder it can enter (pytest's own tmp folders are root-only)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jumin.apps.airflow import CELERY_COMPONENTS, CELERY_WORKERS, PG_BIN, AirflowServers, worker_hostname
from jumin.core.lake import Lake
from jumin.core.landing import LandingTree
from jumin.core.store import lake_path
from jumin.dev.s3server import make_bucket, moto_server
from load.deliver.contract import example_contracts, load_contract
from load.deliver.ledger import verify
from tests.test_scheduler import (
    KIJUNBI,
    LG_CODES,
    assert_snapshots_as_the_library_makes,
    component_logs,
    deliver,
    free_port,
    runs,
    trigger,
)

#: a lost task (its worker killed) is failed by the scheduler after this many seconds without a
#: heartbeat (the deployment keeps Airflow's 300 s), then retried after the profile's retry delay
HEARTBEAT_TIMEOUT_S = 20
#: a task queued this long without starting is queued again (Airflow's default: 600 s)
QUEUED_TIMEOUT_S = 45
#: one DAG run here, a killed worker's retry included (measured: ingest ~30 s, snapshot ~70 s)
RUN_TIMEOUT_S = 150


def celery_servers(root: Path, lake: Path | None = None, **kw: Any) -> AirflowServers:
    return AirflowServers(
        home=root / "airflow",
        port=free_port(),
        landing=root / "landing",
        lake=lake or root / "lake",
        components=CELERY_COMPONENTS,
        profile="celery",
        pg_port=free_port(),
        redis_port=free_port(),
        **kw,
    )


@pytest.fixture
def scratch() -> Iterator[Path]:
    """``/tmp/jumin-celery-<random>``, enterable by the ``postgres`` account; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="jumin-celery-")).resolve()
    root.chmod(0o711)
    try:
        yield root
    finally:
        assert root.is_absolute() and root.name.startswith("jumin-celery-") and root.parent == Path("/tmp").resolve()
        shutil.rmtree(root)


@pytest.mark.unit
def test_the_celery_profile_settings(tmp_path: Path) -> None:
    """PostgreSQL for the metadata (sync and async engines) and the Celery results, Redis as the
    broker, all on 127.0.0.1 with the generated passwords; each worker its own Celery node,
    queue and task hostname, no log server; a national fan-out fits."""
    s = celery_servers(tmp_path)
    env = s.env()
    pg, redis = s.backing()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    base = f"{pg.user}:{pg.password}@127.0.0.1:{s.pg_port}/airflow"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"postgresql+psycopg://{base}"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == f"postgresql+psycopg_async://{base}"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+postgresql+psycopg://{base}"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{redis.password}@127.0.0.1:{s.redis_port}/0"
    assert int(env["AIRFLOW__CORE__MAX_MAP_LENGTH"]) > 1741
    assert len(pg.password) == len(redis.password) == 32 and pg.password != redis.password
    assert (s.home / "jumin-celery-secrets.json").stat().st_mode & 0o077 == 0
    # the passwords are generated once: a second launcher over the same home reuses them
    assert celery_servers(tmp_path).backing()[0].password == pg.password
    for w in CELERY_WORKERS:
        cmd = s.command(w)
        assert cmd[cmd.index("--celery-hostname") + 1] == f"{w}@%h"
        assert cmd[cmd.index("--queues") + 1] == f"default,{w}"
        assert "--skip-serve-logs" in cmd
        wenv = s.component_env(w)
        assert wenv["JUMIN_CELERY_WORKER"] == w
        assert wenv["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == "jumin.apps.airflow.worker_hostname"
    assert "JUMIN_CELERY_WORKER" not in s.component_env("scheduler")
    # SQLite and the LocalExecutor stay `make airflow`'s
    local = AirflowServers(home=tmp_path / "local", port=1, landing=tmp_path, lake=tmp_path)
    assert local.env()["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


@pytest.mark.unit
def test_worker_hostname_names_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMIN_CELERY_WORKER", "celery-worker-2")
    assert worker_hostname().startswith("celery-worker-2@")
    monkeypatch.delenv("JUMIN_CELERY_WORKER")
    assert "@" not in worker_hostname()


def wait_for(s: AirflowServers, token: str, dag_id: str, what: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    """The first run of ``dag_id`` to finish."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in runs(s, token, dag_id):
            if run["state"] in ("success", "failed"):
                return run
        time.sleep(1)
    raise AssertionError(f"no {dag_id} run ({what}) finished in {timeout_s:.0f} s\n{component_logs(s)}")


def task_instances(s: AirflowServers, token: str, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return list(s.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", token)["task_instances"])


def worker_of(ti: dict[str, Any]) -> str:
    """The Celery worker a task instance's hostname names (``celery-worker-1@<machine>``)."""
    return str(ti["hostname"] or "").split("@")[0]


def kill_a_running_task(s: AirflowServers, token: str, dag_id: str) -> tuple[str, dict[str, Any]]:
    """SIGKILL the worker of one of ``dag_id``'s mapped tasks while the task runs: once its
    attempt's log file appears, both workers are frozen (SIGSTOP) so it cannot finish meanwhile;
    when the scheduler has it running, its worker (the hostname) is killed and the other thawed;
    still queued, both are thawed and it is looked at again; finished, the next task is tried.
    The worker, and the task instance as it was when its worker died."""
    done: set[Path] = set()
    tried: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        for log in sorted(
            set(s.home.glob(f"logs/dag_id={dag_id}/run_id=*/task_id=*/map_index=*/attempt=*.log")) - done
        ):
            run_id, task_id, map_index = (p.name.split("=", 1)[1] for p in (log.parents[2], log.parents[1], log.parent))
            for w in CELERY_WORKERS:
                s.send(w, signal.SIGSTOP)
            try:
                ti = s.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}", token)
                tried.append((f"{task_id}[{map_index}]", ti["state"], ti["hostname"]))
                if ti["state"] == "running" and worker_of(ti) in CELERY_WORKERS:
                    s.kill(worker_of(ti))
                    return worker_of(ti), ti
                if ti["state"] not in ("queued", "scheduled", None):
                    done.add(log)
            finally:
                for w in CELERY_WORKERS:
                    if w in s.procs:
                        s.send(w, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError(f"no mapped task of {dag_id} caught running: {tried}\n{component_logs(s)}")


@pytest.mark.airflow
@pytest.mark.integration
@pytest.mark.timeout(600)
def test_two_workers_and_a_killed_one(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (PG_BIN / "initdb").exists() or not shutil.which("redis-server"):
        pytest.fail("the production profile needs PostgreSQL 15 and redis-server: run `make postgres redis`")
    with moto_server(scratch / "moto.log") as s3:
        for name, value in s3.items():  # this process reads the lake too
            monkeypatch.setenv(name, value)
        make_bucket(s3, "jumin-lake")
        run_the_dags(scratch, s3)


def run_the_dags(scratch: Path, s3: dict[str, str]) -> None:
    started = time.monotonic()
    s = celery_servers(
        scratch,
        lake=lake_path("s3://jumin-lake/national"),
        settings={
            **s3,
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
            # a message the killed worker had received for a task not yet started stays unacked
            # in Redis (visibility timeout: a day): the scheduler re-queues such a task
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(QUEUED_TIMEOUT_S),
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "5",
        },
    )
    deliver(s.landing, LG_CODES)
    # the deployment's SaaS outboxes (what `jumin landing provision --saas` makes)
    accounts = sorted({load_contract(p).account for p in example_contracts().values()})
    for account in accounts:
        LandingTree(s.landing).saas_outbox(account).mkdir(parents=True)
    s.migrate()
    with s:
        print(f"\nthe production profile started in {time.monotonic() - started:.0f} s")
        assert (s.home / "postgres" / "data" / "PG_VERSION").read_text().strip() == "15"
        token = s.token()
        deadline = time.monotonic() + 60
        while len(s.api("GET", "/api/v2/dags", token)["dags"]) < 4:
            assert time.monotonic() < deadline, f"the DAGs were not parsed\n{component_logs(s)}"
            time.sleep(1)

        t0 = time.monotonic()
        run_id = trigger(s, token, "jumin_ingest", {"lg_codes": []})
        # the asset-triggered snapshot run starts while ingest still renders its Data Docs: SIGKILL
        # the worker of one of its mapped tasks while the task runs
        killed, victim = kill_a_running_task(s, token, "jumin_snapshot")
        ingest = wait_for(s, token, "jumin_ingest", "triggered")
        assert (ingest["dag_run_id"], ingest["state"]) == (run_id, "success"), component_logs(s)
        print(f"jumin_ingest: {time.monotonic() - t0:.0f} s")
        # the mapped tasks ran on both workers (the task instances' hostname names the worker)
        mapped = [ti for ti in task_instances(s, token, "jumin_ingest", run_id) if ti["map_index"] >= 0]
        assert len(mapped) >= 3 * len(LG_CODES)
        assert {worker_of(ti) for ti in mapped} == set(CELERY_WORKERS), [
            (ti["task_id"], ti["hostname"]) for ti in mapped
        ]

        # the snapshot run finishes on the other worker
        snap = wait_for(s, token, "jumin_snapshot", "asset-triggered, one worker killed")
        assert (snap["run_type"], snap["state"]) == ("asset_triggered", "success"), component_logs(s)
        print(f"jumin_ingest and jumin_snapshot with {killed} killed: {time.monotonic() - t0:.0f} s")
        tries = s.api(
            "GET",
            f"/api/v2/dags/jumin_snapshot/dagRuns/{snap['dag_run_id']}/taskInstances/{victim['task_id']}/"
            f"{victim['map_index']}/tries",
            token,
        )["task_instances"]
        by_try = {t["try_number"]: t for t in tries}
        # the killed try failed on the killed worker; the task succeeded on the other one
        assert worker_of(by_try[victim["try_number"]]) == killed
        last = by_try[max(by_try)]
        assert max(by_try) > victim["try_number"] and last["state"] == "success", tries
        assert worker_of(last) in set(CELERY_WORKERS) - {killed}, tries

        # the later stages, asset-triggered, on the worker left: reconcile, deliver, publish
        lake = Lake(s.lake)
        rec = wait_for(s, token, "jumin_reconcile", "asset-triggered")
        assert (rec["run_type"], rec["state"]) == ("asset_triggered", "success"), component_logs(s)
        assert all(lake.is_staged(lake.reconcile("links", KIJUNBI, code)) for code in LG_CODES)
        dlv = wait_for(s, token, "jumin_deliver", "asset-triggered")
        assert (dlv["run_type"], dlv["state"]) == ("asset_triggered", "success"), component_logs(s)
        print(f"all four DAGs on the s3:// lake: {time.monotonic() - t0:.0f} s")
        for account in accounts:
            outbox = LandingTree(s.landing).saas_outbox(account)
            assert list(outbox.glob("contract=*/kijunbi=*/_manifest.json")), account
        ledger = verify(s.lake)
        assert ledger.ok and ledger.segments == len(example_contracts()), ledger.problems
        assert s.procs.keys() == set(CELERY_COMPONENTS) - {killed} and not s.exited()

    # nothing of the lake in a local folder: every object is in the bucket
    assert not (scratch / "lake").exists()

    # the staged snapshots: the same rows and bytes as the library makes over the same accepted zone
    assert_snapshots_as_the_library_makes(s.lake, scratch / "reference")
    # stopped: PostgreSQL and Redis too
    assert not (s.home / "postgres" / "data" / "postmaster.pid").exists()
    assert not s.backing()[1].ping()
    assert os.listdir(s.home / "postgres" / "data")
