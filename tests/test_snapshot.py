"""Point-in-time snapshot SQL on in-memory DuckDB, against a plain-Python reference."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from jumin.layouts import ATENA, IDOJIYU, SHIEN, idojiyu_group
from transform import duck
from transform.snapshot import snapshot_sql

D0 = dt.date(2026, 1, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def run_snapshot(rows: list[dict], as_of: dt.date, known_at: dt.date | None = None,
                 layout=ATENA) -> list[dict]:
    con = duck.connect()
    con.register("accepted", pa.Table.from_pylist(rows))
    sql = snapshot_sql(layout, "accepted", as_of.isoformat(),
                       known_at.isoformat() if known_at else None)
    return duck.arrow(con, "snapshot", sql).to_pylist()


def row(person: str, rireki: int, jiyu: str, ido: int, shori: int, kijunbi: int = 100,
        set_id: str = "a") -> dict:
    return {"atenabango": person, "rirekibango": rireki, "idojiyu": jiyu, "idobi": day(ido),
            "shoribi": day(shori), "kijunbi": day(kijunbi), "set_id": set_id}


def test_latest_row_per_person_and_shojo_ends_presence() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "30", 10, 10),
            row("2", 1, "11", 0, 0), row("2", 2, "21", 5, 5)]
    assert [(r["atenabango"], r["rirekibango"]) for r in run_snapshot(rows, day(20))] == [("1", 2)]
    assert [(r["atenabango"], r["rirekibango"]) for r in run_snapshot(rows, day(4))] == [
        ("1", 1), ("2", 1)]


def test_late_recorded_change_appears_only_when_known() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "30", 10, 30)]
    assert run_snapshot(rows, day(20))[0]["rirekibango"] == 1
    assert run_snapshot(rows, day(20), known_at=day(30))[0]["rirekibango"] == 2


def test_former_resident_stays_as_jutogaisha_with_same_number() -> None:
    rows = [row("1", 1, "10", 0, 0), row("1", 2, "21", 10, 10), row("1", 3, "15", 10, 10)]
    got = run_snapshot(rows, day(10))
    assert [(r["atenabango"], r["rirekibango"], r["idojiyu"]) for r in got] == [("1", 3, "15")]


def test_later_upload_set_wins_for_the_same_key() -> None:
    rows = [row("1", 1, "10", 0, 0, kijunbi=50, set_id="old"),
            row("1", 1, "13", 0, 0, kijunbi=60, set_id="new")]
    got = run_snapshot(rows, day(10))
    assert [(r["idojiyu"], r["set_id"]) for r in got] == [("13", "new")]


def test_shien_in_force_on_the_kijunbi() -> None:
    rows = [{"atenabango": p, "kubun": "1", "kaishibi": day(a), "shuryobi": day(b),
             "kijunbi": day(100), "set_id": "s"} for p, a, b in
            [("1", 0, 365), ("2", 0, 5), ("3", 20, 400)]]
    assert [r["atenabango"] for r in run_snapshot(rows, day(10), layout=SHIEN)] == ["1"]
    assert [r["atenabango"] for r in run_snapshot(rows, day(5), layout=SHIEN)] == ["1", "2"]


def reference(rows: list[dict], as_of: dt.date, known_at: dt.date) -> list[tuple[str, int]]:
    """The snapshot rule in plain Python."""
    by_key: dict[tuple[str, int], dict] = {}
    for r in rows:
        k = (r["atenabango"], r["rirekibango"])
        if k not in by_key or (r["kijunbi"], r["set_id"]) > (by_key[k]["kijunbi"],
                                                              by_key[k]["set_id"]):
            by_key[k] = r
    latest: dict[str, dict] = {}
    for r in by_key.values():
        if r["idobi"] <= as_of and r["shoribi"] <= known_at:
            cur = latest.get(r["atenabango"])
            if cur is None or (r["idobi"], r["rirekibango"]) > (cur["idobi"], cur["rirekibango"]):
                latest[r["atenabango"]] = r
    return sorted((p, r["rirekibango"]) for p, r in latest.items()
                  if idojiyu_group(r["idojiyu"]) != "消除")


@st.composite
def histories(draw: st.DrawFn) -> list[dict]:
    rows = []
    for person in range(draw(st.integers(1, 6))):
        ido = 0
        for rireki in range(1, draw(st.integers(1, 6)) + 1):
            ido += draw(st.integers(0, 5))  # same-day changes happen
            late = draw(st.integers(0, 10))  # 処理日 out of order with 異動日
            rows.append(row(str(person), rireki, draw(st.sampled_from(sorted(IDOJIYU))), ido,
                            ido + late, kijunbi=draw(st.integers(50, 52)),
                            set_id=draw(st.sampled_from("ab"))))
    return rows


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(0, 40), st.integers(0, 20))
def test_snapshot_matches_reference(rows: list[dict], as_of: int, extra_knowledge: int) -> None:
    as_of_d, known = day(as_of), day(as_of + extra_knowledge)
    got = [(r["atenabango"], r["rirekibango"]) for r in run_snapshot(rows, as_of_d, known)]
    assert got == reference(rows, as_of_d, known)
