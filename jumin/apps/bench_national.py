"""The national plan in ``make bench`` (issue 12, part 5): each stage's cost measured per
municipality at three sizes, a fit of how it grows with residents, and a simulated national
run (1,741 municipalities, 125M residents) on N workers of this machine's size.

Measured here, each step in its own forked process (:func:`bench_common.measure`):

- per municipality: ingest (``extract.main.ingest_municipality``), validate
  (``expectations.main.validate_municipality``), snapshot (``load.main.snapshot_municipality``)
  and the municipality's parts of the reconciliation: its keying (``transform.reconcile.keyed.
  key_municipality``, the DAG's mapped ``key`` task) and its reconcile
  (``load.reconcile.reconcile_day`` with ``prepared=True``, as the DAG's mapped task runs it);
- national: the day's national step of the reconciliation (``transform.reconcile.main.
  prepare_day`` over the keyed tables, the linking model trained: its first run of the day) and
  each example contract's delivery and seal (``load.deliver.main.stage_delivery`` and
  ``seal_delivery``: one per contract, over every staged municipality), at the lake's total
  residents.

At each of :data:`SIZES` a population is generated for one municipality and staged into a lake
of its own (:data:`REPEATS` times, a fresh lake each time, the fastest run reported), so the
national steps are measured at a national total of that size (separately generated
municipalities cannot share a lake: their random 住民票コード collide).

The plan itself is pure and unit-tested (tests/test_national.py): :func:`sizes` (the
documented distribution of the municipalities' residents, docs/national.md), :func:`fit_linear`
and :func:`fit_power`, :func:`plan_tasks` (stage × municipality with the pipeline's
dependencies) and :func:`simulate` (list scheduling on N workers, largest remaining work first:
LPT for independent tasks).
"""

from __future__ import annotations

import heapq
import math
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jumin.apps.bench_common import environment, measure, report

KIJUNBI = "2026-11-01"
#: residents of the three measured municipalities (×4 apart; the largest near the big cities)
SIZES = (40_000, 160_000, 640_000)
#: each size is staged this many times, each time into a fresh lake; the fastest run counts
REPEATS = 2
#: the measured municipality (a real code of the committed table), one lake per size
MEASURED_CODE = "141038"
#: workers of the printed plans; the target is stated for 16
WORKERS = (4, 16, 64)
TARGET_WORKERS = 16
TARGET_S = 3600.0
#: parts the largest municipality's work is split into in the what-if (by 町字 or a hash of the
#: person key; modelled only, the pipeline does not split a municipality)
SPLIT_PARTS = 4
#: shards of the national steps in the what-if (a hash of the blocking key for prepare_day, of
#: the municipality for a delivery; modelled only)
NATIONAL_SHARDS = 16
#: DuckDB's memory limit of the spill measurement: the national step rerun at the largest size
#: under a limit well below what it otherwise holds
SPILL_LIMIT = "512MB"

MUNICIPAL_STAGES = ("ingest", "validate", "snapshot", "key", "reconcile")
NATIONAL_STAGES = ("prepare",)  # and per contract a delivery and its seal, "deliver_<c>", "seal_<c>"
#: national steps per contract: its delivery (in parallel), then its seal (the ledger append and
#: the manifest; one seal at a time, the ledger being one hash chain)
PER_CONTRACT = ("deliver_", "seal_")

# --- the distribution of the municipalities' sizes (docs/national.md, "The distribution") ---

