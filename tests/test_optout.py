"""The opt-out registry (提供停止の申出): its layout, validation and snapshots, the persons it
leaves out of a delivery (the SQL against a plain-Python reference on random registries), and
deliveries from the committed sample honouring it only where the contract allows opting out."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jumin.core import duck
from jumin.core.contract import PERSON_ID, Contract
from jumin.core.lake import Lake
from jumin.core.layouts import LAYOUTS, TEIKYOTEISHI
from jumin.core.manifest import write_manifest
from jumin.dev.generate.teikyoteishi import TARGETS
from load.deliver.contract import example_contracts, load_contract
from load.deliver.main import _inputs, deliver, select_sql
from load.deliver.optout import OPT_OUT, REGISTRY, opted_out_sql, record_persons_sql
from load.deliver.privacy import contract_key, master_key, pseudonym
from tests.test_pipeline import reconciled_sample
from tests.test_snapshot import run_snapshot
from tests.test_suite import findings
from transform.deliver import persons_sql

M, N = "131016", "012025"
KENKO = example_contracts()["kenko_annai"]
KIJUNBI = "2026-11-01"
AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))

Row = dict[str, Any]

# --------------------------------------------------------------------------- the layout


VALID = {"atenabango": "1", "teikyosaki": "kenko_annai", "moshidebi": "2026-05-12", "tekkaibi": None}


@pytest.mark.unit
def test_the_layout_is_declared_once_and_listed() -> None:
    assert LAYOUTS["teikyoteishi"] is TEIKYOTEISHI and TEIKYOTEISHI.snapshot
    assert TEIKYOTEISHI.period is not None and not TEIKYOTEISHI.item(TEIKYOTEISHI.period.end).required
    # the generator's 提供先 are the example contract that allows opting out, or every one
    assert set(TARGETS) == {"*", "kenko_annai"} and load_contract(KENKO).opt_out


@pytest.mark.unit
def test_validation_of_the_registry() -> None:
    assert findings(TEIKYOTEISHI, [VALID, {**VALID, "teikyosaki": "*", "tekkaibi": "2026-05-12"}]) == set()
    assert findings(TEIKYOTEISHI, [{**VALID, "tekkaibi": "2026-05-11"}]) == {(0, "E0004", "tekkaibi")}
    for bad in ("全部", "kenko annai", "**", "_x"):
        assert findings(TEIKYOTEISHI, [{**VALID, "teikyosaki": bad}]) == {(0, "E0002", "teikyosaki")}, bad
    assert (0, "E0003", "teikyosaki") in findings(TEIKYOTEISHI, [{**VALID, "teikyosaki": "a" * 65}])
    assert findings(TEIKYOTEISHI, [{**VALID, "moshidebi": None}]) == {(0, "E0001", "moshidebi")}
    # the key: one row per (宛名番号, 提供先, 申出日); the same resident may opt out twice
    twice = findings(TEIKYOTEISHI, [VALID, VALID, {**VALID, "moshidebi": "2026-06-01"}])
    assert {(r, c) for r, c, _ in twice} == {(0, "E0004"), (1, "E0004")}


def _day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _registry_row(no: str, start: str, end: str | None, set_day: str, set_id: str) -> Row:
    return {
        "atenabango": no,
        "teikyosaki": "*",
        "moshidebi": _day(start),
        "tekkaibi": _day(end) if end else None,
        "kijunbi": _day(set_day),
        "set_id": set_id,
    }


@pytest.mark.unit
def test_snapshot_holds_the_opt_outs_in_force_as_known() -> None:
    rows = [
        _registry_row("1", "2026-01-01", None, "2026-01-31", "a"),
        _registry_row("2", "2026-01-01", "2026-03-01", "2026-01-31", "a"),
        _registry_row("3", "2026-02-01", None, "2026-01-31", "a"),
        # withdrawn later: the same key sent again with its 撤回日
        _registry_row("1", "2026-01-01", "2026-04-01", "2026-04-01", "b"),
    ]

    def present(as_of: str, known_at: str | None = None) -> list[str]:
        got = run_snapshot(rows, _day(as_of), _day(known_at) if known_at else None, layout=TEIKYOTEISHI)
        return [r["atenabango"] for r in got]

    assert present("2026-01-15") == ["1", "2"]
    assert present("2026-02-28") == ["1", "2", "3"]
    assert present("2026-03-01") == ["1", "3"]  # the 撤回日 itself is no longer in force
    assert present("2026-04-01") == ["3"]
    assert present("2026-04-01", "2026-03-31") == ["1", "3"]  # as known before the withdrawal came


# --------------------------------------------------------------------------- the SQL

ATENA_SCHEMA = pa.schema(
    [("lg_code", pa.string()), ("atenabango", pa.string()), ("jutokubun", pa.string()),
     ("juminhyokodo", pa.string()), ("seinengappi", pa.date32()), ("tagyomusanshofukafuragu", pa.string()),
     ("setaibango", pa.string()), ("zokugara", pa.string())]
)  # fmt: skip
LINKS_SCHEMA = pa.schema(
    [("lg_code", pa.string()), ("atenabango", pa.string()), ("juminhyokodo", pa.string()), ("band", pa.string())]
)
REGISTRY_SCHEMA = pa.schema(
    [("lg_code", pa.string()), ("atenabango", pa.string()), ("teikyosaki", pa.string()),
     ("moshidebi", pa.date32()), ("tekkaibi", pa.date32())]
)  # fmt: skip


def _con(atena: list[Row], links: list[Row], registry: list[Row]) -> duckdb.DuckDBPyConnection:
    con = duck.connect()
    con.register("atena", pa.Table.from_pylist(atena, schema=ATENA_SCHEMA))
    con.register("links", pa.Table.from_pylist(links, schema=LINKS_SCHEMA))
    con.register(REGISTRY, pa.Table.from_pylist(registry, schema=REGISTRY_SCHEMA))
    return con


def _opted_out(con: duckdb.DuckDBPyConnection, contract_id: str, day: str) -> list[str]:
    return [r[0] for r in duck.rows(con, "opted out", opted_out_sql(REGISTRY, "atena", "links", contract_id, day))]


def reference_person(record: Row, auto: dict[tuple[str, str], str]) -> str:
    """The person key of a 宛名 record, as delivery keys persons (plain Python)."""
    if record["jutokubun"] == "1" and record["juminhyokodo"]:
        return f"J:{record['juminhyokodo']}"
    code = auto.get((record["lg_code"], record["atenabango"]))
    return f"J:{code}" if code else f"A:{record['lg_code']}:{record['atenabango']}"


def reference_opted_out(
    atena: list[Row], links: list[Row], registry: list[Row], contract_id: str, day: str
) -> set[str]:
    """The persons with an opt-out in force on ``day`` for ``contract_id`` (plain Python)."""
    t = _day(day)
    auto = {
        (x["lg_code"], x["atenabango"]): x["juminhyokodo"] for x in links if x["band"] == "auto" and x["juminhyokodo"]
    }
    filed = {
        (r["lg_code"], r["atenabango"])
        for r in registry
        if r["teikyosaki"] in (contract_id, "*")
        and r["moshidebi"] <= t
        and (r["tekkaibi"] is None or r["tekkaibi"] > t)
    }
    return {reference_person(a, auto) for a in atena if (a["lg_code"], a["atenabango"]) in filed}


def _record(lg: str, no: str, kubun: str = "1", code: str | None = None, **more: Any) -> Row:
    return {"lg_code": lg, "atenabango": no, "jutokubun": kubun, "juminhyokodo": code, "seinengappi": None} | more


def _optout(lg: str, no: str, target: str, start: str, end: str | None = None) -> Row:
    return {
        "lg_code": lg,
        "atenabango": no,
        "teikyosaki": target,
        "moshidebi": _day(start),
        "tekkaibi": end and _day(end),
    }


@pytest.mark.unit
def test_an_opt_out_follows_the_person_into_every_municipality() -> None:
    atena = [
        _record(M, "1", code="11111111111"),  # registered in M
        _record(N, "7", kubun="2"),  # the same person, 住登外者 in N (auto link)
        _record(N, "8", kubun="2"),  # a review candidate only: a person of its own
        _record(M, "2", code="22222222222"),
        _record(M, "3", code="33333333333"),
        _record(M, "4", code="44444444444"),
    ]
    links = [
        {"lg_code": N, "atenabango": "7", "juminhyokodo": "11111111111", "band": "auto"},
        {"lg_code": N, "atenabango": "8", "juminhyokodo": "22222222222", "band": "review"},
    ]
    registry = [
        _optout(N, "7", "*", "2026-01-01"),  # filed in N: covers the 住登者 record in M
        _optout(N, "8", "kenko_annai", "2026-01-01"),
        _optout(M, "2", "other_service", "2026-01-01"),  # another contract
        _optout(M, "3", "kenko_annai", "2026-01-01", "2026-06-01"),  # withdrawn
        _optout(M, "4", "kenko_annai", "2026-12-01"),  # filed after the day
        _optout(M, "9", "*", "2026-01-01"),  # a 宛名番号 not in the snapshot
    ]
    con = _con(atena, links, registry)
    assert _opted_out(con, "kenko_annai", KIJUNBI) == ["A:012025:8", "J:11111111111"]
    assert _opted_out(con, "other_service", KIJUNBI) == ["J:11111111111", "J:22222222222"]
    assert _opted_out(con, "kenko_annai", "2026-05-31") == ["A:012025:8", "J:11111111111", "J:33333333333"]
    assert _opted_out(con, "kenko_annai", "2026-12-01") == ["A:012025:8", "J:11111111111", "J:44444444444"]


_NUMBERS = st.sampled_from(["1", "2", "3", "4", "5", "6"])
_CODES = st.sampled_from(["11111111111", "22222222222", "33333333333"])
_DAYS = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 1, 20))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Row], list[Row], list[Row], str]:
    """Random 宛名 of two municipalities, auto/review links, a registry and a 基準日."""
    keys = draw(st.sets(st.tuples(st.sampled_from([M, N]), _NUMBERS), min_size=1, max_size=10))
    atena = []
    for lg, no in sorted(keys):
        kubun = draw(st.sampled_from(["1", "2"]))
        code = draw(st.one_of(st.none(), st.just(""), _CODES))
        atena.append(_record(lg, no, kubun, code, seinengappi=dt.date(1970, 1, 1), tagyomusanshofukafuragu="0"))
    linked = draw(st.sets(st.tuples(st.sampled_from([M, N]), _NUMBERS), max_size=6))
    links = [
        {
            "lg_code": lg,
            "atenabango": no,
            "juminhyokodo": draw(_CODES),
            "band": draw(st.sampled_from(["auto", "review"])),
        }
        for lg, no in sorted(linked)
    ]
    registry = []
    for _ in range(draw(st.integers(0, 8))):
        start = draw(_DAYS)
        end = draw(st.one_of(st.none(), st.dates(min_value=start, max_value=dt.date(2026, 1, 25))))
        registry.append(
            {
                "lg_code": draw(st.sampled_from([M, N])),
                "atenabango": draw(_NUMBERS),
                "teikyosaki": draw(st.sampled_from(["kenko_annai", "*", "other_service"])),
                "moshidebi": start,
                "tekkaibi": end,
            }
        )
    return atena, links, registry, draw(_DAYS).isoformat()


def _open_contract(opt_out: bool) -> Contract:
    """kenko_annai without its age and 住登区分 rules (every person of the world qualifies)."""
    c = load_contract(KENKO)
    f = dataclasses.replace(c.row_filter, min_age=None, jutokubun=("1", "2"))
    return dataclasses.replace(c, row_filter=f, opt_out=opt_out)


@pytest.mark.unit
@given(worlds())
@settings(max_examples=150, deadline=None)
def test_opted_out_persons_agree_with_the_reference(world: tuple[list[Row], list[Row], list[Row], str]) -> None:
    atena, links, registry, day = world
    con = _con(atena, links, registry)
    expected = reference_opted_out(atena, links, registry, "kenko_annai", day)
    assert _opted_out(con, "kenko_annai", day) == sorted(expected)
    # and in a delivery: exactly those persons are left out, and only where opting out is allowed
    duck.run(con, "persons", f"CREATE TEMP TABLE persons AS {persons_sql('atena', 'links', day)}")
    for opt_out in (True, False):
        rows = duck.arrow(con, "selected", select_sql(_open_contract(opt_out), day, [M, N])).to_pylist()
        assert {r["person"] for r in rows if r["_why"] == OPT_OUT} == (expected if opt_out else set())
        assert {r["person"] for r in rows if r["_opt_out"]} == expected
        assert all(r["_why"] is None for r in rows if r["person"] not in expected)


@pytest.mark.unit
def test_an_opted_out_householder_is_not_brought_back_by_household_heads() -> None:
    c = load_contract(example_contracts()["child_benefit"])
    assert c.opt_out and c.row_filter.household_heads
    kid, head = dt.date(2020, 4, 1), dt.date(1985, 4, 1)
    more = {"tagyomusanshofukafuragu": "0", "setaibango": "S1"}
    atena = [
        _record(M, "1", code="11111111111", seinengappi=kid, zokugara="子", **more),
        _record(M, "2", code="22222222222", seinengappi=head, zokugara="世帯主", **more),
    ]
    for registry, delivered in (([], {"1", "2"}), ([_optout(M, "2", "*", "2026-01-01")], {"1"})):
        con = _con(atena, [], registry)
        duck.run(con, "persons", f"CREATE TEMP TABLE persons AS {persons_sql('atena', 'links', KIJUNBI)}")
        rows = duck.arrow(con, "selected", select_sql(c, KIJUNBI, [M])).to_pylist()
        assert {r["atenabango"] for r in rows if r["_why"] is None} == delivered
    # an opted-out child brings no 世帯主
    con = _con(atena, [], [_optout(M, "1", "child_benefit", "2026-01-01")])
    duck.run(con, "persons", f"CREATE TEMP TABLE persons AS {persons_sql('atena', 'links', KIJUNBI)}")
    rows = duck.arrow(con, "selected", select_sql(c, KIJUNBI, [M])).to_pylist()
    assert {r["atenabango"]: r["_why"] for r in rows} == {"1": OPT_OUT, "2": "age"}


# --------------------------------------------------------------------------- from the sample


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reconciled_sample(tmp_path_factory.mktemp("optout"))


def _day_tables(lake: Path, day: str) -> tuple[duckdb.DuckDBPyConnection, dict[str, list[Row]]]:
    """The day's inputs of a delivery as _inputs registers them, and their rows."""
    con = duck.connect()
    _inputs(con, Lake(lake), load_contract(KENKO), day)
    tables = {t: duck.arrow(con, t, f"FROM {t}").to_pylist() for t in ("atena", "links", REGISTRY)}
    return con, tables


