"""Crash recovery: every stage, killed at any point, is finished by the next run of the same
command, with nothing done twice and nothing lost: the lake (and, for ingest, the landing zone's
inboxes and archive) is byte-identical to an uninterrupted run.

Two kinds of kill:

- **SIGKILL of the CLI** (``python -m jumin.apps.cli ingest|validate|return-receipts|snapshot|delta``; the
  Data Docs pages are rendered by ``validate`` over sets already validated) over a copy of the
  committed sample. A clean run first measures its *work window*: from the first to the last
  change of what is compared. Kill points are seeded offsets spread over that window
  (stratified: one per slice, jittered by the seed) and counted from the first change the
  killed run itself makes, so they land in the middle of the stage's writes, not while Python
  imports; the test requires at least one kill to have hit a process that had started writing
  and had not finished. No hook in the code under test: only time and the file system.
- **SIGKILL at a commit point** (deterministic): the same CLI, started through a wrapper in
  this file that counts ``os.replace``/``os.rename`` (every atomic write, the move to raw, the
  archive moves) and SIGKILLs its own process instead of rename number ``k``, for ``k`` spread
  over all of them: a killed write leaves its complete temporary file, a killed move half a set.
- **A kill between two moves of the archive** (in process, deterministic): the inbox's rename
  raises after ``k`` moves, for every ``k`` with the local inbox, every third with the SFTP one.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest

from expectations.main import validate_municipality
from extract.inbox import deliver_local
from extract.main import ingest_municipality
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree
from jumin.apps.landing.keys import generate_client_key, zone_settings
from jumin.core.files import sha256_file
from jumin.core.landing import LandingTree
from tests.conftest import REPO

pytestmark = [pytest.mark.integration]

SAMPLE = REPO / "sample_data" / "landing"
LG_CODES = sorted(p.name for p in SAMPLE.iterdir())
CLI = [sys.executable, "-m", "jumin.apps.cli"]
#: kill points per stage (one per slice of the work window)
KILLS = {"ingest": 6, "validate": 2, "data_docs": 2, "snapshot": 3, "delta": 3, "reconcile": 2, "deliver": 2}
CONTRACTS = [
    str(REPO / "load" / "deliver" / "contracts" / f"{c}.yaml") for c in ("vaccination_65plus", "child_benefit")
]
#: the delivery's time of record for the ledger: a rerun after a kill logs the same entries
AT = "2026-11-02T09:00:00+09:00"
SEED = 20261101


# --------------------------------------------------------------------------- trees


def digest(root: Path, skip: Callable[[str], bool] = lambda _: False) -> dict[str, str]:
    """Every folder, file (sha256) and link under ``root``, hidden ones included, by path."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in dirs + files:
            p = here / name
            rel = p.relative_to(root).as_posix()
            if skip(rel):
                continue
            if p.is_symlink():
                out[rel] = f"link {os.readlink(p)}"
            elif p.is_dir():
                out[rel + "/"] = "folder"
            else:
                out[rel] = sha256_file(p)
    return out


def shape(root: Path, skip: Callable[[str], bool]) -> list[tuple[str, int]]:
    """A cheap signature of a tree (names and sizes) to see when a process writes to it."""
    out = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(folder, name)
            rel = os.path.relpath(p, root)
            try:
                if not skip(rel):
                    out.append((rel, os.lstat(p).st_size))
            except FileNotFoundError:
                pass
    return sorted(out)


def is_data_docs_page(rel: str) -> bool:
    """A Data Docs page, or the temporary file of one being written."""
    return rel.startswith("docs/") and ".html" in rel


def is_reconcile_scratch(rel: str) -> bool:
    """The national step's work tables (rebuilt by every run, read by its own tasks only) and
    the lake's review secret (random by design, made once: a killed first run may leave one)."""
    return rel.startswith(("reconcile/work/", "reference/review_key")) or "/.review_key" in rel


