"""Bitemporal snapshots and deltas on in-memory DuckDB, against a plain-Python reference."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jumin.core import duck
from jumin.core.layouts import ATENA, IDOJIYU, SHIEN, Layout, idojiyu_group
from jumin.core.schema import PARTITION_KEYS, arrow_schema
from transform.delta import compared_items, delta_sql
from transform.main import day_range
from transform.snapshot import snapshot_sql

pytestmark = [pytest.mark.unit]

D0 = dt.date(2026, 1, 1)
KISAI = sorted(c for c in IDOJIYU if idojiyu_group(c) == "記載")
SHOJO = sorted(c for c in IDOJIYU if idojiyu_group(c) == "消除")
SHUSEI = sorted(c for c in IDOJIYU if idojiyu_group(c) == "修正")


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def table(rows: list[dict], layout: Layout = ATENA) -> pa.Table:
    """Rows in the accepted schema (absent items NULL) with a row locator."""
    t = pa.Table.from_pylist(rows, schema=arrow_schema(layout))
    return t.append_column("_row", pa.array(range(len(rows)), pa.int64()))


CON = duck.connect()  # one in-memory database for every example keeps Hypothesis quick


def run_snapshot(
    rows: list[dict], as_of: dt.date, known_at: dt.date | None = None, layout: Layout = ATENA
) -> list[dict]:
    con = CON
    con.register("accepted", table(rows, layout))
    sql = snapshot_sql(
        layout,
        "accepted",
        "accepted",
        as_of.isoformat(),
        known_at.isoformat() if known_at else None,
        locator=("_row",),
        drop=(*PARTITION_KEYS, "_row"),
    )
    result: list[dict] = duck.arrow(con, "snapshot", sql).to_pylist()
    return result


def run_delta(old: list[dict], new: list[dict]) -> list[dict]:
    con = CON
    schema = arrow_schema(ATENA)
    for name, rows in (("old", old), ("new", new)):
        con.register(name, pa.Table.from_pylist(rows, schema=schema))
    changes: list[dict] = duck.arrow(con, "delta", delta_sql(ATENA, "old", "new")).to_pylist()
    return changes


def row(
    person: str,
    rireki: int,
    jiyu: str,
    ido: int,
    shori: int,
    kijunbi: int = 100,
    set_id: str = "a",
    shimei: str = "山田　太郎",
) -> dict:
    return {
        "atenabango": person,
        "rirekibango": rireki,
        "idojiyu": jiyu,
        "idobi": day(ido),
        "shoribi": day(shori),
        "kijunbi": day(kijunbi),
        "set_id": set_id,
        "shimei": shimei,
    }


def people(rows: list[dict]) -> list[tuple[str, int]]:
    return [(r["atenabango"], r["rirekibango"]) for r in rows]


# --------------------------------------------------------------------------- examples


def test_latest_row_per_person_and_shojo_ends_presence() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "30", 10, 10), row("2", 1, "11", 0, 0), row("2", 2, "21", 5, 5)]
    assert people(run_snapshot(rows, day(20))) == [("1", 2)]
    assert people(run_snapshot(rows, day(4))) == [("1", 1), ("2", 1)]


def test_late_recorded_change_appears_only_when_known() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "30", 10, 30)]
    assert run_snapshot(rows, day(20))[0]["rirekibango"] == 1
    assert run_snapshot(rows, day(20), known_at=day(30))[0]["rirekibango"] == 2


def test_former_resident_stays_as_jutogaisha_with_same_number() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "21", 10, 10), row("1", 3, "15", 10, 10)]
    got = run_snapshot(rows, day(10))
    assert [(r["atenabango"], r["rirekibango"], r["idojiyu"]) for r in got] == [("1", 3, "15")]


def test_shojo_then_kisai_again_brings_the_person_back() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "21", 10, 10), row("1", 3, "11", 20, 20)]
    assert people(run_snapshot(rows, day(15))) == []
    assert people(run_snapshot(rows, day(20))) == [("1", 3)]


def test_correction_in_a_later_set_counts_from_that_sets_kijunbi() -> None:
    rows = [
        row("1", 1, "10", 0, 0, kijunbi=50, set_id="old", shimei="山田　太郎"),
        row("1", 1, "10", 0, 0, kijunbi=60, set_id="new", shimei="山田　太朗"),
    ]
    assert run_snapshot(rows, day(55))[0]["shimei"] == "山田　太郎"
    assert run_snapshot(rows, day(55), known_at=day(60))[0]["shimei"] == "山田　太朗"
    # a backfill before both deliveries uses the first one
    assert run_snapshot(rows, day(10))[0]["set_id"] == "old"


def test_shien_in_force_on_the_kijunbi() -> None:
    rows = [
        {"atenabango": p, "kubun": "1", "kaishibi": day(a), "shuryobi": day(b), "kijunbi": day(100), "set_id": "s"}
        for p, a, b in [("1", 0, 365), ("2", 0, 5), ("3", 20, 400)]
    ]
    assert [r["atenabango"] for r in run_snapshot(rows, day(10), layout=SHIEN)] == ["1"]
    assert [r["atenabango"] for r in run_snapshot(rows, day(5), layout=SHIEN)] == ["1", "2"]


def test_delta_lists_added_removed_and_changed_items() -> None:
    a = row("1", 1, "10", 0, 0)
    old = run_snapshot([a, row("2", 1, "10", 0, 0)], day(5))
    new = run_snapshot([{**a, "shimei": "山田　一郎", "rirekibango": 2}, row("3", 1, "10", 0, 0)], day(5))
    got = [(r["change"], r["atenabango"], r["changed_items"]) for r in run_delta(old, new)]
    assert got == [("changed", "1", ["rirekibango", "shimei"]), ("removed", "2", []), ("added", "3", [])]


def test_day_range() -> None:
    assert day_range("2026-10-30", "2026-11-02") == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert day_range("2026-11-01") == ["2026-11-01"]


# --------------------------------------------------------------------------- reference


def reference_versions(rows: list[dict], known_at: dt.date) -> list[dict]:
    """Per history row key, the version known at ``known_at``."""
    by_key: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        by_key.setdefault((r["atenabango"], r["rirekibango"]), []).append(r)
    out = []
    for versions in by_key.values():
        known = [v for v in versions if v["kijunbi"] <= known_at]
        if known:
            out.append(max(known, key=lambda v: (v["kijunbi"], v["set_id"])))
        else:
            first = min(v["kijunbi"] for v in versions)
            out.append(max((v for v in versions if v["kijunbi"] == first), key=lambda v: v["set_id"]))
    return out


def reference_snapshot(rows: list[dict], as_of: dt.date, known_at: dt.date) -> dict[str, dict]:
    """The snapshot rule in plain Python: person -> row."""
    latest: dict[str, dict] = {}
    for r in reference_versions(rows, known_at):
        if r["idobi"] <= as_of and r["shoribi"] <= known_at:
            cur = latest.get(r["atenabango"])
            if cur is None or (r["idobi"], r["rirekibango"]) > (cur["idobi"], cur["rirekibango"]):
                latest[r["atenabango"]] = r
    return {p: r for p, r in latest.items() if idojiyu_group(r["idojiyu"]) != "消除"}


def reference_delta(old: dict[str, dict], new: dict[str, dict]) -> list[tuple]:
    items = compared_items(ATENA)
    out: list[tuple] = []
    for p in sorted(set(old) | set(new)):
        if p not in old:
            out.append(("added", p, []))
        elif p not in new:
            out.append(("removed", p, []))
        elif changed := [c for c in items if old[p].get(c) != new[p].get(c)]:
            out.append(("changed", p, changed))
    return out


@st.composite
def histories(draw: st.DrawFn) -> list[dict]:
    """Random histories: same-day changes, 処理日 out of order with 異動日, 消除 followed by a
    new 記載, and rows sent again (possibly corrected) in later upload sets."""
    rows = []
    for person in range(draw(st.integers(1, 5))):
        ido = 0
        code = draw(st.sampled_from(KISAI))
        for rireki in range(1, draw(st.integers(1, 6)) + 1):
            ido += draw(st.integers(0, 4))  # 0: a second change on the same day
            late = draw(st.integers(0, 8))  # recorded days later, out of order with others
            first = draw(st.integers(40, 60))
            rows.append(
                row(
                    str(person),
                    rireki,
                    code,
                    ido,
                    ido + late,
                    kijunbi=first,
                    set_id=draw(st.sampled_from("ab")),
                    shimei=draw(st.sampled_from(["山田　太郎", "山田　太朗"])),
                )
            )
            if draw(st.booleans()):  # sent again in a later set, maybe corrected
                again = dict(
                    rows[-1], kijunbi=day(first + draw(st.integers(0, 10))), set_id=draw(st.sampled_from("abc"))
                )
                if draw(st.booleans()):
                    again["shimei"] = "山田　一郎"
                if (again["kijunbi"], again["set_id"]) != (rows[-1]["kijunbi"], rows[-1]["set_id"]):
                    rows.append(again)
            # after a 消除 the person may come back with a 記載; otherwise any code
            code = draw(st.sampled_from(KISAI if idojiyu_group(code) == "消除" else KISAI + SHOJO + SHUSEI))
    return rows


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(0, 40), st.integers(0, 20), st.integers(0, 10), st.integers(0, 30))
def test_snapshots_and_delta_match_reference(
    rows: list[dict], as_of: int, knowledge: int, step: int, later_knowledge: int
) -> None:
    old_as_of, old_known = day(as_of), day(as_of + knowledge)
    new_as_of, new_known = day(as_of + step), day(as_of + step + later_knowledge)
    old = run_snapshot(rows, old_as_of, old_known)
    new = run_snapshot(rows, new_as_of, new_known)
    ref_old = reference_snapshot(rows, old_as_of, old_known)
    ref_new = reference_snapshot(rows, new_as_of, new_known)
    for got, ref in ((old, ref_old), (new, ref_new)):
        assert [(r["atenabango"], r["rirekibango"], r["set_id"], r["shimei"]) for r in got] == [
            (p, r["rirekibango"], r["set_id"], r["shimei"]) for p, r in sorted(ref.items())
        ]
    got_delta = [(r["change"], r["atenabango"], r["changed_items"]) for r in run_delta(old, new)]
    assert got_delta == reference_delta(
        {p: {c: r.get(c) for c in compared_items(ATENA)} for p, r in ref_old.items()},
        {p: {c: r.get(c) for c in compared_items(ATENA)} for p, r in ref_new.items()},
    )
