"""The national plan of ``make bench`` (jumin/apps/bench_national.py): the simulator on hand-made
cases with known makespans, the fits on synthetic data, the distribution of the municipalities."""

from __future__ import annotations

import math

import pytest

from jumin.apps.bench_national import (
    ANCHORS,
    MUNICIPALITIES,
    NATION,
    Fit,
    Task,
    fit_linear,
    fit_power,
    own_path,
    plan_tasks,
    priorities,
    shards_to_fit,
    simulate,
    sizes,
)
from jumin.core.municipalities import load_table

pytestmark = pytest.mark.unit


def _tasks(seconds: dict[str, float], deps: dict[str, tuple[str, ...]] | None = None) -> list[Task]:
    deps = deps or {}
    return [Task(n, s, deps.get(n, ())) for n, s in seconds.items()]


def test_lpt_on_independent_tasks() -> None:
    # the textbook case: LPT puts 3, 3 on the two workers, then 2, 2, then the last 2: 7
    # (the optimum, 3+3 | 2+2+2, is 6; LPT is at most 4/3 − 1/(3m) of it)
    tasks = _tasks({"a": 3, "b": 3, "c": 2, "d": 2, "e": 2})
    schedule = simulate(tasks, 2)
    assert schedule.makespan == 7
    assert [schedule.slots[n][0] for n in "abcde"] == [0, 0, 3, 3, 5]


def test_largest_first_not_in_given_order() -> None:
    # given smallest first: in that order the 4 would start at 2 and end at 6; largest first: 4
    tasks = _tasks({"s1": 1, "s2": 1, "s3": 1, "s4": 1, "big": 4})
    schedule = simulate(tasks, 2)
    assert schedule.slots["big"][0] == 0
    assert schedule.makespan == 4


def test_one_worker_sums_and_many_workers_give_the_longest() -> None:
    tasks = _tasks({"a": 5, "b": 2.5, "c": 1})
    assert simulate(tasks, 1).makespan == 8.5
    assert simulate(tasks, 10).makespan == 5


def test_dependencies_wait_and_the_critical_chain_goes_first() -> None:
    # chain x1 → x2 → x3 (1 + 1 + 1) and two independent tasks of 1.5: by own size p and q
    # would start first and the chain end at 1.5 + 3 = 4.5; its bottom level (3) puts x1
    # first, then x2 before q: x1 x2 x3 on one worker, p q on the other, 3
    tasks = _tasks({"x1": 1, "x2": 1, "x3": 1, "p": 1.5, "q": 1.5}, {"x2": ("x1",), "x3": ("x2",)})
    assert priorities(tasks) == {"x1": 3, "x2": 2, "x3": 1, "p": 1.5, "q": 1.5}
    schedule = simulate(tasks, 2)
    assert [schedule.slots[n][0] for n in ("x1", "x2", "x3", "p", "q")] == [0, 1, 2, 0, 1.5]
    assert schedule.makespan == 3
    for name, (start, _, _) in schedule.slots.items():
        for dep in next(t.deps for t in tasks if t.name == name):
            assert start >= schedule.slots[dep][1]


def test_a_join_waits_for_everything_before_it() -> None:
    # the national step: ready only when the last snapshot is staged, however many workers
    tasks = _tasks({"s1": 1, "s2": 3, "n": 2, "r1": 1, "r2": 1}, {"n": ("s1", "s2"), "r1": ("n",), "r2": ("n",)})
    schedule = simulate(tasks, 8)
    assert schedule.slots["n"][0] == 3
    assert schedule.makespan == 6


def test_bad_task_graphs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        simulate(_tasks({"a": 1}, {"a": ("nope",)}), 1)
    with pytest.raises(ValueError, match="cycle"):
        simulate(_tasks({"a": 1, "b": 1}, {"a": ("b",), "b": ("a",)}), 1)
    with pytest.raises(ValueError, match="worker"):
        simulate(_tasks({"a": 1}), 0)


def test_fits_recover_synthetic_costs() -> None:
    ns = [20_000, 80_000, 320_000]
    linear = fit_linear(ns, [2.0 + 3e-5 * n for n in ns])
    assert linear.a == pytest.approx(2.0)
    assert linear.b == pytest.approx(3e-5)
    assert linear(1_000_000) == pytest.approx(32.0)
    power = fit_power(ns, [1e-4 * n**1.2 for n in ns])
    assert power.b == pytest.approx(1.2)
    assert power(1_000_000) == pytest.approx(1e-4 * 1e6**1.2)