# --------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class Stage:
    """A CLI command over a work folder holding ``landing/`` and ``lake/``."""

    name: str
    argv: Callable[[Path], list[str]]
    #: the folders of the work folder compared with the clean run
    watched: tuple[str, ...]
    #: paths (relative to a watched folder) left out of the comparison
    skip: Callable[[str], bool] = lambda _: False

    def state(self, work: Path) -> dict[str, dict[str, str]]:
        return {w: digest(work / w, self.skip) for w in self.watched}

    def shape(self, work: Path) -> list[list[tuple[str, int]]]:
        return [shape(work / w, self.skip) for w in self.watched]


STAGES = {
    "ingest": Stage(
        "ingest", lambda w: ["ingest", "--landing", str(w / "landing"), "--lake", str(w / "lake")], ("lake", "landing")
    ),
    # validate renders the Data Docs pages too; they are compared in the data_docs case
    "validate": Stage("validate", lambda w: ["validate", "--lake", str(w / "lake")], ("lake",), is_data_docs_page),
    # over validated sets without pages, validate only renders the Data Docs pages
    "data_docs": Stage("data_docs", lambda w: ["validate", "--lake", str(w / "lake")], ("lake",)),
    "return_receipts": Stage(
        "return_receipts",
        lambda w: ["return-receipts", "--landing", str(w / "landing"), "--lake", str(w / "lake")],
        ("lake", "landing"),
    ),
    "snapshot": Stage(
        "snapshot",
        lambda w: ["snapshot", "--lake", str(w / "lake"), "--as-of", "2026-11-01", "--until", "2026-11-03"],
        ("lake",),
    ),
    "delta": Stage(
        "delta",
        lambda w: ["delta", "--lake", str(w / "lake"), "--to", "2026-11-02", "--until", "2026-11-03"],
        ("lake",),
    ),
    "reconcile": Stage(
        "reconcile",
        lambda w: ["reconcile", "--lake", str(w / "lake"), "--as-of", "2026-11-01"],
        ("lake",),
        is_reconcile_scratch,
    ),
    "deliver": Stage(
        "deliver",
        lambda w: (
            ["deliver", "--lake", str(w / "lake"), "--as-of", "2026-11-01", "--at", AT]
            + [a for c in CONTRACTS for a in ("--contract", c)]
        ),
        ("lake",),
        is_reconcile_scratch,
    ),
    "publish": Stage(
        "publish",
        lambda w: (
            ["publish", "--lake", str(w / "lake"), "--landing", str(w / "landing")]
            + [a for c in CONTRACTS for a in ("--contract", c)]
        ),
        ("lake", "landing"),
        is_reconcile_scratch,
    ),
}
#: the stage whose clean output is a stage's input (None: the delivered sample)
BEFORE = {
    "ingest": None,
    "validate": "ingest",
    "data_docs": None,
    "return_receipts": "validate",
    "snapshot": "validate",
    "delta": "snapshot",
    "reconcile": "snapshot",
    "deliver": "reconcile",
    "publish": "deliver",
}


@dataclass
class Clean:
    """An uninterrupted run of a stage: its input, its output, its work window (seconds from
    the start of the process) and its exit code."""

    before: Path
    after: Path
    window: tuple[float, float]
    code: int