def _contract_file(tmp: Path, opt_out: bool) -> Path:
    """kenko_annai under another id, allowing opting out or not."""
    text = KENKO.read_text(encoding="utf-8").replace("id: kenko_annai", "id: kenko_annai_all")
    text = text.replace("property: optOut\n    value: true", f"property: optOut\n    value: {str(opt_out).lower()}")
    path = tmp / f"kenko_annai_all_{opt_out}.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_contract(path).opt_out is opt_out
    return path


def _delivered_ids(lake: Path, contract: Path, day: str) -> tuple[set[str], dict[str, int]]:
    result = deliver(lake, contract, day, AT)
    return set(pq.read_table(result.path).column(PERSON_ID).to_pylist()), result.excluded


def _manifest(lake: Path, contract_id: str, day: str) -> dict[str, Any]:
    from load.partition import read_manifest

    return read_manifest(Lake(lake).delivery(contract_id, day))


def _ids(lake: Path, contract_id: str, persons: set[str]) -> set[str]:
    key = contract_key(master_key(lake), contract_id)
    return {pseudonym(key, p) for p in persons}


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_the_sample_delivers_no_opted_out_person_and_a_withdrawal_delivers_again(lake: Path, tmp_path: Path) -> None:
    con, t = _day_tables(lake, KIJUNBI)
    assert {r["lg_code"] for r in t[REGISTRY]} == {M, N, "141038"}
    opted = reference_opted_out(t["atena"], t["links"], t[REGISTRY], "kenko_annai", KIJUNBI)
    assert _opted_out(con, "kenko_annai", KIJUNBI) == sorted(opted)
    # the person key of the opt-outs is the delivery's: every record maps to a person of persons_sql
    duck.run(con, "persons", f"CREATE TEMP TABLE persons AS {persons_sql('atena', 'links', KIJUNBI)}")
    records = f"SELECT lg_code, atenabango, person FROM ({record_persons_sql('atena', 'links')})"
    mapped = {(lg, no): p for lg, no, p in duck.rows(con, "records", records)}
    for lg, no, p in duck.rows(con, "persons", "SELECT lg_code, atenabango, person FROM persons"):
        assert mapped[(lg, no)] == p
    assert set(mapped.values()) == {r[0] for r in duck.rows(con, "p", "SELECT person FROM persons")}

    honoured, excluded = _delivered_ids(lake, KENKO, KIJUNBI)
    assert excluded[OPT_OUT] > 0
    assert not honoured & _ids(lake, "kenko_annai", opted)
    # the same contract without opting out delivers them: the opt-outs are of people it selects
    ignoring, excluded_all = _delivered_ids(lake, _contract_file(tmp_path, opt_out=False), KIJUNBI)
    assert OPT_OUT not in excluded_all
    back = ignoring & _ids(lake, "kenko_annai_all", opted)
    assert len(back) == excluded[OPT_OUT] and len(ignoring) == len(honoured) + len(back)
    # the manifests say whether opt-outs were honoured, and how many on file were not
    manifests = {c: _manifest(lake, c, KIJUNBI) for c in ("kenko_annai", "kenko_annai_all")}
    assert manifests["kenko_annai"]["opt_out"] == {"honoured": True, "on_file_not_honoured": 0}
    everyone = reference_opted_out(t["atena"], t["links"], t[REGISTRY], "kenko_annai_all", KIJUNBI)  # only *
    expected = len(ignoring & _ids(lake, "kenko_annai_all", everyone))
    assert manifests["kenko_annai_all"]["opt_out"] == {"honoured": False, "on_file_not_honoured": expected}
    assert expected > 0
    # the sample has an opt-out filed on a 住登外者 record whose person is delivered from their
    # 住登者 record in another municipality: it is left out there
    chosen = {p: lg for lg, p in duck.rows(con, "chosen", "SELECT lg_code, person FROM persons")}
    filed = {
        (r["lg_code"], mapped[(r["lg_code"], r["atenabango"])])
        for r in t[REGISTRY]
        if (r["lg_code"], r["atenabango"]) in mapped
    }
    assert any(p in opted and p.startswith("J:") and chosen[p] != lg for lg, p in filed)

    # withdraw one of them on the next day: delivered again from then on, not before
    key_all = contract_key(master_key(lake), "kenko_annai_all")
    person = sorted(p for p in opted if pseudonym(key_all, p) in back)[0]
    rows = [r for r in t[REGISTRY] if mapped.get((r["lg_code"], r["atenabango"])) == person]
    assert len(rows) == 1, rows
    next_day = "2026-11-02"
    _withdraw(lake, tmp_path / "landing", rows[0], next_day)
    later, later_excluded = _delivered_ids(lake, KENKO, next_day)
    assert _ids(lake, "kenko_annai", {person}) <= later
    assert later_excluded[OPT_OUT] == excluded[OPT_OUT] - 1
    again, _ = _delivered_ids(lake, KENKO, KIJUNBI)  # as known on the 基準日 itself: still out
    assert again == honoured