#: municipalities of the nation: 市区町村 with the 23 特別区, a 政令市 as one (the committed
#: table's shikuchoson + seireishi rows)
MUNICIPALITIES = 1_741
#: residents of the nation (住民基本台帳, rounded)
NATION = 125_000_000
#: the 20 政令市, residents in thousands (2020 国勢調査, rounded to the thousand): real anchors
ANCHORS: dict[str, tuple[str, int]] = {
    "141003": ("横浜市", 3_777),
    "271004": ("大阪市", 2_752),
    "231002": ("名古屋市", 2_332),
    "011002": ("札幌市", 1_973),
    "401307": ("福岡市", 1_612),
    "141305": ("川崎市", 1_538),
    "281000": ("神戸市", 1_525),
    "261009": ("京都市", 1_464),
    "111007": ("さいたま市", 1_324),
    "341002": ("広島市", 1_201),
    "041009": ("仙台市", 1_097),
    "121002": ("千葉市", 975),
    "401005": ("北九州市", 939),
    "271403": ("堺市", 826),
    "221309": ("浜松市", 791),
    "151009": ("新潟市", 789),
    "431001": ("熊本市", 739),
    "141500": ("相模原市", 725),
    "331007": ("岡山市", 725),
    "221007": ("静岡市", 693),
}
#: the other municipalities: quantiles of a lognormal of this median ...
REST_MEDIAN = 25_000
#: ... truncated at the largest municipality that is not a 政令市 (世田谷区, 943k in 2020)
REST_CAP = 950_000


def _rest(n: int, total: int, median: float, cap: float, sigma: float) -> list[float]:
    """``n`` sizes: the quantiles at (i − ½)/n of a lognormal (``median``, ``sigma``) truncated
    at ``cap``, largest first."""
    dist = statistics.NormalDist()
    top = dist.cdf(math.log(cap / median) / sigma)
    return [median * math.exp(sigma * dist.inv_cdf(top * (1 - (i + 0.5) / n))) for i in range(n)]


def sizes(
    count: int = MUNICIPALITIES,
    total: int = NATION,
    anchors: Mapping[str, tuple[str, int]] = ANCHORS,
    median: float = REST_MEDIAN,
    cap: float = REST_CAP,
) -> list[tuple[str, int]]:
    """(municipality, residents) of the nation, largest first: the anchors as they are
    (thousands → residents), the other ``count − len(anchors)`` from the truncated lognormal
    whose spread is solved (bisection) so that everything sums to ``total``; the rounding rest
    goes to the smallest, so the sum is exact. Those are named ``rule-0001`` … by rank."""
    named = [(code, k * 1000) for code, (_, k) in anchors.items()]
    n, rest = count - len(named), total - sum(r for _, r in named)
    if n <= 0 or rest <= n:
        raise ValueError(f"{count} municipalities cannot sum to {total} with these anchors")
    lo, hi = 1e-3, 10.0  # the truncated mean grows with sigma over this range
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(_rest(n, rest, median, cap, mid)) < rest:
            lo = mid
        else:
            hi = mid
    values = [max(1, round(v)) for v in _rest(n, rest, median, cap, (lo + hi) / 2)]
    values[-1] += rest - sum(values)
    if values[-1] < 1:
        raise ValueError("the distribution cannot reach the total with this median and cap")
    out = named + [(f"rule-{i + 1:04d}", v) for i, v in enumerate(values)]
    return sorted(out, key=lambda m: (-m[1], m[0]))


# --- fits ---


@dataclass(frozen=True)
class Fit:
    """Cost of a task over ``n`` residents (seconds, or bytes of memory): ``a + b·n`` (linear),
    ``a·n^k`` (power) or ``a`` whatever ``n`` (bounded)."""

    kind: str
    a: float
    b: float

    def __call__(self, n: float) -> float:
        if self.kind == "linear":
            return self.a + self.b * n
        if self.kind == "bounded":
            return self.a
        return self.a * math.pow(n, self.b)


def fit_linear(ns: Sequence[float], ts: Sequence[float]) -> Fit:
    """Least squares ``t = a + b·n``; a negative intercept (the fixed cost lost in the noise) is
    refitted through the origin, so a small municipality never costs less than nothing."""
    mean_n, mean_t = statistics.fmean(ns), statistics.fmean(ts)
    sxx = sum((n - mean_n) ** 2 for n in ns)
    if sxx == 0:
        raise ValueError("a fit needs at least two different sizes")
    b = sum((n - mean_n) * (t - mean_t) for n, t in zip(ns, ts, strict=True)) / sxx
    a = mean_t - b * mean_n
    if a < 0:
        a, b = 0.0, sum(n * t for n, t in zip(ns, ts, strict=True)) / sum(n * n for n in ns)
    return Fit("linear", a, max(b, 0.0))


