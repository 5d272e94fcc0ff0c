"""``make airflow``: Airflow's components as servers on loopback, over the demo landing and lake.

What ``airflow standalone`` does, with the settings the project needs and nothing left to
chance: a project-local ``AIRFLOW_HOME`` with SQLite and the LocalExecutor, the api-server bound
to 127.0.0.1 on one port that the execution API URL follows (the tasks call back to it), the
SimpleAuthManager with one admin user whose generated password is kept in ``AIRFLOW_HOME``, the
log servers off (the api-server reads the task logs from ``AIRFLOW_HOME/logs`` itself) and the
lake and landing the DAGs use set once, as ``JUMIN_LAKE`` and ``JUMIN_LANDING``.

``python -m jumin.apps.airflow [--port 8080]`` runs until Ctrl-C (or SIGTERM, which
``python -m jumin.apps.airflow stop`` sends); :class:`AirflowServers` is the same thing for a test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
SAMPLE_LANDING = REPO / "sample_data" / "landing"
#: Airflow 3's development auth manager: users in the config, generated passwords in a file
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: the four components ``airflow standalone`` runs, each its own process
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: the file naming the launcher's and the components' process ids, for ``stop``
PID_FILE = "jumin-airflow.pids.json"


class AirflowNotReady(RuntimeError):
    """A component exited, or the servers did not report healthy in time."""


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
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False)

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
        env.update(self.settings)
        return env

    def migrate(self) -> None:
        """Create or upgrade the SQLite metadata database."""
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=self.env(), check=True, capture_output=True
        )

    def command(self, component: str) -> list[str]:
        cmd = [sys.executable, "-m", "airflow", component]
        if component == "api-server":
            cmd += ["--host", "127.0.0.1", "--port", str(self.port)]
        if component in ("scheduler", "triggerer"):
            cmd.append("--skip-serve-logs")  # its log server would listen on every interface
        return cmd

    def start(self) -> None:
        """Start every component, its output in ``logs/components/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        for name in self.components:
            out = (self.log_dir / f"{name}.log").open("ab")
            self._logs.append(out)
            self.procs[name] = subprocess.Popen(
                self.command(name), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        pids = {"launcher": os.getpid(), **{n: p.pid for n, p in self.procs.items()}}
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
                if h.get("metadatabase", {}).get("status") == "healthy" and all(s == "healthy" for s in states):
                    return
            time.sleep(1)
        raise AirflowNotReady(f"not healthy after {timeout_s:.0f} s: {self.health()}; see {self.log_dir}")

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
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make airflow`` and ``make airflow-stop``."""
    paths = default_paths()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", nargs="?", choices=("run", "stop"), default="run")
    ap.add_argument("--home", default=os.environ.get("AIRFLOW_HOME", str(REPO / ".airflow")))
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--landing", default=paths["landing"])
    ap.add_argument("--lake", default=paths["lake"])
    args = ap.parse_args(argv)
    home = Path(args.home).resolve()
    if args.action == "stop":
        return stop_running(home)
    servers = AirflowServers(home, args.port, Path(args.landing).resolve(), Path(args.lake).resolve())
    if prepare_landing(servers.landing):
        say(f"delivered the committed sample into {servers.landing}")
    say(f"migrating the metadata database {home / 'airflow.db'} ...")
    servers.migrate()

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
            "  stop      Ctrl-C here, or make airflow-stop\n"
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
