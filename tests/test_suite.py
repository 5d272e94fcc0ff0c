"""The generated Great Expectations suite: every rule fires on the row that breaks it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from expectations.gx_engine import gx_hits
from expectations.rules import rules_for
from expectations.sql import findings_sql
from expectations.suite import build_suite
from jumin.core import duck
from jumin.core.layouts import ATENA, LAYOUTS, SHIEN, Layout

pytestmark = [pytest.mark.unit]

VALID_ATENA = {
    "atenabango": "000000000000001",
    "rirekibango": "1",
    "jutokubun": "1",
    "juminhyokodo": "12345678903",
    "kojinbango": "621498320257",
    "shimei": "佐藤　一郎",
    "shimei_furigana": "サトウ　イチロウ",
    "seibetsu": "1",
    "seinengappi": "1980-01-02",
    "seinengappi_fushofuragu": "0",
    "jusho_shikuchosonkodo": "131016",
    "jusho_choazakodo": "0001001",
    "jusho_todofuken": "東京都",
    "jusho_shikugunchosonmei": "千代田区",
    "jusho_choaza": "千代田",
    "jusho_banchigohyoki": "１番１号",
    "jusho_yubinbango": "1000001",
    "idojiyu": "10",
    "idobi": "1980-01-02",
    "shoribi": "1980-01-03",
    "daihyo_atena_flag": "0",
    "tagyomusanshofukafuragu": "0",
    "setaibango": "0000000001",
    "zokugara": "世帯主",
}


def parsed(layout: Layout, rows: list[dict]) -> pa.Table:
    cols = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in layout.romaji}
    n = len(rows)
    return pa.table(
        {
            **cols,
            "_file": ["f.csv"] * n,
            "_line": pa.array(range(2, n + 2), pa.int64()),
            "_row": pa.array(range(n), pa.int64()),
        }
    )


def run_engine(engine: str, layout: Layout, table: pa.Table) -> pa.Table:
    if engine == "gx":
        return gx_hits(layout, table)
    con = duck.connect()
    con.register("parsed", table)
    return duck.arrow(con, "findings", findings_sql(rules_for(layout), "parsed"))


def findings(layout: Layout, rows: list[dict], engine: str = "both") -> set[tuple[int, str, str]]:
    """(row, code, item) of every broken rule; with "both", the two engines must agree."""
    rules = rules_for(layout)
    got = {}
    for e in ("duckdb", "gx") if engine == "both" else (engine,):
        hits = run_engine(e, layout, parsed(layout, rows)).to_pylist()
        got[e] = [(h["_row"], h["_line"], h["rule"], h["value"]) for h in hits]
    if engine == "both":
        assert got["duckdb"] == got["gx"], "the DuckDB engine must find what GX finds"
    return {(row, rules[rule].code, rules[rule].item) for row, _, rule, _ in next(iter(got.values()))}


def test_valid_row_passes() -> None:
    assert findings(ATENA, [VALID_ATENA]) == set()


CASES: list[tuple[dict[str, str | None], str, str]] = [  # (changes to the valid row, expected code, item)
    ({"shimei": None}, "E0001", "shimei"),
    ({"juminhyokodo": None}, "E0004", "juminhyokodo"),  # 住登者 needs 住民票コード
    ({"shimei": "Sato Ichiro"}, "E0002", "shimei"),  # half-width in Ｎ
    ({"shimei": "佐藤　ｲﾁﾛｳ"}, "E0002", "shimei"),  # half-width katakana
    ({"shimei": "佐藤　\ue000郎"}, "E0002", "shimei"),  # unmapped 外字
    ({"shimei": "佐藤\xa0一郎"}, "E0002", "shimei"),  # no-break space
    ({"shimei": "김　민준"}, "E0002", "shimei"),  # Hangul: outside JIS X 0208 and MJ
    ({"jusho_katagaki": "ビル€"}, "E0002", "jusho_katagaki"),  # not in the standard set
    ({"shimei": "佐藤　一\u200b郎"}, "E0002", "shimei"),  # zero-width space
    ({"atenabango": "０００１"}, "E0002", "atenabango"),  # full-width in X
    ({"rirekibango": "1a"}, "E0002", "rirekibango"),
    ({"idobi": "1980/01/02"}, "E0002", "idobi"),
    ({"idobi": "2023-02-29", "shoribi": "2023-03-01"}, "E0002", "idobi"),  # not a calendar day
    ({"shimei_furigana": "さとう　いちろう"}, "E0002", "shimei_furigana"),
    ({"shimei": "佐" * 101}, "E0003", "shimei"),
    ({"jusho_yubinbango": "100001"}, "E0003", "jusho_yubinbango"),  # fixed length 7
    ({"seibetsu": "3"}, "E0002", "seibetsu"),
    ({"idojiyu": "99"}, "E0002", "idojiyu"),
    ({"kojinbango": "621498320258"}, "E0004", "kojinbango"),
    ({"jusho_shikuchosonkodo": "131017"}, "E0004", "jusho_shikuchosonkodo"),
    ({"juminhyokodo": "12345678901"}, "W0001", "juminhyokodo"),
    ({"shoribi": "1980-01-01"}, "E0004", "shoribi"),
    ({"seinengappi": "1990-01-01"}, "E0004", "seinengappi"),  # born after the 異動日
    ({"seinengappi": None}, "E0004", "seinengappi"),  # required unless 不詳
    ({"seinengappi_fushofuragu": "1"}, "E0004", "seinengappi_fushohyoki"),
    ({"tsusho": "山田　花子"}, "E0004", "shimei_gaikokujinromaji"),  # 通称 without foreign name
    ({"shimei_gaikokujinromaji": "スミス　ジョン"}, "E0002", "shimei_gaikokujinromaji"),
    ({"zokugara": "友人"}, "E0002", "zokugara"),  # not a 続柄
    ({"zokugara": "子の子の子の子の子"}, "E0002", "zokugara"),  # five generations (four at most)
    ({"zokugara": None}, "E0004", "zokugara"),  # 世帯番号 without 続柄
    ({"setaibango": None}, "E0004", "setaibango"),  # 続柄 without 世帯番号
]


#: the valid row (row 0) and one broken row per case (row i + 1)
CASE_ROWS = [VALID_ATENA] + [
    {**VALID_ATENA, "atenabango": f"{i + 2}", **change} for i, (change, _, _) in enumerate(CASES)
]


@pytest.fixture(scope="module")
def case_findings() -> set[tuple[int, str, str]]:
    """One suite run over the valid row and the broken rows of CASES."""
    return findings(ATENA, CASE_ROWS)


@pytest.mark.parametrize("n", range(len(CASES)), ids=[f"{c[2]}-{c[1]}" for c in CASES])
def test_each_rule_fires(case_findings: set[tuple[int, str, str]], n: int) -> None:
    _, code, item = CASES[n]
    assert (n + 1, code, item) in case_findings


def test_valid_row_stays_clean_among_broken_ones(case_findings: set[tuple[int, str, str]]) -> None:
    assert not [f for f in case_findings if f[0] == 0]


def test_fusho_date_may_be_non_calendar_when_flagged() -> None:
    fusho = {
        **VALID_ATENA,
        "seinengappi": "1950-02-29",
        "seinengappi_fushofuragu": "1",
        "seinengappi_fushohyoki": "昭和２５年頃",
    }
    text = {**fusho, "atenabango": "2", "seinengappi": "年月日不詳"}
    assert findings(ATENA, [fusho, text, {**fusho, "atenabango": "3", "seinengappi": None}]) == set()


DUPLICATE_KEY_ROWS = [VALID_ATENA, VALID_ATENA]


def test_duplicate_key_flags_every_copy() -> None:
    got = findings(ATENA, DUPLICATE_KEY_ROWS)
    assert got == {(0, "E0004", "rirekibango"), (1, "E0004", "rirekibango")}


def _history(person: str, n: str) -> dict:
    return {**VALID_ATENA, "atenabango": person, "rirekibango": n}


HISTORY_ROWS = [
    _history(person, n)
    for person, n in [("1", "1"), ("1", "3"), ("2", "4"), ("2", "5"), ("3", "2"), ("3", "2"), ("3", "5"), ("4", "x")]
]


def test_history_numbers_must_not_have_gaps() -> None:
    rows = HISTORY_ROWS
    got = {(row, item) for row, code, item in findings(ATENA, rows) if code == "E0004"}
    assert "rirekibango" in {i for _, i in got}
    gaps = sorted(row for row, item in got if item == "rirekibango")
    # row 1 (3 after 1), row 6 (5 after 2); rows 4 and 5 are the duplicated key; a set may
    # start mid-history (person 2); a non-number is a character error, not a gap
    assert gaps == [1, 4, 5, 6]


def test_standard_characters_beyond_jis_are_allowed() -> None:
    rows = [
        {**VALID_ATENA, "atenabango": str(i), "shimei": name}
        for i, name in enumerate(["髙橋　一郎", "葛\U000e0100城　花子", "\U0010de92田　太郎", "𠮷野　家", "渡邊　ゔ"])
    ]
    assert findings(ATENA, rows) == set()


def test_foreign_resident_may_have_tsusho() -> None:
    ok = {**VALID_ATENA, "tsusho": "山田　花子", "shimei_gaikokujinkanji": "王　明"}
    romaji = {
        **VALID_ATENA,
        "atenabango": "2",
        "tsusho": "スミス　ジョン",
        "shimei_gaikokujinromaji": "ＳＭＩＴＨ　ＪＯＨＮ，Ｏ’ＢＲＩＥＮ",
    }
    assert findings(ATENA, [ok, romaji]) == set()


def test_jutogaisha_needs_no_juminhyokodo() -> None:
    assert findings(ATENA, [{**VALID_ATENA, "jutokubun": "2", "juminhyokodo": None}]) == set()


def test_shien_end_not_before_start() -> None:
    ok = {"atenabango": "1", "kubun": "1", "kaishibi": "2026-01-01", "shuryobi": "2026-12-31"}
    assert findings(SHIEN, [ok]) == set()
    assert findings(SHIEN, [{**ok, "shuryobi": "2025-12-31"}]) == {(0, "E0004", "shuryobi")}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_expectation_says_what_it_means(name: str) -> None:
    suite = build_suite(LAYOUTS[name])
    for e in suite.expectations:
        assert e.meta is not None and {"code", "item", "rule", "hint"} <= set(e.meta)
        assert e.meta["item"] in LAYOUTS[name].romaji


def test_cases_cover_every_rule_of_atena() -> None:
    """Every rule of the atena suite fires, with the code and item a case expects, on a row
    broken for it: a row of CASES, or (rules over several rows) a row of the duplicate-key and
    history-gap tests above."""
    rules = rules_for(ATENA)

    def fired(rows: list[dict], expected: dict[int, tuple[str, str]]) -> set[str]:
        """Names of the rules that fire on row r with the (code, item) ``expected[r]``."""
        hits = run_engine("duckdb", ATENA, parsed(ATENA, rows)).to_pylist()
        return {
            rules[h["rule"]].name
            for h in hits
            if expected.get(h["_row"]) == (rules[h["rule"]].code, rules[h["rule"]].item)
        }

    several = ("E0004", "rirekibango")  # the key and the 履歴番号 sequence name 履歴番号
    covered = (
        fired(CASE_ROWS, {i + 1: (code, item) for i, (_, code, item) in enumerate(CASES)})
        | fired(DUPLICATE_KEY_ROWS, dict.fromkeys(range(len(DUPLICATE_KEY_ROWS)), several))
        | fired(HISTORY_ROWS, dict.fromkeys(range(len(HISTORY_ROWS)), several))
    )
    suite = {e.meta["rule"] for e in build_suite(ATENA).expectations if e.meta}
    assert suite == {r.name for r in rules}, "the suite is made of the layout's rules"
    assert sorted(suite - covered) == [], "rules no case breaks"
