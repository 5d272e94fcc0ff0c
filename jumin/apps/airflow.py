"""``make airflow``: Airflow's components as servers on loopback, over the demo landing and lake.

What ``airflow standalone`` does, with the settings the project needs and nothing left to
chance: a project-local ``AIRFLOW_HOME`` with SQLite and the LocalExecutor, the api-server bound
to 127.0.0.1 on one port that the execution API URL follows (the tasks call back to it), the
SimpleAuthManager with one admin user whose generated password is kept in ``AIRFLOW_HOME``, the
log servers off (the api-server reads the task logs from ``AIRFLOW_HOME/logs`` itself) and the
lake and landing the DAGs use set once, as ``JUMIN_LAKE`` and ``JUMIN_LANDING``.

``make airflow-celery`` (``--profile celery``) is the deployment (docs/operations.md, "The
production profile"): the same components and DAGs with a private PostgreSQL cluster as the
metadata database and the Celery result backend, a private redis-server as the Celery broker,
both on loopback with generated passwords, and two Celery workers (``celery-worker-1`` and
``celery-worker-2``, each its own queue besides ``default``) that run the tasks.

``python -m jumin.apps.airflow [--port 8080]`` runs until Ctrl-C (or SIGTERM, which
``python -m jumin.apps.airflow stop`` sends); :class:`AirflowServers` is the same thing for a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from jumin.apps.orchestration import default_paths
from jumin.core.store import is_remote, lake_path

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
SAMPLE_LANDING = REPO / "sample_data" / "landing"
#: Airflow 3's development auth manager: users in the config, generated passwords in a file
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: the four components ``airflow standalone`` runs, each its own process
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: the file naming the launcher's and the components' process ids, for ``stop``
PID_FILE = "jumin-airflow.pids.json"
#: the production profile's Celery workers, each a component of its own
CELERY_WORKERS = ("celery-worker-1", "celery-worker-2")
#: the production profile's components: the api-server, the scheduler, the DAG processor, the
#: triggerer and the Celery workers (PostgreSQL and Redis are started before them)
CELERY_COMPONENTS = (*COMPONENTS, *CELERY_WORKERS)
#: task processes per Celery worker (the DuckDB-heavy tasks of one worker share its memory)
WORKER_CONCURRENCY = 2
#: ``[core] max_map_length``: a national run maps ~1,741 municipalities (Airflow's default: 1024)
MAX_MAP_LENGTH = 2048
#: ``[core] default_task_retries`` / ``default_task_retry_delay`` of the production profile: the
#: tries of a task without retries of its own (a lost worker's task runs again elsewhere)
DEFAULT_TASK_RETRIES = 2
DEFAULT_TASK_RETRY_DELAY_S = 15
#: the generated passwords of the profile's PostgreSQL and Redis (mode 0600 in ``AIRFLOW_HOME``)
SECRETS_FILE = "jumin-celery-secrets.json"
#: where Debian's postgresql-15 package puts initdb, pg_ctl and postgres
PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: the environment variable naming a Celery worker to its task processes (:func:`worker_hostname`)
WORKER_ENV = "JUMIN_CELERY_WORKER"


class AirflowNotReady(RuntimeError):
    """A component exited, or the servers did not report healthy in time."""


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the production profile's Celery workers: the worker's name
    and the machine's, so a task instance's ``hostname`` says which worker ran it (two workers on
    one machine would otherwise both be the machine's FQDN)."""
    fqdn = socket.getfqdn()
    worker = os.environ.get(WORKER_ENV)
    return f"{worker}@{fqdn}" if worker else fqdn


