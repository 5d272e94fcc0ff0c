"""What every benchmark of ``make bench`` shares: one forked process per measured step (its
peak RSS is its own), the ``BENCH <name> <value> <unit>`` line, the generated population."""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LG_CODES = ["131016", "141038", "012025"]


#: how often :func:`measure` samples the memory of the step's process tree
SAMPLE_S = 0.05


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process below it, now (Linux /proc)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:  # gone meanwhile
            continue
        parent[int(entry)] = int(fields.get("PPid", "0"))
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier and p not in tree]
        tree.update(frontier)
    return sum(rss.get(p, 0) for p in tree)


def _child(fn: Callable[..., Any], args: tuple[Any, ...], q: Any) -> None:
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        # the step's process and the workers it starts, summed at each moment: the peak of
        # what the tree held at once (ru_maxrss of children would count each spawned worker's
        # moment as a fork of this process, before its exec)
        while not done.wait(SAMPLE_S):
            peak[0] = max(peak[0], _tree_rss(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # never below our own peak
    q.put((elapsed, max(own, peak[0])))


def measure(fn: Callable[..., Any], *args: Any) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of ``fn(*args)`` run in a fresh forked process (peak: the most
    the process and the worker processes it starts held at once, sampled every
    :data:`SAMPLE_S`, and never less than the process's own peak)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn, args, q))
    p.start()
    p.join()
    if p.exitcode != 0:
        raise RuntimeError(f"benchmark step {fn.__name__} failed with exit code {p.exitcode}")
    elapsed, rss = q.get()
    return elapsed, rss


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """The process's environment with ``values`` (None: unset) while the block runs, as it was
    afterwards; the steps :func:`measure` forks meanwhile inherit it."""

    def put(settings: Mapping[str, str | None]) -> None:
        for k, v in settings.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    saved = {k: os.environ.get(k) for k in values}
    try:
        put(values)
        yield
    finally:
        put(saved)


def report(name: str, value: float, unit: str) -> None:
    """One result line; the format is what runs are compared by."""
    sys.stdout.write(f"BENCH {name} {value:.3f} {unit}\n")
    sys.stdout.flush()


def _generate(out: Path, lg_codes: list[str], residents: int) -> None:
    from jumin.dev.generate import generate

    generate(out, lg_codes, residents, seed=7, kijunbi="2026-11-01")


def stage(gen: Path, lake: Path, lg_codes: list[str], kijunbi: str = "2026-11-01") -> None:
    """Ingest, validate and snapshot each generated municipality of ``gen`` into ``lake``."""
    from expectations.main import validate_municipality
    from extract.inbox import deliver_local
    from extract.main import ingest_municipality
    from load.main import snapshot_municipality

    landing = gen.parent / f"{gen.name}-landing"
    for code in lg_codes:
        deliver_local(gen / "landing" / code, landing, code)
        ingest_municipality(landing, lake, code)
        validate_municipality(lake, code)
        snapshot_municipality(lake, code, kijunbi)


def reconcile(lake: Path, kijunbi: str = "2026-11-01") -> None:
    """Reconcile every staged municipality of ``lake`` for the day."""
    from load.reconcile import reconcile_day

    reconcile_day(lake, kijunbi)