def _withdraw(lake: Path, landing: Path, row: Row, day: str) -> None:
    """Upload (ingest, validate) the registry row again with 撤回日 ``day``, stage ``day`` and
    reconcile it."""
    from expectations.main import validate_municipality
    from extract.inbox import deliver_local
    from extract.main import ingest_municipality
    from load.main import snapshot_municipality
    from load.reconcile import reconcile_day

    code = row["lg_code"]
    folder = landing.parent / "withdrawal"
    folder.mkdir()
    name = f"teikyoteishi_{day.replace('-', '')}"
    with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow([i.ja for i in TEIKYOTEISHI.items])
        w.writerow([row["atenabango"], row["teikyosaki"], row["moshidebi"].isoformat(), day, row["uketsukesha"] or ""])
    write_manifest(folder, name, code, TEIKYOTEISHI.name, TEIKYOTEISHI.version, day, [(f"{name}.csv", "utf-8")])
    deliver_local(folder, landing, code)
    assert {r.status for r in ingest_municipality(landing, lake, code)} == {"parsed"}
    assert {r.status for r in validate_municipality(lake, code)} == {"accepted"}
    for c in sorted(p.name.removeprefix("lg_code=") for p in (lake / "accepted" / "atena").iterdir()):
        snapshot_municipality(lake, c, day)
    reconcile_day(lake, day)
    shutil.rmtree(folder)