def run(stage: Stage, work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + stage.argv(work), capture_output=True, text=True, timeout=60)


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def timed_run(stage: Stage, work: Path) -> tuple[tuple[float, float], int, str]:
    """Run ``stage`` to completion, watching when it first and last changes what is compared:
    its work window, in seconds from the start."""
    start = time.monotonic()
    proc = subprocess.Popen(CLI + stage.argv(work), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen, first, last = stage.shape(work), None, 0.0
    while proc.poll() is None:
        now = stage.shape(work)
        if now != seen:
            last = time.monotonic() - start
            first = last if first is None else first
            seen = now
        time.sleep(0.002)
    end = time.monotonic() - start
    _, err = proc.communicate()
    return (end, end) if first is None else (first, last), proc.returncode, err


class Runs:
    """Clean runs of the stages, each made once, chained: a stage starts from the clean output of
    the one before it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, Clean] = {}

    def sample(self) -> Path:
        work = self.root / "sample"
        if not work.exists():
            for code in LG_CODES:
                deliver_local(SAMPLE / code, work / "landing", code)
            (work / "lake").mkdir()
        return work

    def validated_without_pages(self) -> Path:
        work = self.root / "validated"
        if not work.exists():
            copy(self.clean("ingest").after, work)
            for code in LG_CODES:
                validate_municipality(work / "lake", code)
        return work

    def reconciled_with_secrets(self) -> Path:
        """The reconciled lake with the deployment's secrets made (random by design, made once
        on first use: a clean run and a killed one must start from the same)."""
        from load.deliver.ledger import file_key_source
        from load.deliver.privacy import master_key

        work = self.root / "reconciled"
        if not work.exists():
            copy(self.clean("reconcile").after, work)
            master_key(work / "lake")
            file_key_source(work / "lake")()
        return work

    def delivered_with_outboxes(self) -> Path:
        """The delivered lake with the example SaaS's outboxes on the landing zone."""
        from load.deliver.contract import load_contract

        work = self.root / "delivered"
        if not work.exists():
            copy(self.clean("deliver").after, work)
            for c in CONTRACTS:
                LandingTree(work / "landing").saas_outbox(load_contract(c).account).mkdir(parents=True)
        return work

    def clean(self, name: str) -> Clean:
        if name not in self.cache:
            before_name = BEFORE[name]
            if name == "data_docs":
                before = self.validated_without_pages()
            elif name == "deliver":
                before = self.reconciled_with_secrets()
            elif name == "publish":
                before = self.delivered_with_outboxes()
            else:
                before = self.sample() if before_name is None else self.clean(before_name).after
            after = copy(before, self.root / f"clean-{name}")
            window, code, err = timed_run(STAGES[name], after)
            assert code == 0, f"clean {name} run: exit {code}\n{err}"
            self.cache[name] = Clean(before, after, window, code)
        return self.cache[name]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("crash"))


def kill_offsets(name: str, window: tuple[float, float]) -> list[float]:
    """Seeded offsets from the first change, one in each of ``KILLS[name]`` slices of the
    clean run's work window (from its first to its last change)."""
    rng = random.Random(f"{SEED}-{name}")
    first, end = window
    n = KILLS[name]
    return [(end - first) * (i + rng.uniform(0.1, 0.9)) / n for i in range(n)]