def fit_power(ns: Sequence[float], ts: Sequence[float]) -> Fit:
    """Least squares on logs: ``log t = log a + k·log n``; ``b`` holds the exponent ``k``."""
    xs, ys = [math.log(n) for n in ns], [math.log(t) for t in ts]
    k, log_a = statistics.linear_regression(xs, ys)
    return Fit("power", math.exp(log_a), k)


# --- the simulator ---


@dataclass(frozen=True)
class Task:
    name: str
    seconds: float
    deps: tuple[str, ...] = ()
    #: the municipality the task belongs to ("" for a national step)
    municipality: str = ""


@dataclass(frozen=True)
class Schedule:
    makespan: float
    #: task name → (start, end, worker)
    slots: dict[str, tuple[float, float, int]]


def priorities(tasks: Sequence[Task]) -> dict[str, float]:
    """Each task's bottom level: its own time plus the longest chain of tasks that wait on it
    (for independent tasks, its own time: LPT)."""
    by_name = {t.name: t for t in tasks}
    after: dict[str, list[str]] = {t.name: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            if d not in by_name:
                raise ValueError(f"task {t.name} waits on unknown task {d}")
            after[d].append(t.name)
    level: dict[str, float] = {}
    for name in reversed(_topological(tasks)):
        level[name] = by_name[name].seconds + max((level[s] for s in after[name]), default=0.0)
    return level


def _topological(tasks: Sequence[Task]) -> list[str]:
    waiting = {t.name: len(t.deps) for t in tasks}
    after: dict[str, list[str]] = {t.name: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            after[d].append(t.name)
    ready = sorted(n for n, k in waiting.items() if k == 0)
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for s in after[name]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    if len(order) != len(tasks):
        raise ValueError("the tasks' dependencies have a cycle")
    return order


def simulate(tasks: Sequence[Task], workers: int) -> Schedule:
    """List scheduling on ``workers`` identical workers: whenever a worker is free, it takes the
    ready task (every dependency finished) of the largest bottom level (:func:`priorities`; ties
    by name), and runs it to the end. Pure and deterministic."""
    if workers < 1:
        raise ValueError("at least one worker")
    if len({t.name for t in tasks}) != len(tasks):
        raise ValueError("task names must be unique")
    level = priorities(tasks)
    by_name = {t.name: t for t in tasks}
    waiting = {t.name: len(t.deps) for t in tasks}
    after: dict[str, list[str]] = {t.name: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            after[d].append(t.name)
    ready = [(-level[n], n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    free = list(range(workers))
    heapq.heapify(free)
    running: list[tuple[float, int, str]] = []  # (end, worker, task)
    slots: dict[str, tuple[float, float, int]] = {}
    now = 0.0
    while ready or running:
        while ready and free:
            _, name = heapq.heappop(ready)
            worker = heapq.heappop(free)
            end = now + by_name[name].seconds
            slots[name] = (now, end, worker)
            heapq.heappush(running, (end, worker, name))
        now, worker, name = heapq.heappop(running)
        finished = [(worker, name)]
        while running and running[0][0] == now:  # everything ending at the same moment
            _, w, n = heapq.heappop(running)
            finished.append((w, n))
        for w, n in finished:
            heapq.heappush(free, w)
            for s in after[n]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, (-level[s], s))
    return Schedule(max((end for _, end, _ in slots.values()), default=0.0), slots)


# --- the national plan ---


def plan_tasks(
    population: Sequence[tuple[str, int]],
    fits: Mapping[str, Fit],
    split: Mapping[str, int] | None = None,
    national_shards: int = 1,
) -> list[Task]:
    """The national run's tasks: per municipality ingest → validate → snapshot, its ``key``
    once every snapshot is staged (the reconcile DAG starts when the snapshot DAG is done; no
    ``key`` tasks when ``fits`` has none), the national step ``prepare`` once every municipality
    is keyed, then each municipality's ``reconcile``, and
    each contract's delivery (``fits`` keys ``deliver_<contract>``) once every reconciliation is
    staged. ``split`` cuts a municipality's work into k parts of n/k residents (each part its
    own chain and its own reconcile); ``national_shards`` cuts the national steps into that many
    parts of N/shards residents each (a what-if: the pipeline splits neither)."""
    split = split or {}
    nation = sum(n for _, n in population)
    tasks: list[Task] = []
    snapshots, reconciles = [], []
    for code, n in population:
        k = split.get(code, 1)
        for part in range(k):
            tag = code if k == 1 else f"{code}#{part}"
            prev: tuple[str, ...] = ()
            for stage in ("ingest", "validate", "snapshot"):
                tasks.append(Task(f"{stage}:{tag}", fits[stage](n / k), prev, code))
                prev = (f"{stage}:{tag}",)
            snapshots.append(f"snapshot:{tag}")
            reconciles.append(tag)
    residents = dict(population)
    ready = tuple(snapshots)
    if "key" in fits:
        for tag in reconciles:
            code = tag.split("#")[0]
            tasks.append(Task(f"key:{tag}", fits["key"](residents[code] / split.get(code, 1)), tuple(snapshots), code))
        ready = tuple(f"key:{tag}" for tag in reconciles)
    prepare = [f"prepare#{s}" if national_shards > 1 else "prepare" for s in range(national_shards)]
    for name in prepare:
        tasks.append(Task(name, fits["prepare"](nation / national_shards), ready))
    for tag in reconciles:
        code = tag.split("#")[0]
        tasks.append(
            Task(f"reconcile:{tag}", fits["reconcile"](residents[code] / split.get(code, 1)), tuple(prepare), code)
        )
    reconciled = tuple(f"reconcile:{tag}" for tag in reconciles)
    sealed: tuple[str, ...] = ()  # the seals in a chain: one at a time, in contract order
    for stage in sorted(s for s in fits if s.startswith("deliver_")):
        seal = "seal_" + stage.removeprefix("deliver_")
        for s in range(national_shards):
            name = f"{stage}#{s}" if national_shards > 1 else stage
            tasks.append(Task(name, fits[stage](nation / national_shards), reconciled))
            if seal in fits:
                tasks.append(
                    Task(name.replace("deliver_", "seal_", 1), fits[seal](nation / national_shards), (name, *sealed))
                )
                sealed = (tasks[-1].name,)
    return tasks


def own_path(tasks: Sequence[Task], municipality: str) -> float:
    """The time a municipality's own work takes with a worker for each of its parts: its
    longest ingest → validate → snapshot chain, then its longest reconcile."""
    staged: dict[str, float] = {}
    reconciled = 0.0
    for t in tasks:
        if t.municipality != municipality:
            continue
        stage, tag = t.name.split(":", 1)
        if stage == "reconcile":
            reconciled = max(reconciled, t.seconds)
        else:
            staged[tag] = staged.get(tag, 0.0) + t.seconds
    return max(staged.values(), default=0.0) + reconciled


def shards_to_fit(rss: Mapping[str, Fit], nation: float, memory: float, limit: int = 100_000) -> int:
    """The fewest shards k for which every national step's fitted peak RSS at nation/k residents
    is at most ``memory`` bytes (one worker's)."""
    for k in range(1, limit + 1):
        if all(f(nation / k) <= memory for f in rss.values()):
            return k
    raise ValueError(f"no split into at most {limit} shards fits in {memory / 2**30:.1f} GiB")


def memory_bytes() -> int:
    """This machine's physical memory: one worker's."""

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# --- the measurement (make bench) ---


def _generate_one(out: Path, lg_code: str, residents: int, seed: int) -> None:
    from jumin.dev.generate import generate

    generate(out, [lg_code], residents, seed=seed, kijunbi=KIJUNBI)


def _ingest(landing: Path, lake: Path, lg_code: str) -> None:
    from extract.main import ingest_municipality

    ingest_municipality(landing, lake, lg_code)


def _validate(lake: Path, lg_code: str) -> None:
    from expectations.main import validate_municipality

    validate_municipality(lake, lg_code)


def _snapshot(lake: Path, lg_code: str) -> None:
    from load.main import snapshot_municipality

    snapshot_municipality(lake, lg_code, KIJUNBI)


def _key(lake: Path, lg_code: str) -> None:
    from transform.reconcile.keyed import key_municipality

    key_municipality(lake, KIJUNBI, lg_code)  # as the DAG's mapped key task


def _prepare(lake: Path) -> None:
    from transform.reconcile.main import prepare_day

    # the keyed tables are there; the model is trained by the first run (as by the day's
    # first run), reused by a rerun (spill), which then links only
    prepare_day(lake, KIJUNBI)


def spill(lake: Path, contracts: Sequence[str], rows: Path) -> dict[str, tuple[float, int]]:
    """The national steps (and the municipality's keying, which holds the most of its stages)
    run again over ``lake`` (its deliveries and ledger left out, so they
    log for real), as configured and under :data:`SPILL_LIMIT`, side by side: ``<step>_<how>``
    → (seconds, peak RSS bytes). What is over DuckDB's limit spills to its temporary folder,
    so a step's memory is bounded by the limit, not by the nation."""
    import shutil

    from jumin.core.duck import MEMORY_LIMIT_ENV

    out: dict[str, tuple[float, int]] = {}
    for how, limit in (("as_configured", None), ("capped", SPILL_LIMIT)):
        copy = lake.with_name(f"{lake.name}-{how}")
        shutil.copytree(lake, copy, ignore=shutil.ignore_patterns("deliver", "ledger", "published"))
        with environment({MEMORY_LIMIT_ENV: limit}):  # DuckDB's limit for the steps forked meanwhile
            out[f"key_{how}"] = measure(_key, copy, MEASURED_CODE)  # the municipal step bounded alike
            out[f"prepare_{how}"] = measure(_prepare, copy)
            for c in contracts:
                out[f"deliver_{c}_{how}"] = measure(_deliver, copy, c, rows)
                out[f"seal_{c}_{how}"] = measure(_seal, copy, c)
        shutil.rmtree(copy)
    return out


def bounded(spilled: Mapping[str, tuple[int, float, int]], stage: str) -> Fit:
    """A national step's peak memory at any size: its DuckDB memory limit as configured plus
    what it holds besides DuckDB, read off its capped rerun (that peak less
    :data:`SPILL_LIMIT`). Reports the spill measurement of the step."""
    from jumin.core.duck import DuckConfig, parse_bytes
    from transform.config import RECONCILE_DUCK

    n, capped_s, capped_rss = spilled[f"{stage}_capped"]
    _, free_s, free_rss = spilled[f"{stage}_as_configured"]
    base = max(0, capped_rss - parse_bytes(SPILL_LIMIT))
    report(f"national_{stage}_rerun_{n}_residents_s", free_s, "s")
    report(f"national_{stage}_rerun_{n}_residents_peak_rss_mib", free_rss / 2**20, "MiB")
    report(f"national_{stage}_rerun_capped_{SPILL_LIMIT}_s", capped_s, "s")
    report(f"national_{stage}_rerun_capped_{SPILL_LIMIT}_peak_rss_mib", capped_rss / 2**20, "MiB")
    report(f"national_{stage}_capped_vs_configured_s", capped_s / free_s, "x")
    report(f"national_{stage}_besides_duckdb_mib", base / 2**20, "MiB")
    limit = RECONCILE_DUCK.memory_limit if stage in ("key", "prepare") else DuckConfig().memory_limit
    return Fit("bounded", parse_bytes(limit) + base, 0.0)


def _reconcile(lake: Path, lg_code: str) -> None:
    from load.reconcile import reconcile_day

    reconcile_day(lake, KIJUNBI, [lg_code], prepared=True)


def _deliver(lake: Path, contract: str, out: Path) -> None:
    from load.deliver.contract import example_contracts
    from load.deliver.main import stage_delivery

    staged = stage_delivery(lake, example_contracts()[contract], KIJUNBI)  # as the DAG's deliver task
    out.write_text(str(staged.rows), encoding="utf-8")


def _seal(lake: Path, contract: str) -> None:
    import datetime as dt

    from load.deliver.contract import example_contracts
    from load.deliver.main import seal_delivery

    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    seal_delivery(lake, example_contracts()[contract], KIJUNBI, at)  # as the DAG's seal task


#: residents of the tiny municipality copied under every code for :func:`per_file_costs`
TINY = 200


def _national_codes() -> list[str]:
    """The nation's municipality codes: the committed table's 市区町村 and 政令市 rows."""
    from jumin.core.municipalities import load_table

    codes = sorted(c for c, m in load_table().items() if m.kind in ("shikuchoson", "seireishi"))
    if len(codes) != MUNICIPALITIES:
        raise RuntimeError(f"the committed table has {len(codes)} municipalities, not {MUNICIPALITIES}")
    return codes


def _fake_nation(work: Path) -> Path:
    """A lake whose every municipality of the nation has the staged 住基 and 宛名 snapshots, the
    accepted 住基 sets and the current keyed tables of one tiny generated municipality
    (copied, with the ``keyed.json`` its inputs give): the national step's per-municipality
    files at the nation's count, with almost no rows."""
    import shutil

    from extract.inbox import deliver_local
    from jumin.core.lake import Lake
    from transform.reconcile.keyed import key_inputs, keyed_tables, write_marker

    gen, landing, lake = (work / f"national-tiny-{part}" for part in ("gen", "landing", "lake"))
    _generate_one(gen, MEASURED_CODE, TINY, seed=7)
    deliver_local(gen / "landing" / MEASURED_CODE, landing, MEASURED_CODE)
    _ingest(landing, lake, MEASURED_CODE)
    _validate(lake, MEASURED_CODE)
    _snapshot(lake, MEASURED_CODE)
    _key(lake, MEASURED_CODE)
    the_lake = Lake(lake)
    for code in _national_codes():
        if code == MEASURED_CODE:
            continue
        for layout in ("juki", "atena"):
            src = the_lake.snapshot(layout, KIJUNBI, KIJUNBI, MEASURED_CODE)
            shutil.copytree(src, the_lake.snapshot(layout, KIJUNBI, KIJUNBI, code))
        shutil.copytree(the_lake.accepted_folder("juki", MEASURED_CODE), the_lake.accepted_folder("juki", code))
        shutil.copytree(the_lake.reconcile_keyed(KIJUNBI, MEASURED_CODE), the_lake.reconcile_keyed(KIJUNBI, code))
        write_marker(the_lake, key_inputs(the_lake, KIJUNBI, code))
    # current, so the measurement checks and reads them and keys nothing
    if keyed_tables(the_lake, KIJUNBI, code) is None:
        raise RuntimeError(f"national bench: the fake nation's keyed tables of {code} are not current")
    shutil.rmtree(gen)
    shutil.rmtree(landing)
    return lake


def _check_keyed(lake: str | Path) -> None:
    from jumin.core.lake import Lake
    from transform.reconcile.keyed import keyed_day, staged_municipalities

    the_lake = Lake.at(lake)
    codes = staged_municipalities(the_lake, KIJUNBI)
    if len(codes) < MUNICIPALITIES:
        raise RuntimeError(f"national bench: the fake nation has {len(codes)} municipalities")
    keyed_day(the_lake, KIJUNBI, codes)


def _check_and_read_keyed(lake: str | Path) -> None:
    import tempfile

    from jumin.core import duck
    from jumin.core.lake import Lake
    from transform.config import RECONCILE_DUCK
    from transform.reconcile.keyed import keyed_day, staged_municipalities
    from transform.reconcile.main import load_keyed

    the_lake = Lake.at(lake)
    keyed = keyed_day(the_lake, KIJUNBI, staged_municipalities(the_lake, KIJUNBI))
    con = duck.connect(RECONCILE_DUCK)
    with tempfile.TemporaryDirectory(prefix="jumin-bench-keyed-") as tmp:
        load_keyed(con, the_lake, keyed, Path(tmp))
    rows = duck.scalar(con, "atena_keyed", "SELECT count(*) FROM atena_keyed")
    if not rows:
        raise RuntimeError("national bench: the fake nation's keyed tables read no rows")


def per_file_costs(work: Path, remote: str | None = None) -> tuple[float, float]:
    """What the national step spends per municipality beyond its rows, at the nation's 1,741
    municipalities (:func:`_fake_nation`): (seconds checking every ``keyed.json`` against the
    snapshot manifests, seconds checking and reading every municipality's keyed tables). With
    ``remote`` (an ``s3://`` lake root), the fake nation is put there and measured there."""
    import shutil

    lake: str | Path = _fake_nation(work)
    if remote:
        from pyarrow import fs as pafs

        from jumin.core.store import arrow_filesystem

        target = remote.removeprefix("s3://").rstrip("/")
        pafs.copy_files(str(lake), target, pafs.LocalFileSystem(), arrow_filesystem(), use_threads=True)
        shutil.rmtree(lake)
        lake = remote
    check, _ = measure(_check_keyed, lake)
    both, _ = measure(_check_and_read_keyed, lake)
    if not remote:
        shutil.rmtree(lake)
    return check, both


def measure_stages(work: Path, sizes_: Sequence[int] = SIZES) -> dict[str, list[tuple[int, float, int]]]:
    """(residents, seconds, peak RSS bytes) of every stage at each size, each size a lake of
    its own holding one municipality (module docstring)."""
    import shutil

    from extract.inbox import deliver_local
    from load.deliver.contract import example_contracts

    got: dict[str, list[tuple[int, float, int]]] = {}
    contracts = sorted(example_contracts())
    for n, run in ((n, run) for n in sizes_ for run in range(REPEATS)):
        gen, landing, lake = (work / f"national-{part}-{n}" for part in ("gen", "landing", "lake"))
        if run == 0:
            _generate_one(gen, MEASURED_CODE, n, seed=7)
        deliver_local(gen / "landing" / MEASURED_CODE, landing, MEASURED_CODE)
        steps: list[tuple[str, Callable[..., None], tuple[object, ...]]] = [
            ("ingest", _ingest, (landing, lake, MEASURED_CODE)),
            ("validate", _validate, (lake, MEASURED_CODE)),
            ("snapshot", _snapshot, (lake, MEASURED_CODE)),
            ("key", _key, (lake, MEASURED_CODE)),
            ("prepare", _prepare, (lake,)),
            ("reconcile", _reconcile, (lake, MEASURED_CODE)),
        ]
        rows = work / "national-rows.txt"
        for c in contracts:
            steps += [(f"deliver_{c}", _deliver, (lake, c, rows)), (f"seal_{c}", _seal, (lake, c))]
        for stage, fn, args in steps:
            s, rss = measure(fn, *args)
            if run == 0:
                got.setdefault(stage, []).append((n, s, rss))
            else:  # the least disturbed run: on a shared machine noise only adds time
                _, s0, rss0 = got[stage][-1]
                got[stage][-1] = (n, min(s, s0), max(rss, rss0))
            if fn is _deliver and not int(rows.read_text(encoding="utf-8")):
                raise RuntimeError(f"national bench: {stage} delivered no rows from {n} residents")
        if run == 0 and n == max(sizes_):
            for label, (s, rss) in spill(lake, contracts, rows).items():
                got[f"spill_{label}"] = [(n, s, rss)]
        for folder in (gen, landing, lake) if run == REPEATS - 1 else (landing, lake):
            shutil.rmtree(folder, ignore_errors=True)
    return got


def bench_national(work: Path, sizes_: Sequence[int] = SIZES) -> None:
    """The measured costs, their fits and the national plan, as BENCH lines."""
    measured = measure_stages(work, sizes_)
    spilled = {k.removeprefix("spill_"): measured.pop(k)[0] for k in [k for k in measured if k.startswith("spill_")]}
    fits: dict[str, Fit] = {}
    power: dict[str, Fit] = {}
    national_rss: dict[str, Fit] = {}
    for stage, points in measured.items():
        ns, ts = [p[0] for p in points], [p[1] for p in points]
        for n, s, rss in points:
            report(f"national_{stage}_{n}_residents_s", s, "s")
            report(f"national_{stage}_{n}_residents_peak_rss_mib", rss / 2**20, "MiB")
        fits[stage], power[stage] = fit_linear(ns, ts), fit_power(ns, ts)
        report(f"national_fit_{stage}_a_s", fits[stage].a, "s")
        report(f"national_fit_{stage}_b_s_per_1m_residents", fits[stage].b * 1e6, "s")
        report(f"national_fit_{stage}_power_exponent", power[stage].b, "k")
        rss_fit = fit_linear(ns, [p[2] for p in points])
        national = stage in NATIONAL_STAGES or stage.startswith(PER_CONTRACT)
        if national:
            national_rss[stage] = rss_fit
        scale = NATION if national else sizes()[0][1]
        report(f"national_{stage}_at_{scale}_residents_peak_rss_gib", rss_fit(scale) / 2**30, "GiB")
    check, both = per_file_costs(work)
    report(f"national_prepare_check_{MUNICIPALITIES}_keyed_s", check, "s")
    report(f"national_prepare_check_and_read_{MUNICIPALITIES}_keyed_s", both, "s")
    # the fit saw one municipality's files: the nation's per-file costs join its fixed cost
    fits["prepare"] = Fit("linear", fits["prepare"].a + both, fits["prepare"].b)
    population = sizes()
    largest = population[0][0]
    report("national_municipalities", len(population), "municipalities")
    report("national_residents", sum(n for _, n in population), "residents")
    report("national_largest_residents", population[0][1], "residents")
    for stage in sorted(national_rss):
        if f"{stage}_capped" in spilled:
            national_rss[stage] = bounded(spilled, stage)
            report(f"national_{stage}_memory_bound_gib", national_rss[stage].a / 2**30, "GiB")
    if "key_capped" in spilled:  # the largest municipality's keying, bounded like the national steps
        report("national_key_memory_bound_gib", bounded(spilled, "key").a / 2**30, "GiB")
    memory = memory_bytes()
    fit_memory = shards_to_fit(national_rss, NATION, memory)
    report("national_worker_memory_gib", memory / 2**30, "GiB")
    report("national_shards_to_fit_memory", fit_memory, "shards")
    plans = {
        "": plan_tasks(population, fits),
        f"_split_largest_{SPLIT_PARTS}": plan_tasks(population, fits, {largest: SPLIT_PARTS}),
        f"_national_shards_{NATIONAL_SHARDS}": plan_tasks(population, fits, national_shards=NATIONAL_SHARDS),
        f"_national_shards_{fit_memory}": plan_tasks(population, fits, national_shards=fit_memory),
        "_power_fit": plan_tasks(population, power),
    }
    for label, tasks in plans.items():
        for workers in WORKERS if not label else (TARGET_WORKERS,):
            span = simulate(tasks, workers).makespan
            report(f"national_makespan_{workers}_workers{label}_h", span / 3600, "h")
            report(f"national_largest_share_{workers}_workers{label}", own_path(tasks, largest) / span, "ratio")
            if workers == TARGET_WORKERS:
                report(f"national_vs_target_{workers}_workers{label}", span / TARGET_S, "x")
    tasks = plans[""]
    serial = (
        sum(t.seconds for t in tasks if t.name == "prepare")
        + max(t.seconds for t in tasks if t.name.startswith("deliver_"))
        + sum(t.seconds for t in tasks if t.name.startswith("seal_"))
    )
    report("national_largest_own_path_h", own_path(tasks, largest) / 3600, "h")
    # prepare, the longest delivery, every seal after the other
    report("national_serial_steps_h", serial / 3600, "h")
