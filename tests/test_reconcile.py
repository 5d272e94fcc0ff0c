"""Deterministic reconciliation of 住登者: the 突合表 and the discrepancy rules, by DuckDB and by
Great Expectations, against a plain-Python reference."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from expectations.reconcile import FRAME_COLUMNS, RULES
from jumin.core import duck
from transform.reconcile.deterministic import build_taisho, discrepancies
from transform.reconcile.schema import KEYED

M, N = "131016", "012025"


def keyed(**values: Any) -> dict[str, Any]:
    """A KEYED row: a person 佐藤 花子 born 1980-04-01 at 霞が関 1-6-19, overridden by ``values``."""
    row: dict[str, Any] = {
        "rec_id": "",
        "lg_code": M,
        "atenabango": "",
        "juminhyokodo": "",
        "jutokubun": "",
        "version": 0,
        "shimei": "佐藤　花子",
        "shimei_furigana": "サトウ　ハナコ",
        "uji_kanji": "佐藤",
        "na_kanji": "花子",
        "uji_kana": "サトウ",
        "na_kana": "ハナコ",
        "seibetsu": "2",
        "birth_year": 1980,
        "birth_month": 4,
        "birth_day": 1,
        "seinengappi_text": "1980-04-01",
        "jusho_shikuchosonkodo": M,
        "choaza": "霞が関",
        "banchi": "1-6-19",
        "jusho": "東京都千代田区霞が関１丁目６番１９号",
    }
    row.update(values)
    return row


def atena(no: str, code: str, **values: Any) -> dict[str, Any]:
    return keyed(rec_id=f"{M}:{no}", atenabango=no, juminhyokodo=code, jutokubun="1", **values)


def juki(code: str, **values: Any) -> dict[str, Any]:
    return keyed(rec_id=code, juminhyokodo=code, **values)


#: one 宛名/住基 pair per kind, and the kinds each must give
Row = dict[str, Any]
Last = tuple[str, str, str]
CASES: list[tuple[list[Row], list[Row], list[Last], list[str]]] = [
    # atena rows, juki rows (version 0), juki_last rows (lg_code, code, status), expected kinds
    ([atena("1", "10000000001")], [juki("10000000001")], [(M, "10000000001", "11 国内転入")], []),
    # 死亡 recorded in 住基 only: 消除済み
    ([atena("2", "10000000002")], [], [(M, "10000000002", "20 死亡")], ["D001"]),
    # moved to another municipality: not resident here any more
    ([atena("3", "10000000003")], [juki("10000000003", lg_code=N)], [(N, "10000000003", "11 国内転入")], ["D001"]),
    ([atena("4", "10000000004")], [], [], ["D002"]),
    ([atena("5", "10000000005", na_kanji="華子", shimei="佐藤　華子")], [juki("10000000005")], [], ["D003"]),
    ([atena("6", "10000000006", seinengappi_text="1980-01-04")], [juki("10000000006")], [], ["D004"]),
    ([atena("7", "10000000007", seibetsu="1")], [juki("10000000007")], [], ["D005"]),
    ([atena("8", "10000000008", banchi="1-6-20")], [juki("10000000008")], [], ["D006"]),
    ([], [juki("10000000009")], [], ["D007"]),
    # 異体字 only: the keys agree, the spelling does not → H001, never D003
    ([atena("10", "10000000010", shimei="佐籐　花子")], [juki("10000000010")], [], ["H001"]),
    # several at once, in rule order
    (
        [atena("11", "10000000011", seibetsu="1", seinengappi_text="1981-04-01")],
        [juki("10000000011")],
        [],
        ["D004", "D005"],
    ),
]


def case(i: int) -> tuple[list[Row], list[Row], list[Last]]:
    atenas, jukis, last, _ = CASES[i]
    return atenas, jukis, last


def _con(
    atenas: list[dict[str, Any]],
    jukis: list[dict[str, Any]],
    last: list[tuple[str, str, str]],
    lg_codes: tuple[str, ...] = (M,),
) -> Any:
    con = duck.connect()
    for name, rows in (("atena_keyed", atenas), ("juki_keyed", jukis)):
        con.register(f"_{name}", pa.Table.from_pylist(rows, schema=KEYED))
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _{name}")
    lasts = pa.table(
        {
            "lg_code": [r[0] for r in last],
            "juminhyokodo": [r[1] for r in last],
            "status": [r[2] for r in last],
        },
        schema=pa.schema([("lg_code", pa.string()), ("juminhyokodo", pa.string()), ("status", pa.string())]),
    )
    con.register("_juki_last", lasts)
    # a 住基 resident is also in juki_last (their latest row is a 記載 or 修正)
    con.execute(
        "CREATE TEMP TABLE juki_last AS SELECT * FROM _juki_last UNION ALL "
        "SELECT lg_code, juminhyokodo, '11 国内転入' FROM juki_keyed ANTI JOIN _juki_last USING (lg_code, juminhyokodo)"
    )
    build_taisho(con, list(lg_codes))
    return con


def reference(atenas: list[dict[str, Any]], jukis: list[dict[str, Any]], last: list[tuple[str, str, str]]) -> list[str]:
    """The kinds the rules must find, written out in plain Python."""
    here = {j["juminhyokodo"]: j for j in jukis if j["lg_code"] == M}
    known = {j["juminhyokodo"] for j in jukis} | {code for _, code, _ in last}
    kinds: list[str] = []
    for a in atenas:
        j = here.get(a["juminhyokodo"])
        if j is None:
            kinds.append("D001" if a["juminhyokodo"] in known else "D002")
            continue
        name_differs = a["uji_kanji"] + a["na_kanji"] != j["uji_kanji"] + j["na_kanji"]
        kinds += ["D003"] if name_differs else []
        kinds += ["D004"] if a["seinengappi_text"] != j["seinengappi_text"] else []
        kinds += ["D005"] if a["seibetsu"] != j["seibetsu"] else []
        address = ("jusho_shikuchosonkodo", "choaza", "banchi")
        kinds += ["D006"] if any(a[k] != j[k] for k in address) else []
        kinds += ["H001"] if not name_differs and a["shimei"] != j["shimei"] else []
    in_atena = {a["juminhyokodo"] for a in atenas}
    kinds += ["D007" for code in here if code not in in_atena]
    return kinds


@pytest.mark.unit
@pytest.mark.parametrize("case", range(len(CASES)))
def test_each_kind_is_found_where_it_is_and_only_there(case: int) -> None:
    atenas, jukis, last, expected = CASES[case]
    assert reference(atenas, jukis, last) == expected  # the reference itself reads the case right
    found = discrepancies(_con(atenas, jukis, last))
    assert found.column("kind").to_pylist() == expected


@pytest.mark.unit
def test_findings_report_the_item_and_both_values() -> None:
    found = discrepancies(_con(*case(6))).to_pylist()
    assert [(f["kind"], f["item"], f["atena_value"], f["juki_value"]) for f in found] == [
        ("D005", "seibetsu", "1", "2")
    ]
    died = discrepancies(_con(*case(1))).to_pylist()
    assert [(f["atenabango"], f["juki_value"]) for f in died] == [("2", "20 死亡")]
    missing = discrepancies(_con(*case(8))).to_pylist()
    assert [(f["atenabango"], f["juminhyokodo"]) for f in missing] == [(None, "10000000009")]


@pytest.mark.unit
def test_municipalities_reconciled_together_stay_apart() -> None:
    """A person who moved from M to N: M's 宛名 is stale (D001) and N has no 宛名 (D007), also
    when both are reconciled in one run; M's 宛名 never pairs with N's 住基."""
    atenas, jukis, last, _ = CASES[2]
    found = discrepancies(_con(atenas, jukis, last, (M, N))).to_pylist()
    assert [(f["lg_code"], f["kind"]) for f in found] == [(N, "D007"), (M, "D001")]


@pytest.mark.unit
def test_the_taisho_has_the_declared_columns() -> None:
    con = _con(*case(0))
    columns = [d[0] for d in con.execute("SELECT * FROM taisho").description]
    assert tuple(columns) == FRAME_COLUMNS


@pytest.mark.unit
def test_every_rule_has_a_case() -> None:
    covered = {k for *_, kinds in CASES for k in kinds}
    assert covered == {r.kind for r in RULES}


@pytest.mark.integration
def test_great_expectations_finds_the_same_as_duckdb() -> None:
    atenas = [row for rows, _, _, _ in CASES for row in rows]
    jukis = [row for _, rows, _, _ in CASES for row in rows]
    last = [row for _, _, rows, _ in CASES for row in rows]
    con = _con(atenas, jukis, last)
    by_duckdb = discrepancies(con, "duckdb")
    by_gx = discrepancies(con, "gx")
    assert by_gx.to_pylist() == by_duckdb.to_pylist()
    assert sorted(set(by_gx.column("kind").to_pylist())) == sorted(r.kind for r in RULES)