def run_and_kill(stage: Stage, work: Path, offset: float) -> bool:
    """Start ``stage``, SIGKILL it ``offset`` seconds after it first changed its folders (or
    when it ends); True when it had finished by then."""
    initial = stage.shape(work)
    proc = subprocess.Popen(CLI + stage.argv(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_at = None
    while proc.poll() is None:
        if kill_at is None and stage.shape(work) != initial:
            kill_at = time.monotonic() + offset
        if kill_at is not None and time.monotonic() >= kill_at:
            break
        time.sleep(0.002)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return finished


@pytest.mark.timeout(120)
# return-receipts writes for ~10 ms, too short to aim at by time: it is killed at its commit points
@pytest.mark.parametrize("name", list(KILLS))
def test_killed_stage_is_finished_by_the_next_run(name: str, runs: Runs, tmp_path: Path) -> None:
    stage, clean = STAGES[name], runs.clean(name)
    expected = stage.state(clean.after)
    assert expected != stage.state(clean.before), "the stage does something"
    report, mid_stage = [], 0
    for i, offset in enumerate(kill_offsets(name, clean.window)):
        work = copy(clean.before, tmp_path / f"kill-{i}")
        finished = run_and_kill(stage, work, offset)
        at_kill = stage.state(work)
        mid = not finished and at_kill not in (stage.state(clean.before), expected)
        mid_stage += mid
        rerun = run(stage, work)
        report.append(f"kill {offset:.3f} s after the first write: finished={finished} mid-stage={mid}")
        assert rerun.returncode == 0, f"{name}: {report[-1]}: rerun exit {rerun.returncode}\n{rerun.stderr}"
        got = stage.state(work)
        for w in stage.watched:
            diff = {
                "missing": sorted(set(expected[w]) - set(got[w])),
                "extra": sorted(set(got[w]) - set(expected[w])),
                "differ": sorted(k for k in set(got[w]) & set(expected[w]) if got[w][k] != expected[w][k]),
            }
            assert diff == {"missing": [], "extra": [], "differ": []}, f"{name} {w}: {report[-1]}"
    logging.getLogger(__name__).info("%s, work window %.3f-%.3f s:\n%s", name, *clean.window, "\n".join(report))
    assert mid_stage >= 1, f"{name}: no kill landed in the middle of the stage:\n" + "\n".join(report)


# --------------------------------------------------------------------------- at every commit point

#: runs the CLI with ``os.replace`` and ``os.rename`` (every atomic write, the raw move and the
#: archive moves go through them) counting, and SIGKILLing the process itself instead of rename
#: number ``CRASH_KILL_AT`` (0-based; -1: never); at exit it writes the count to ``CRASH_COUNT``.
#: Only this test process is instrumented: the code under test has no hook.
KILLER = """
import atexit, os, runpy, signal, sys
limit, done = int(os.environ["CRASH_KILL_AT"]), [0]
def wrap(real):
    def rename(*args, **kwargs):
        if done[0] == limit:
            os.kill(os.getpid(), signal.SIGKILL)
        done[0] += 1
        return real(*args, **kwargs)
    return rename
os.replace, os.rename = wrap(os.replace), wrap(os.rename)
def count():
    with open(os.environ["CRASH_COUNT"], "w") as f:
        f.write(str(done[0]))
atexit.register(count)
sys.argv[0] = "jumin"
runpy.run_module("jumin.apps.cli", run_name="__main__", alter_sys=True)
"""
#: commit points killed per stage (spread evenly over all of them, always the first and last)
COMMIT_KILLS = {
    "ingest": 10,
    "validate": 3,
    "data_docs": 2,
    "return_receipts": 5,
    "snapshot": 5,
    "delta": 5,
    "reconcile": 3,
    "deliver": 4,
    "publish": 5,
}


def run_killer(stage: Stage, work: Path, kill_at: int) -> tuple[int, int]:
    """Exit code and renames done of the instrumented CLI."""
    counter = work.parent / f"{work.name}.count"
    env = {**os.environ, "CRASH_KILL_AT": str(kill_at), "CRASH_COUNT": str(counter)}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, *stage.argv(work)], env=env, capture_output=True, text=True, timeout=60
    )
    done = int(counter.read_text()) if counter.exists() else kill_at
    counter.unlink(missing_ok=True)
    return proc.returncode, done


def spread(total: int, n: int) -> list[int]:
    """``n`` indexes spread evenly over ``range(total)``, first and last included."""
    if total <= n:
        return list(range(total))
    return sorted({round(i * (total - 1) / (n - 1)) for i in range(n)})


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(STAGES))
def test_stage_killed_at_a_commit_point_is_finished_by_the_next_run(name: str, runs: Runs, tmp_path: Path) -> None:
    stage, clean = STAGES[name], runs.clean(name)
    expected = stage.state(clean.after)
    counted = copy(clean.before, tmp_path / "count")
    code, total = run_killer(stage, counted, -1)
    assert code == 0 and stage.state(counted) == expected, "the instrumented run is the clean run"
    assert total > 1, f"{name}: {total} renames"
    for k in spread(total, COMMIT_KILLS[name]):
        work = copy(clean.before, tmp_path / f"kill-{k}")
        code, _ = run_killer(stage, work, k)
        assert code == -signal.SIGKILL, f"{name}: not killed at rename {k} of {total}"
        rerun = run(stage, work)
        assert rerun.returncode == 0, (
            f"{name}, killed at rename {k} of {total}: rerun exit {rerun.returncode}\n{rerun.stderr}"
        )
        got = stage.state(work)
        for w in stage.watched:
            diff = {
                "missing": sorted(set(expected[w]) - set(got[w])),
                "extra": sorted(set(got[w]) - set(expected[w])),
                "differ": sorted(x for x in set(got[w]) & set(expected[w]) if got[w][x] != expected[w][x]),
            }
            assert diff == {"missing": [], "extra": [], "differ": []}, f"{name} {w}: killed at rename {k} of {total}"


