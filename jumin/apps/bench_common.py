"""What every benchmark of ``make bench`` shares: one forked process per measured step (its
peak RSS is its own), the ``BENCH <name> <value> <unit>`` line, the generated population."""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LG_CODES = ["131016", "141038", "012025"]


def _child(fn: Callable[..., Any], args: tuple[Any, ...], q: Any) -> None:
    start = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # worker processes the step started (e.g. key functions over cores): their largest peak
    # added to our own, an upper bound of what the step held at once
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    q.put((elapsed, (own + workers) * 1024))


def measure(fn: Callable[..., Any], *args: Any) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of ``fn(*args)`` run in a fresh forked process (peak: the
    process's own plus the largest of the worker processes it started, if any)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn, args, q))
    p.start()
    p.join()
    if p.exitcode != 0:
        raise RuntimeError(f"benchmark step {fn.__name__} failed with exit code {p.exitcode}")
    elapsed, rss = q.get()
    return elapsed, rss


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