def test_a_negative_intercept_is_refitted_through_the_origin() -> None:
    fit = fit_linear([1, 2, 3], [0.5, 2.0, 3.5])  # a + b·n would be −1 + 1.5·n
    assert fit.a == 0
    assert fit.b == pytest.approx((0.5 + 4 + 10.5) / 14)
    assert fit(0.1) > 0
    with pytest.raises(ValueError):
        fit_linear([5, 5], [1, 2])


def test_the_distribution_sums_to_the_nation_with_the_real_largest() -> None:
    population = sizes()
    assert len(population) == MUNICIPALITIES
    assert sum(n for _, n in population) == NATION
    assert [c for c, _ in population[:3]] == ["141003", "271004", "231002"]  # 横浜市, 大阪市, 名古屋市
    assert population[0][1] == 3_777_000
    assert all(n >= 1 for _, n in population)
    assert [n for _, n in population] == sorted((n for _, n in population), reverse=True)
    rule = [n for c, n in population if c.startswith("rule-")]
    assert len(rule) == MUNICIPALITIES - len(ANCHORS)
    assert max(rule) < 950_000  # no rule municipality above the cap (世田谷区)
    assert 20_000 < sorted(n for _, n in population)[MUNICIPALITIES // 2] < 30_000  # the median


def test_the_anchors_are_the_tables_seireishi_and_the_count_its_municipalities() -> None:
    table = load_table()
    assert {c for c, m in table.items() if m.kind == "seireishi"} == set(ANCHORS)
    assert all(table[c].shikuchoson == name for c, (name, _) in ANCHORS.items())
    assert sum(1 for m in table.values() if m.kind in ("shikuchoson", "seireishi")) == MUNICIPALITIES


def test_the_distribution_refuses_an_impossible_total() -> None:
    with pytest.raises(ValueError):
        sizes(total=sum(k * 1000 for _, k in ANCHORS.values()))


FITS = {
    "ingest": Fit("linear", 1.0, 1e-5),
    "validate": Fit("linear", 1.0, 1e-5),
    "snapshot": Fit("linear", 1.0, 1e-5),
    "reconcile": Fit("linear", 1.0, 1e-5),
    "prepare": Fit("linear", 10.0, 1e-5),
    "deliver_a": Fit("linear", 5.0, 1e-5),
}


def test_plan_dependencies_and_costs() -> None:
    population = [("big", 1_000_000), ("small", 100_000)]
    tasks = {t.name: t for t in plan_tasks(population, FITS)}
    assert tasks["validate:big"].deps == ("ingest:big",)
    assert set(tasks["prepare"].deps) == {"snapshot:big", "snapshot:small"}
    assert tasks["reconcile:small"].deps == ("prepare",)
    assert set(tasks["deliver_a"].deps) == {"reconcile:big", "reconcile:small"}
    assert tasks["ingest:big"].seconds == pytest.approx(11)
    assert tasks["prepare"].seconds == pytest.approx(10 + 11)
    # big: 11 + 11 + 11, prepare 21, reconcile 11, deliver 16
    schedule = simulate(list(tasks.values()), 4)
    assert schedule.makespan == pytest.approx(33 + 21 + 11 + 16)
    assert own_path(list(tasks.values()), "big") == pytest.approx(44)


def test_splitting_the_largest_shortens_its_path() -> None:
    population = [("big", 1_000_000), ("small", 100_000)]
    whole = plan_tasks(population, FITS)
    split = plan_tasks(population, FITS, {"big": 4})
    assert sum(1 for t in split if t.municipality == "big") == 16
    assert {t.name for t in split if t.name.startswith("reconcile:big")} == {f"reconcile:big#{i}" for i in range(4)}
    # each part: 1 + 2.5 on each of the three stages, then its reconcile of 3.5
    assert own_path(split, "big") == pytest.approx(4 * 3.5)
    # with a worker for every chain: the four parts side by side
    assert simulate(split, 8).makespan == pytest.approx(3 * 3.5 + 21 + 3.5 + 16)
    assert simulate(whole, 8).makespan == pytest.approx(33 + 21 + 11 + 16)


def test_national_shards_divide_the_national_steps() -> None:
    population = [("m", 1_000_000)]
    tasks = plan_tasks(population, FITS, national_shards=4)
    prepare = [t for t in tasks if t.name.startswith("prepare#")]
    assert len(prepare) == 4 and all(t.seconds == pytest.approx(12.5) for t in prepare)
    assert all(t.deps == tuple(p.name for p in prepare) for t in tasks if t.name.startswith("reconcile:"))
    assert math.isclose(simulate(tasks, 4).makespan, 33 + 12.5 + 11 + 7.5)


def test_shards_to_fit_memory() -> None:
    rss = {"prepare": Fit("linear", 1.0, 1.0), "deliver_a": Fit("linear", 0.0, 0.5)}
    assert shards_to_fit(rss, 100, 101) == 1
    assert shards_to_fit(rss, 100, 100) == 2  # prepare: 1 + 100 > 100; 1 + 50 fits
    assert shards_to_fit(rss, 100, 11) == 10
    with pytest.raises(ValueError):
        shards_to_fit(rss, 100, 1)


def test_deliveries_run_side_by_side_and_their_seals_one_after_the_other() -> None:
    """The DAG's deliver tasks run in parallel, its seal tasks (the ledger appends) one at a
    time: with a worker for each, two deliveries take one delivery's time, their seals two."""
    fits = FITS | {
        "deliver_b": Fit("linear", 5.0, 1e-5),
        "seal_a": Fit("linear", 2.0, 0.0),
        "seal_b": Fit("linear", 3.0, 0.0),
    }
    tasks = {t.name: t for t in plan_tasks([("m", 1_000_000)], fits)}
    assert tasks["seal_a"].deps == ("deliver_a",)
    assert set(tasks["seal_b"].deps) == {"deliver_b", "seal_a"}
    assert tasks["deliver_b"].deps == tasks["deliver_a"].deps == ("reconcile:m",)
    # ingest → validate → snapshot 33, prepare 20, reconcile 11, the deliveries 15 side by side,
    # then the seals 2 + 3
    assert simulate(list(tasks.values()), 4).makespan == pytest.approx(33 + 20 + 11 + 15 + 2 + 3)


def test_a_national_step_bounded_by_duckdb_fits_any_nation() -> None:
    """Its memory is DuckDB's limit plus what it holds besides: the same at every size, so one
    shard fits a worker whose memory exceeds it (a linear fit never would, at some size)."""
    bounded = Fit("bounded", 7e9, 0.0)
    assert bounded(1) == bounded(125_000_000) == 7e9
    assert shards_to_fit({"prepare": bounded}, 125_000_000, 8e9) == 1
    assert shards_to_fit({"prepare": Fit("linear", 1e9, 100.0)}, 125_000_000, 8e9) > 1


def test_duckdb_sizes_read_as_duckdb_does() -> None:
    from jumin.core.duck import parse_bytes

    assert parse_bytes("512MB") == 512 * 10**6
    assert parse_bytes("6GB") == 6 * 10**9
    assert parse_bytes("1.5 GiB") == int(1.5 * 2**30)
    with pytest.raises(ValueError, match="not a DuckDB size"):
        parse_bytes("lots")


def test_the_deployment_sets_duckdbs_memory_limit_per_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """JUMIN_DUCKDB_MEMORY_LIMIT (a worker's memory over its tasks) wins over every stage's own
    limit; unset, the stage's own applies (DuckDB shows 6GB as 5.5 GiB, 512MB as 488.2 MiB)."""
    from jumin.core import duck
    from transform.config import RECONCILE_DUCK

    def limit() -> str:
        return str(duck.scalar(duck.connect(RECONCILE_DUCK), "limit", "SELECT current_setting('memory_limit')"))

    monkeypatch.delenv(duck.MEMORY_LIMIT_ENV, raising=False)
    assert limit() == "5.5 GiB"
    monkeypatch.setenv(duck.MEMORY_LIMIT_ENV, "512MB")
    assert limit() == "488.2 MiB"


def test_key_tasks_wait_for_every_snapshot_and_the_national_step_for_every_key() -> None:
    """The reconcile DAG starts once the snapshot DAG is done: each municipality's key task
    waits for every snapshot, the national step for every key task, a split municipality
    keyed in parts."""
    population = [("big", 1_000_000), ("small", 100_000)]
    fits = FITS | {"key": Fit("linear", 1.0, 1e-5)}
    tasks = {t.name: t for t in plan_tasks(population, fits)}
    assert set(tasks["key:small"].deps) == {"snapshot:big", "snapshot:small"}
    assert set(tasks["prepare"].deps) == {"key:big", "key:small"}
    assert tasks["key:big"].seconds == pytest.approx(11)
    # big: 33, its key 11, prepare 21, reconcile 11, deliver 16
    assert simulate(list(tasks.values()), 4).makespan == pytest.approx(33 + 11 + 21 + 11 + 16)
    assert own_path(list(tasks.values()), "big") == pytest.approx(55)
    split = plan_tasks(population, fits, {"big": 4})
    assert {t.name for t in split if t.name.startswith("key:big")} == {f"key:big#{i}" for i in range(4)}