# --------------------------------------------------------------------------- the archive move


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs (not even ``except Exception``)."""


def killing_after(
    limit: int, real: Callable[..., Any], source_of: Callable[[tuple[Any, ...]], str], inboxes: set[str]
) -> Callable[..., Any]:
    """``real`` (a rename) that "kills" the process instead of its move number ``limit + 1`` out
    of one of ``inboxes`` (``limit`` < 0: never)."""
    done = [0]

    def rename(*args: Any) -> Any:
        if limit >= 0 and os.path.dirname(source_of(args)) in inboxes:
            if done[0] == limit:
                raise Killed(f"killed after {limit} moves")
            done[0] += 1
        return real(*args)

    return rename


def state_of(landing: Path, lake: Path) -> dict[str, dict[str, str]]:
    return {"landing": digest(landing), "lake": digest(lake)}


#: entries an uninterrupted ingest of the sample archives
MOVES = sum(len(list((SAMPLE / code).iterdir())) for code in LG_CODES)


def interrupted_archive_then_rerun(source: str | Path, lake: Path, limit: int, patch: Callable[[int], None]) -> None:
    """Ingest every municipality with the archive killed after ``limit`` moves, then again."""
    patch(limit)
    with pytest.raises(Killed):
        for code in LG_CODES:
            ingest_municipality(source, lake, code)
    patch(-1)
    for code in LG_CODES:
        results = ingest_municipality(source, lake, code)
        assert all(r.status in ("parsed", "already_ingested") for r in results), results


def test_local_archive_killed_between_moves_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = tmp_path / "clean"
    for code in LG_CODES:
        deliver_local(SAMPLE / code, clean / "landing", code)
    pristine = copy(clean, tmp_path / "pristine")
    for code in LG_CODES:
        ingest_municipality(clean / "landing", clean / "lake", code)
    expected = state_of(clean / "landing", clean / "lake")
    real = os.replace
    for limit in range(MOVES):
        work = copy(pristine, tmp_path / f"kill-{limit}")
        inboxes = {str(LandingTree(work / "landing").inbox(c)) for c in LG_CODES}

        def patch(n: int) -> None:
            monkeypatch.setattr(os, "replace", killing_after(n, real, lambda a: str(a[0]), inboxes))  # noqa: B023

        interrupted_archive_then_rerun(work / "landing", work / "lake", limit, patch)
        assert state_of(work / "landing", work / "lake") == expected, f"killed after {limit} of {MOVES} moves"


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LandingConfig, str]]:
    tmp = tmp_path_factory.mktemp("zone")
    config = LandingConfig(root=tmp / "root", state=tmp / "state", port=0)
    key, pub = generate_client_key(tmp / "keys", "jumin")
    prepare_tree(config, LG_CODES, {"jumin": pub})
    with EmbeddedSftpServer(config) as server:
        yield config, zone_settings(config, server.port, "jumin", key, 10).to_uri()


def test_sftp_archive_killed_between_moves_is_completed(
    zone: tuple[LandingConfig, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, uri = zone
    tree = LandingTree(config.root)

    def deliver(empty_only: bool = False) -> None:
        for code in LG_CODES:
            for folder in (tree.inbox(code), tree.archive(code), tree.outbox(code)):
                for p in folder.iterdir():
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            if not empty_only:
                deliver_local(SAMPLE / code, config.root, code)

    real = paramiko.SFTPClient.posix_rename
    inboxes = {f"/{c}/inbox" for c in LG_CODES}

    def patch(n: int) -> None:
        monkeypatch.setattr(paramiko.SFTPClient, "posix_rename", killing_after(n, real, lambda a: a[1], inboxes))

    try:
        deliver()
        for code in LG_CODES:
            ingest_municipality(uri, tmp_path / "clean", code)
        expected = state_of(config.root, tmp_path / "clean")
        for limit in range(0, MOVES, 3):  # every third kill point keeps the test short
            deliver()
            lake = tmp_path / f"kill-{limit}"
            interrupted_archive_then_rerun(uri, lake, limit, patch)
            assert state_of(config.root, lake) == expected, f"killed after {limit} of {MOVES} moves"
    finally:
        deliver(empty_only=True)