def _as_postgres() -> dict[str, Any]:
    """``subprocess`` arguments that run a PostgreSQL program as the ``postgres`` account when we
    are root (initdb and postgres refuse to run as root), as ourselves otherwise."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _pg(program: str) -> str:
    return str(PG_BIN / program) if (PG_BIN / program).exists() else (shutil.which(program) or program)


@dataclass
class Postgres:
    """A private PostgreSQL cluster in ``folder`` (its own initdb, never the system's cluster or
    configuration), listening on 127.0.0.1:``port`` only, its unix socket in ``folder``; the
    superuser ``airflow`` with ``password`` owns the database ``airflow``."""

    folder: Path
    port: int
    password: str
    user: str = "airflow"
    database: str = "airflow"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    def url(self, scheme: str = "postgresql+psycopg") -> str:
        return f"{scheme}://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=self.folder, **_as_postgres(), **kw)
        if r.returncode:
            raise AirflowNotReady(f"{' '.join(cmd[:2])}: exit {r.returncode}\n{r.stdout}{r.stderr}\nsee {self.log}")
        return r

    def start(self) -> None:
        """initdb on first use, then ``pg_ctl start`` (waits until it accepts connections) and the
        database created when absent."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            pw = self.folder / "initdb.pw"
            pw.write_text(self.password + "\n", encoding="utf-8")
            if os.geteuid() == 0:
                shutil.chown(pw, "postgres", "postgres")
            try:
                self._run(
                    [
                        _pg("initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        self.user,
                        f"--pwfile={pw}",
                        "--auth=scram-sha-256",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                )
            finally:
                pw.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}"
        self._run([_pg("pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options])
        env = {**os.environ, "PGPASSWORD": self.password}
        exists = self._run(
            [
                _pg("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'",
            ],
            env=env,
        )
        if exists.stdout.strip() != "1":
            self._run(
                [_pg("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database], env=env
            )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; nothing when it is not running."""
        if self.running():
            self._run([_pg("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data)])


@dataclass
class Redis:
    """A private redis-server with its own config file in ``folder``: 127.0.0.1:``port`` only,
    ``requirepass``, no persistence (the broker holds only queued task messages; Airflow's
    state is in PostgreSQL, and the scheduler re-queues what a lost message left)."""

    folder: Path
    port: int
    password: str
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def config(self) -> Path:
        return self.folder / "redis.conf"

    def start(self) -> None:
        """Write the config, start redis-server and wait until it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"bind 127.0.0.1\nport {self.port}\nprotected-mode yes\nrequirepass {self.password}\n"
            f'dir {self.folder}\nsave ""\nappendonly no\ndaemonize no\nlogfile {self.folder / "redis.log"}\n',
            encoding="utf-8",
        )
        self.config.chmod(0o600)
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen([server, str(self.config)], start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AirflowNotReady(f"redis-server did not answer on 127.0.0.1:{self.port}; see {self.folder}")
            time.sleep(0.2)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                answer = b""
                while b"PONG" not in answer and len(answer) < 200 and (chunk := s.recv(200)):
                    answer += chunk
                return b"+PONG" in answer
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class AirflowServers:
    """Airflow's components as subprocesses on loopback, each in its own session so a
    terminal's Ctrl-C reaches only the launcher, which then stops them in order."""

    home: Path
    port: int
    landing: Path
    lake: Path
    components: tuple[str, ...] = COMPONENTS
    user: str = "admin"
    #: extra Airflow settings (``AIRFLOW__SECTION__KEY``) on top of :meth:`env`
    settings: dict[str, str] = field(default_factory=dict)
    #: ``local`` (SQLite, LocalExecutor: ``make airflow``) or ``celery`` (the production profile:
    #: PostgreSQL, Redis, CeleryExecutor and the workers among ``components``)
    profile: str = "local"
    #: the production profile's PostgreSQL and Redis ports on 127.0.0.1
    pg_port: int = 55432
    redis_port: int = 56379
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False)
    _backing: tuple[Postgres, Redis] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.profile not in ("local", "celery"):
            raise ValueError(f"profile {self.profile!r}: local or celery")

    @property
    def celery(self) -> bool:
        return self.profile == "celery"

    def backing(self) -> tuple[Postgres, Redis]:
        """The production profile's PostgreSQL and Redis (in ``home``), their passwords generated
        once and kept in ``home/jumin-celery-secrets.json`` (mode 0600)."""
        if self._backing is None:
            file = self.home / SECRETS_FILE
            if not file.exists():
                self.home.mkdir(parents=True, exist_ok=True)
                fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"postgres": secrets.token_hex(16), "redis": secrets.token_hex(16)}, f)
            pw = json.loads(file.read_text(encoding="utf-8"))
            self._backing = (
                Postgres(self.home / "postgres", self.pg_port, pw["postgres"]),
                Redis(self.home / "redis", self.redis_port, pw["redis"]),
            )
        return self._backing

    def start_backing(self) -> None:
        """Start PostgreSQL and Redis unless they run already (the production profile only)."""
        if not self.celery:
            return
        pg, redis = self.backing()
        if not pg.running():
            pg.start()
        if not redis.ping():
            redis.start()

    def stop_backing(self) -> None:
        if self.celery and self._backing is not None:
            pg, redis = self._backing
            redis.stop()
            pg.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs" / "components"

    def env(self) -> dict[str, str]:
        """The environment of every component (and of the tasks the executor starts)."""
        env = dict(os.environ)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
                # the tasks reach the API server here: it must follow the port
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": f"{self.url}/",
                "AIRFLOW__API__WORKERS": "1",
                "GX_ANALYTICS_ENABLED": "False",
                # the deployment's lake and landing: the DAG Params' defaults
                "JUMIN_LANDING": str(self.landing),
                "JUMIN_LAKE": str(self.lake),
            }
        )
        if self.celery:
            pg, redis = self.backing()
            workers = sum(c in CELERY_WORKERS for c in self.components)
            env.update(
                {
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url(),
                    # Airflow 3.3 also opens an async engine: psycopg's, not asyncpg (its default)
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": pg.url("postgresql+psycopg_async"),
                    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                    "AIRFLOW__CORE__PARALLELISM": str(max(1, workers) * WORKER_CONCURRENCY),
                    "AIRFLOW__CORE__MAX_MAP_LENGTH": str(MAX_MAP_LENGTH),
                    "AIRFLOW__CELERY__BROKER_URL": redis.url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": pg.url("db+postgresql+psycopg"),
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                    # a task whose worker died (its heartbeat lost) runs again on another one:
                    # every task is rerun-safe, byte for byte; terminal errors still fail at once
                    "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": str(DEFAULT_TASK_RETRIES),
                    "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": str(DEFAULT_TASK_RETRY_DELAY_S),
                }
            )
        env.update(self.settings)
        return env

    def component_env(self, component: str) -> dict[str, str]:
        """:meth:`env`, and for a Celery worker its name for :func:`worker_hostname`."""
        env = self.env()
        if component in CELERY_WORKERS:
            env[WORKER_ENV] = component
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "jumin.apps.airflow.worker_hostname"  # also under -m
        return env

    def migrate(self) -> None:
        """Create or upgrade the metadata database (SQLite, or PostgreSQL started first)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.start_backing()
        r = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=self.env(), capture_output=True)
        if r.returncode:
            raise AirflowNotReady(f"airflow db migrate: exit {r.returncode}\n{r.stderr.decode(errors='replace')}")

    def command(self, component: str) -> list[str]:
        if component in CELERY_WORKERS:
            # its own Celery node name and queue (besides the default one), no log server (two
            # would race for port 8793; the api-server reads the task logs from AIRFLOW_HOME/logs)
            return [
                sys.executable,
                "-m",
                "airflow",
                "celery",
                "worker",
                "--celery-hostname",
                f"{component}@%h",
                "--queues",
                f"default,{component}",
                "--concurrency",
                str(WORKER_CONCURRENCY),
                "--skip-serve-logs",
            ]
        cmd = [sys.executable, "-m", "airflow", component]
        if component == "api-server":
            cmd += ["--host", "127.0.0.1", "--port", str(self.port)]
        if component in ("scheduler", "triggerer"):
            cmd.append("--skip-serve-logs")  # its log server would listen on every interface
        return cmd

    def start(self) -> None:
        """Start every component, its output in ``logs/components/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_backing()
        for name in self.components:
            out = (self.log_dir / f"{name}.log").open("ab")
            self._logs.append(out)
            self.procs[name] = subprocess.Popen(
                self.command(name),
                env=self.component_env(name),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pids = {"launcher": os.getpid(), **{n: p.pid for n, p in self.procs.items()}}
        if self._backing is not None and self._backing[1].proc is not None:
            pids["redis-server"] = self._backing[1].proc.pid
        (self.home / PID_FILE).write_text(json.dumps(pids) + "\n", encoding="utf-8")

    def exited(self) -> dict[str, int]:
        """Components that have exited, with their return codes."""
        return {n: rc for n, p in self.procs.items() if (rc := p.poll()) is not None}

    def health(self) -> dict[str, Any] | None:
        """``/api/v2/monitor/health`` (no login needed), None while the API server is not up."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as r:
                return dict(json.load(r))
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 120) -> None:
        """Until the API server answers and reports each started component healthy."""
        want = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if gone := self.exited():
                raise AirflowNotReady(f"exited: {gone}; see {self.log_dir}")
            h = self.health()
            if h is not None and self.password_file.exists():
                states = [h.get(key, {}).get("status") for c, key in want.items() if c in self.components]
                if (
                    h.get("metadatabase", {}).get("status") == "healthy"
                    and all(s == "healthy" for s in states)
                    and all(self.worker_ready(w) for w in self.components if w in CELERY_WORKERS)
                ):
                    return
            time.sleep(1)
        raise AirflowNotReady(f"not healthy after {timeout_s:.0f} s: {self.health()}; see {self.log_dir}")

    def worker_ready(self, worker: str) -> bool:
        """Celery says ``<node> ready.`` in the worker's log once it consumes its queues."""
        log = self.log_dir / f"{worker}.log"
        return (
            log.exists()
            and re.search(rf"\b{re.escape(worker)}@\S+ ready\.", log.read_text(errors="replace")) is not None
        )

    def send(self, component: str, sig: signal.Signals) -> None:
        """A signal to a component's process group (its task processes too)."""
        _signal_group(self.procs[component].pid, sig)

    def kill(self, component: str) -> None:
        """SIGKILL a component's process group at once (its running tasks too): a crash."""
        self.send(component, signal.SIGKILL)
        self.procs.pop(component).wait()

    def password(self) -> str:
        """The user's password, generated by the API server on its first start."""
        return str(json.loads(self.password_file.read_text(encoding="utf-8"))[self.user])

    def token(self) -> str:
        """A REST API token: ``POST /auth/token`` with the user and password."""
        body = json.dumps({"username": self.user, "password": self.password()}).encode()
        req = urllib.request.Request(
            f"{self.url}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return str(json.load(r)["access_token"])

    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
        """One REST API call (``/api/v2/...``) with a bearer token; the JSON answer."""
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}") from e

    def unpause(self, token: str) -> list[str]:
        """Unpause the DAGs already in the database (a ``dag.test`` run of ``make demo`` left
        them paused); new ones are created unpaused. Returns the DAGs unpaused."""
        done = []
        for d in self.api("GET", "/api/v2/dags?paused=true", token)["dags"]:
            self.api("PATCH", f"/api/v2/dags/{d['dag_id']}?update_mask=is_paused", token, {"is_paused": False})
            done.append(str(d["dag_id"]))
        return done

    def stop(self, grace_s: float = 20) -> None:
        """SIGTERM to every component's process group (its task processes too), SIGKILL after
        ``grace_s``; safe to call twice and after a failed start."""
        for p in self.procs.values():
            if p.poll() is None:
                _signal_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():
            _signal_group(p.pid, signal.SIGKILL)  # whatever is left of the group, tasks included
            p.wait()
        for f in self._logs:
            f.close()
        self._logs.clear()
        self.stop_backing()
        (self.home / PID_FILE).unlink(missing_ok=True)

    def __enter__(self) -> AirflowServers:
        try:
            self.start()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def say(text: str, stream: IO[str] = sys.stdout) -> None:
    """One line (or a few) to the operator's terminal, at once."""
    stream.write(text + "\n")
    stream.flush()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def prepare_landing(landing: Path) -> bool:
    """Deliver the committed sample into ``landing`` when it has no municipality folder yet
    (``make demo`` has not run), so the first ``jumin_ingest`` run has sets to accept."""
    if landing.is_dir() and any(p.is_dir() and (p / "inbox").is_dir() for p in landing.iterdir()):
        return False
    from extract.inbox import deliver_local

    for folder in sorted(p for p in SAMPLE_LANDING.iterdir() if p.is_dir()):
        deliver_local(folder, landing, folder.name)
    return True


def stop_running(home: Path) -> int:
    """``make airflow-stop``: SIGTERM to the launcher named in the pid file (it stops the
    components), and to the components' groups should the launcher be gone."""
    pid_file = home / PID_FILE
    if not pid_file.exists():
        say(f"no Airflow started by make airflow under {home}")
        return 0
    pids: dict[str, int] = json.loads(pid_file.read_text(encoding="utf-8"))
    try:
        os.kill(pids["launcher"], signal.SIGTERM)
        say(f"stopping the Airflow servers (launcher pid {pids['launcher']}) ...")
        deadline = time.monotonic() + 40
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        say("stopped" if not pid_file.exists() else f"still stopping after 40 s; see {home}/logs/components/")
    except ProcessLookupError:
        for name, pid in pids.items():
            if name != "launcher":
                _signal_group(pid, signal.SIGTERM)
        pid_file.unlink(missing_ok=True)
        say("the launcher was gone; sent SIGTERM to the components")
        if (home / SECRETS_FILE).exists():  # the production profile's PostgreSQL outlives them
            AirflowServers(home, 0, home, home, profile="celery").backing()[0].stop()
            say("stopped PostgreSQL")
    return 0


def _lake_root(lake: str) -> Path:
    """The lake the components share: a local folder (made absolute) or an ``s3://`` URI,
    reached with the launcher's own AWS settings (docs/operations.md, "Object-store lake")."""
    root = lake_path(lake)
    return root if is_remote(root) else root.resolve()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make airflow`` and ``make airflow-stop``."""
    paths = default_paths()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", nargs="?", choices=("run", "stop"), default="run")
    ap.add_argument("--home", default=os.environ.get("AIRFLOW_HOME", str(REPO / ".airflow")))
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--landing", default=paths["landing"])
    ap.add_argument("--lake", default=paths["lake"])
    ap.add_argument("--profile", choices=("local", "celery"), default="local", help="celery: the production profile")
    ap.add_argument("--pg-port", type=int, default=55432, help="the production profile's PostgreSQL port")
    ap.add_argument("--redis-port", type=int, default=56379, help="the production profile's Redis port")
    args = ap.parse_args(argv)
    home = Path(args.home).resolve()
    if args.action == "stop":
        return stop_running(home)
    servers = AirflowServers(
        home,
        args.port,
        Path(args.landing).resolve(),
        _lake_root(args.lake),
        components=CELERY_COMPONENTS if args.profile == "celery" else COMPONENTS,
        profile=args.profile,
        pg_port=args.pg_port,
        redis_port=args.redis_port,
    )
    if prepare_landing(servers.landing):
        say(f"delivered the committed sample into {servers.landing}")
    started = time.monotonic()
    try:
        if servers.celery:
            say(f"starting PostgreSQL on 127.0.0.1:{args.pg_port} and Redis on 127.0.0.1:{args.redis_port} ...")
        say("migrating the metadata database ...")
        servers.migrate()
    except (AirflowNotReady, OSError) as e:
        servers.stop_backing()
        say(f"Airflow did not come up: {e}", sys.stderr)
        return 1

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (in the background)
    try:
        say(f"starting {', '.join(servers.components)}; their logs: {servers.log_dir}/")
        servers.start()
        servers.wait_ready()
        if unpaused := servers.unpause(servers.token()):
            say(f"unpaused {', '.join(unpaused)}")
        say(
            f"\nAirflow is up: {servers.url}/\n"
            f"  login     {servers.user} / {servers.password()}   (passwords: {servers.password_file})\n"
            f"  landing   {servers.landing}   (JUMIN_LANDING)\n"
            f"  lake      {servers.lake}   (JUMIN_LAKE)\n"
            + (
                f"  executor  CeleryExecutor, workers {', '.join(CELERY_WORKERS)}; PostgreSQL 127.0.0.1:{args.pg_port},"
                f" Redis 127.0.0.1:{args.redis_port} (passwords: {home / SECRETS_FILE})\n"
                "  stop      Ctrl-C here, or make airflow-celery-stop\n"
                if servers.celery
                else "  stop      Ctrl-C here, or make airflow-stop\n"
            )
            + f"  started   in {time.monotonic() - started:.0f} s\n"
        )
        while not (gone := servers.exited()):
            time.sleep(1)
        say(f"a component exited: {gone}; see {servers.log_dir}; stopping the others", sys.stderr)
        return 1
    except KeyboardInterrupt:
        say("\nstopping the Airflow servers ...")
        return 0
    except AirflowNotReady as e:
        say(f"Airflow did not come up: {e}", sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        servers.stop()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
