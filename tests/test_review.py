"""The clerk's review loop: review files out, decisions back in through the ordinary upload path,
and what the decisions do to the candidates (docs/review.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook, load_workbook

from expectations.gx_engine import gx_hits
from expectations.rules import rules_for
from expectations.sql import findings_sql
from expectations.suite import build_suite
from extract.errors import UploadSetRejected
from extract.inbox import LocalInbox, deliver_local
from extract.main import return_municipality_receipts, return_municipality_review_files
from extract.outbox import return_review_files
from extract.parse import parse, parse_xlsx
from jumin.apps.cli import main as cli
from jumin.apps.upload import prepare
from jumin.core import duck
from jumin.core.checkdigits import with_lg_check
from jumin.core.lake import Lake
from jumin.core.layouts import LAYOUTS, NAYOSE, REVIEW_DISPLAY, SHIEN
from jumin.core.manifest import count_rows
from jumin.core.municipalities import name_of
from jumin.core.xlsx import cell_text, count_records, workbook_bytes
from load.main import snapshot_municipality
from load.review import COLUMNS, HIDDEN, headers, review_key, write_review_files
from transform.reconcile.decisions import (
    HISTORY,
    apply_decisions,
    candidate_number,
    effective_decisions,
    link_history,
    mask_number,
    parse_candidate_number,
    unmatched_decisions,
)
from transform.reconcile.schema import KEYED, LINKS

LG = "131016"  # 千代田区
KOHOKU = "141097"  # 横浜市港北区
OSAKA_KITA = with_lg_check("27127")  # 大阪市北区
KIJUNBI = "2026-11-01"

#: the street addresses of the candidates (other municipalities' data): never in a review file
OTHER_STREETS = ("綱島西二丁目５番８号", "日吉本町一丁目９番９号", "梅田三丁目１番１号")


# --- test data ------------------------------------------------------------------------------


def table(schema: pa.Schema, rows: list[dict[str, Any]], extra: dict[str, pa.DataType] | None = None) -> pa.Table:
    cols = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}
    for name, typ in (extra or {}).items():
        cols[name] = pa.array([r.get(name) for r in rows], typ)
    return pa.table(cols)


def keyed(rec_id: str, lg_code: str, version: int = 0, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {f.name: "" for f in KEYED if f.type == pa.string()}
    row.update(rec_id=rec_id, lg_code=lg_code, version=version, jusho_shikuchosonkodo=lg_code)
    row.update(kw)
    return row


def records() -> pa.Table:
    """Two 宛名 of 千代田区 and their candidates: 住基 persons and other municipalities' 宛名."""
    return table(
        KEYED,
        [
            keyed(f"{LG}:000000000000003", LG, atenabango="000000000000003", shimei="山田　太郎",
                  shimei_furigana="ヤマダ　タロウ", seibetsu="1", seinengappi_text="1951-02-29",
                  jusho_shikuchosonkodo=KOHOKU, choaza="日吉本町一丁目", banchi="2-3",
                  jusho="神奈川県横浜市港北区日吉本町一丁目２番３号"),
            keyed(f"{LG}:000000000000002", LG, atenabango="000000000000002", shimei="鈴木　花子",
                  shimei_furigana="スズキ　ハナコ", seibetsu="2", seinengappi_text="1992-11-03",
                  choaza="神田駿河台二丁目", banchi="3", jusho="東京都千代田区神田駿河台二丁目３番地"),
            # 住基: same 町字, another 番地; an older address was the 宛名's own
            keyed("10000000014", KOHOKU, juminhyokodo="10000000014", shimei="山田　太郎", seibetsu="1",
                  seinengappi_text="1951-02-28", choaza="日吉本町一丁目", banchi="9-9",
                  jusho="神奈川県横浜市港北区" + OTHER_STREETS[1]),
            keyed("10000000014", KOHOKU, version=1, juminhyokodo="10000000014", shimei="山田　太郎",
                  choaza="日吉本町一丁目", banchi="2-3", jusho="神奈川県横浜市港北区日吉本町一丁目２番３号"),
            keyed(f"{KOHOKU}:000000000000007", KOHOKU, atenabango="000000000000007", shimei="山田　太朗",
                  seibetsu="1", seinengappi_text="1951-02-29", choaza="綱島西二丁目", banchi="5-8",
                  jusho="神奈川県横浜市港北区" + OTHER_STREETS[0]),
            # under 支援措置, living in 大阪市北区: nothing of her address may show
            keyed(f"{OSAKA_KITA}:000000000000042", OSAKA_KITA, atenabango="000000000000042", shimei="鈴木　花子",
                  shimei_furigana="スズキ　ハナコ", seibetsu="2", seinengappi_text="1992-11-03",
                  choaza="神田駿河台二丁目", banchi="3", jusho="大阪府大阪市北区" + OTHER_STREETS[2]),
            keyed("10000000022", LG, juminhyokodo="10000000022", shimei="鈴木　花子", seibetsu="2",
                  seinengappi_text="1992-11-03", choaza="神田駿河台二丁目", banchi="3",
                  jusho="東京都千代田区神田駿河台二丁目３番地"),
        ],
    )  # fmt: skip


def reasons(*items: tuple[str, str, float]) -> list[dict[str, Any]]:
    return [{"item": i, "agreement": a, "weight": w} for i, a, w in items]


def link(atenabango: str, number: str, band: str = "review", p: float | None = 0.8, rank: int = 1, **kw: Any) -> dict:
    j, lg, a = parse_candidate_number(number)
    return {
        "lg_code": LG,
        "atenabango": atenabango,
        "juminhyokodo": j,
        "target_lg_code": lg,
        "target_atenabango": a,
        "band": band,
        "match_probability": p,
        "match_weight": None if p is None else 5.0,
        "method": "probabilistic",
        "rank": rank,
        "reasons": reasons(("uji", "exact", 8.1), ("choaza", "exact", 2.5)),
        **kw,
    }


def candidates(rows: list[dict[str, Any]]) -> pa.Table:
    return table(LINKS, rows, {"lg_code": pa.string(), "shien": pa.bool_()})


def review_candidates() -> pa.Table:
    return candidates(
        [
            link("000000000000003", "10000000014", p=0.91, rank=1),
            link("000000000000003", f"{KOHOKU}-000000000000007", p=0.62, rank=2),
            link("000000000000002", "10000000022", band="auto", p=0.99, rank=1),
            link("000000000000002", f"{OSAKA_KITA}-000000000000042", p=0.7, rank=2, shien=True),
        ]
    )


def history(rows: list[dict[str, Any]]) -> pa.Table:
    """A link history from (atenabango, kohobango, hantei[, hanteibi]) rows, in the given order."""
    out = []
    for i, r in enumerate(rows):
        j, lg, a = parse_candidate_number(r["kohobango"])
        out.append(
            {
                "seq": i + 1,
                "lg_code": LG,
                "kohobango_sent": r["kohobango"],
                "juminhyokodo": j,
                "target_lg_code": lg,
                "target_atenabango": a,
                "hanteisha": "市民課　田中",
                "hanteibi": dt.date(2026, 11, 5),
                "riyu": None,
                "kijunbi": dt.date(2026, 11, 1),
                "set_id": "s1",
                "_file": "nayose.csv",
                "_line": i + 2,
                **r,
            }
        )
    return pa.Table.from_pylist(out, HISTORY)


def pairs(t: pa.Table) -> dict[tuple[str, str], tuple[str, str | None, str]]:
    """(宛名番号, 候補番号) → (band, decision, method)."""
    return {
        (r["atenabango"], candidate_number(r["juminhyokodo"], r["target_lg_code"], r["target_atenabango"])): (
            r["band"],
            r["decision"],
            r["method"],
        )
        for r in t.to_pylist()
    }


def unzipped(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist())


# --- the layout -----------------------------------------------------------------------------


@pytest.mark.unit
def test_nayose_is_a_layout_whose_display_columns_are_no_items() -> None:
    assert LAYOUTS["nayose"] is NAYOSE and NAYOSE.title == "名寄せ判定"
    assert NAYOSE.key == ("atenabango", "kohobango") and NAYOSE.spreadsheet and not NAYOSE.snapshot
    assert not NAYOSE.display_headers() & set(NAYOSE.header_aliases())
    assert all(not layout.display for layout in LAYOUTS.values() if layout is not NAYOSE)
    # the review file writes exactly the layout's items and display columns
    assert sorted(COLUMNS) == sorted([*NAYOSE.romaji, *(c.en for c in REVIEW_DISPLAY)])


VALID: dict[str, str | None] = {
    "atenabango": "000000000000003",
    "kohobango": "10000000014",
    "hantei": "一致",
    "hanteisha": "市民課　田中",
    "hanteibi": "2026-11-05",
    "riyu": "氏名と生年月日が一致",
}
#: (changes to the valid row, code, item) — one broken row per rule of the nayose suite
RULE_CASES: list[tuple[dict[str, str | None], str, str]] = [
    ({"atenabango": None}, "E0001", "atenabango"),
    ({"atenabango": "０００３"}, "E0002", "atenabango"),
    ({"atenabango": "1" * 16}, "E0003", "atenabango"),
    ({"kohobango": None}, "E0001", "kohobango"),
    ({"kohobango": "１００００"}, "E0002", "kohobango"),
    ({"kohobango": "1" * 23}, "E0003", "kohobango"),
    ({"hantei": None}, "E0001", "hantei"),
    ({"hantei": "ｲｯﾁ"}, "E0002", "hantei"),  # half-width: the character rule (and the code set)
    ({"hantei": "済み"}, "E0002", "hantei"),
    ({"hantei": "一致一致"}, "E0003", "hantei"),
    ({"hanteisha": None}, "E0004", "hanteisha"),
    ({"hanteisha": "tanaka"}, "E0002", "hanteisha"),
    ({"hanteisha": "田" * 51}, "E0003", "hanteisha"),
    ({"hanteibi": None}, "E0004", "hanteibi"),
    ({"hanteibi": "2026/11/05"}, "E0002", "hanteibi"),
    ({"hanteibi": "2026-02-30"}, "E0002", "hanteibi"),
    ({"hanteibi": "2026-11-055"}, "E0003", "hanteibi"),
    ({"riyu": "same name"}, "E0002", "riyu"),
    ({"riyu": "理" * 201}, "E0003", "riyu"),
]


def parsed_rows(rows: list[dict[str, str | None]]) -> pa.Table:
    n = len(rows)
    cols = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in NAYOSE.romaji}
    lines = pa.array(range(2, n + 2), pa.int64())
    return pa.table({**cols, "_file": ["f.csv"] * n, "_line": lines, "_row": pa.array(range(n), pa.int64())})


def hits(rows: list[dict[str, str | None]]) -> list[tuple[int, int, int, str | None]]:
    """(row, line, rule, value) of every broken rule; DuckDB and GX must agree."""
    con = duck.connect()
    con.register("parsed", parsed_rows(rows))
    fast = duck.arrow(con, "findings", findings_sql(rules_for(NAYOSE), "parsed")).to_pylist()
    ref = gx_hits(NAYOSE, parsed_rows(rows)).to_pylist()
    got = [[(h["_row"], h["_line"], h["rule"], h["value"]) for h in x] for x in (fast, ref)]
    assert got[0] == got[1], "the DuckDB engine must find what GX finds"
    return got[0]


@pytest.mark.unit
def test_every_rule_of_the_nayose_suite_fires_on_its_broken_row() -> None:
    rules = rules_for(NAYOSE)
    rows: list[dict[str, str | None]] = [VALID] + [
        {**VALID, "kohobango": f"2000000{i:04d}", **change} for i, (change, _, _) in enumerate(RULE_CASES)
    ]
    twin = {**VALID, "kohobango": "19999999999"}
    found = hits([*rows, twin, twin])  # the last two share the key
    expected = {i + 1: (code, item) for i, (_, code, item) in enumerate(RULE_CASES)}
    expected |= {len(rows): ("E0004", "kohobango"), len(rows) + 1: ("E0004", "kohobango")}
    fired = {(row, rules[rule].code, rules[rule].item) for row, _, rule, _ in found}
    for row, (code, item) in expected.items():
        assert (row, code, item) in fired, f"row {row}: {rows[row] if row < len(rows) else 'duplicate'}"
    assert not [f for f in fired if f[0] == 0], "the valid row raises nothing"
    covered = {
        rules[rule].name for row, _, rule, _ in found if expected.get(row) == (rules[rule].code, rules[rule].item)
    }
    suite = {e.meta["rule"] for e in build_suite(NAYOSE).expectations if e.meta}
    assert suite == {r.name for r in rules}
    assert sorted(suite - covered) == [], "rules no row breaks"


@pytest.mark.unit
def test_a_row_not_decided_is_one_finding_on_hantei() -> None:
    undecided = {**VALID, "hantei": None, "hanteisha": None, "hanteibi": None, "riyu": None}
    rules = rules_for(NAYOSE)
    assert [(rules[r].code, rules[r].item) for _, _, r, _ in hits([undecided])] == [("E0001", "hantei")]


# --- reading xlsx ---------------------------------------------------------------------------


def workbook(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    return workbook_bytes(wb, dt.datetime(2026, 11, 1))


@pytest.mark.unit
def test_cells_read_as_csv_text() -> None:
    assert [cell_text(v) for v in (None, "", " ", "000123", 123, 2.0, 0.25, True)] == [
        None, None, " ", "000123", "123", "2", "0.25", "TRUE",
    ]  # fmt: skip
    assert cell_text(dt.datetime(2026, 11, 5)) == "2026-11-05" and cell_text(dt.date(2026, 11, 5)) == "2026-11-05"
    assert cell_text(dt.datetime(2026, 11, 5, 9, 30)) == "2026-11-05 09:30:00"


@pytest.mark.unit
def test_xlsx_rows_keep_sheet_numbers_skip_display_columns_and_empty_rows() -> None:
    head = ["宛名番号", "候補_氏名", "候補番号", "判定", "判定者", "判定日", "一致確率"]
    data = workbook(
        [
            head,
            ["000000000000003", "山田　太郎", "10000000014", "一致", "市民課　田中", dt.date(2026, 11, 5), 0.93],
            [],
            ["000000000000002", None, "10000000022", None, None, None, 0.5],
            ["000000000000002", None, "10000000022", "保留", "市民課　田中", "2026-11-06", None, "extra"],
        ]
    )
    parsed = parse_xlsx(data, NAYOSE, "f.xlsx")
    assert parsed.rows_read == 3 == count_records(data)
    assert [(f.code, f.line) for f in parsed.findings] == [("R0001", 5)]
    rows = parsed.table.to_pylist()
    assert [r["_line"] for r in rows] == [2, 4]
    assert rows[0] == {**{k: rows[0][k] for k in ("_file", "_line")}, "atenabango": "000000000000003",
                       "kohobango": "10000000014", "hantei": "一致", "hanteisha": "市民課　田中",
                       "hanteibi": "2026-11-05", "riyu": None}  # fmt: skip
    assert parsed.table.column_names == [*NAYOSE.romaji, "_file", "_line"]


@pytest.mark.unit
def test_xlsx_is_refused_where_the_layout_takes_csv_only_or_unreadable() -> None:
    with pytest.raises(UploadSetRejected) as e:
        parse_xlsx(workbook([["宛名番号"]]), SHIEN, "f.xlsx")
    assert e.value.finding.code == "F0015"
    with pytest.raises(UploadSetRejected) as e:
        parse_xlsx(b"PK\x03\x04 not a workbook", NAYOSE, "f.xlsx")
    assert e.value.finding.code == "F0015"
    with pytest.raises(UploadSetRejected) as e:
        parse_xlsx(workbook([[], ["宛名番号"]]), NAYOSE, "f.xlsx")
    assert e.value.finding.code == "F0010"
    with pytest.raises(UploadSetRejected) as e:
        parse_xlsx(workbook([["宛名番号", "候補番号", "判定", "候補の住所"]]), NAYOSE, "f.xlsx")
    assert (e.value.finding.code, e.value.finding.item) == ("F0009", "候補の住所"), "only declared columns are skipped"


# --- the review files -----------------------------------------------------------------------


@pytest.fixture
def review(tmp_path: Path) -> tuple[Lake, list[Path]]:
    lake = Lake(tmp_path / "lake")
    return lake, write_review_files(lake.root, KIJUNBI, LG, review_candidates(), records())


@pytest.mark.unit
def test_review_workbook_has_frozen_header_dropdown_and_empty_fill_in_columns(review: tuple[Lake, list[Path]]) -> None:
    lake, (xlsx, csv_path) = review
    assert xlsx == lake.review_file(KIJUNBI, LG, ".xlsx") and xlsx.name == "nayose_koho_20261101.xlsx"
    assert csv_path.name == "nayose_koho_20261101.csv"
    wb = load_workbook(xlsx)
    ws = wb.worksheets[0]
    assert ws.title == "名寄せ候補" and ws.freeze_panes == "A2"
    head = [c.value for c in ws[1]]
    assert head == headers("ja") and head[:3] == ["宛名番号", "宛名_氏名", "宛名_フリガナ"]
    assert "判定" in head and "判定者" in head and "判定日" in head and "理由" in head
    [dv] = ws.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1 == '"一致,不一致,保留"'
    col = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[head.index("判定")]
    assert str(dv.sqref) == f"{col}2:{col}4"
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert len(rows) == 3, "band review only: the auto link is no candidate to decide"
    assert all(r[h] is None for r in rows for h in ("判定", "判定者", "判定日", "理由"))
    assert all(ws.column_dimensions[c].width and ws.column_dimensions[c].width >= 6 for c in "ABCDEFGH")
    assert [(r["宛名番号"], r["順位"]) for r in rows] == [("000000000000002", 2), ("000000000000003", 1),
                                                       ("000000000000003", 2)]  # fmt: skip
    yamada = [r for r in rows if r["宛名番号"] == "000000000000003"]
    assert [r["候補番号"] for r in yamada] == ["10000000014", f"{KOHOKU}-000000000000007"]
    assert yamada[0]["宛名_住所"] == "神奈川県横浜市港北区日吉本町一丁目２番３号", "the own record's address"
    assert yamada[0]["候補_住所_市区町村"] == name_of(KOHOKU) == "神奈川県横浜市港北区"
    assert (yamada[0]["候補_町字一致"], yamada[0]["候補_番地一致"]) == ("一致", "旧住所で一致")
    assert (yamada[1]["候補_町字一致"], yamada[1]["候補_番地一致"]) == ("不一致", "不一致")
    assert yamada[0]["根拠"] == "氏: 一致 (+8.1)、町字: 一致 (+2.5)" and yamada[0]["一致確率"] == 0.91
    assert wb.sheetnames == ["名寄せ候補", "説明"]


@pytest.mark.unit
def test_no_street_address_of_another_municipality_anywhere(review: tuple[Lake, list[Path]]) -> None:
    _, (xlsx, csv_path) = review
    texts = {"xlsx": unzipped(xlsx.read_bytes()), "csv": csv_path.read_bytes().decode("utf-8-sig")}
    for kind, text in texts.items():
        for street in OTHER_STREETS:
            assert street not in text, f"{kind} shows {street}"
        assert "綱島" not in text and "梅田" not in text, kind


@pytest.mark.unit
def test_nothing_of_the_address_of_a_candidate_under_shien(review: tuple[Lake, list[Path]]) -> None:
    lake, (xlsx, csv_path) = review
    rows = list(csv.DictReader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"), newline="")))
    [protected] = [r for r in rows if r["候補_氏名"] == "鈴木　花子"]
    assert [protected[c] for c in ("候補_住所_市区町村", "候補_町字一致", "候補_番地一致")] == [HIDDEN] * 3
    assert protected["根拠"] == "氏: 一致 (+8.1)", "address reasons are left out"
    # her 候補番号 would name the municipality: it is masked, and the lake resolves the mask
    number = f"{OSAKA_KITA}-000000000000042"
    assert protected["候補番号"] == mask_number(review_key(lake), number) and len(protected["候補番号"]) == 22
    assert json.loads(lake.review_masks(KIJUNBI, LG).read_text()) == {protected["候補番号"]: number}
    for text in (unzipped(xlsx.read_bytes()), csv_path.read_bytes().decode("utf-8-sig")):
        for leak in (OSAKA_KITA, "大阪", OTHER_STREETS[2]):
            assert leak not in text


@pytest.mark.unit
def test_review_files_are_byte_identical_on_rerun_and_csv_is_excel_csv(review: tuple[Lake, list[Path]]) -> None:
    lake, files = review
    first = [p.read_bytes() for p in files]
    again = write_review_files(lake.root, KIJUNBI, LG, review_candidates(), records())
    assert [p.read_bytes() for p in again] == first
    with zipfile.ZipFile(files[0]) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 11, 1, 0, 0, 0)}
        assert b"2026-11-01T00:00:00Z" in z.read("docProps/core.xml")
    data = first[1]
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == headers("ja") and len(rows) == 4
    assert rows[1][COLUMNS.index("match_probability")] == "0.700"


@pytest.mark.unit
def test_english_headers_parse_back(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    xlsx, csv_path = write_review_files(lake.root, KIJUNBI, LG, review_candidates(), records(), header="en")
    head = [c.value for c in load_workbook(xlsx).worksheets[0][1]]
    assert head[:2] == ["atenabango", "own_name"] and "hantei" in head and "candidate_choaza_agrees" in head
    for parsed in (
        parse_xlsx(xlsx.read_bytes(), NAYOSE, xlsx.name),
        parse(csv_path.read_bytes().decode("utf-8-sig"), NAYOSE, csv_path.name),
    ):
        assert parsed.rows_read == 3 and parsed.table.column("kohobango").null_count == 0


@pytest.mark.unit
def test_an_empty_review_is_a_header_only_file(tmp_path: Path) -> None:
    xlsx, csv_path = write_review_files(tmp_path, KIJUNBI, LG, candidates([]), records())
    assert count_rows(xlsx) == 0 == count_rows(csv_path)
    assert load_workbook(xlsx).worksheets[0].max_row == 1


@pytest.mark.unit
def test_review_files_reach_the_outbox_once_per_change(review: tuple[Lake, list[Path]], tmp_path: Path) -> None:
    lake, (xlsx, csv_path) = review
    landing = tmp_path / "landing"
    inbox = LocalInbox(landing, LG)
    names = [xlsx.name, csv_path.name]
    assert sorted(return_review_files(inbox, lake.root)) == sorted(names)
    outbox = landing / LG / "outbox"
    assert (outbox / xlsx.name).read_bytes() == xlsx.read_bytes()
    assert return_review_files(inbox, lake.root) == [], "unchanged bytes do not go out again"
    assert return_review_files(inbox, lake.root, kijunbi="2026-10-01") == []
    write_review_files(lake.root, KIJUNBI, LG, review_candidates().slice(0, 1), records())
    assert sorted(return_municipality_review_files(landing, lake.root, LG)) == sorted(names)
    # killed after the file reached the outbox, before its marker: returned again next time
    Lake.returned_marker(xlsx, ".xlsx").unlink()
    assert return_review_files(inbox, lake.root) == [xlsx.name]
    assert sorted(p.name for p in outbox.iterdir()) == sorted(names), "markers and masks stay in the lake"


# --- decisions ------------------------------------------------------------------------------


@pytest.mark.unit
def test_ichi_links_the_pair_and_demotes_the_other_auto_candidate() -> None:
    cand = candidates(
        [
            link("000000000000002", "10000000022", band="auto", p=0.99, rank=1),
            link("000000000000002", "10000000030", p=0.6, rank=2),
        ]
    )
    out = apply_decisions(
        cand, history([{"atenabango": "000000000000002", "kohobango": "10000000030", "hantei": "一致"}])
    )
    assert pairs(out) == {
        ("000000000000002", "10000000030"): ("auto", "一致", "decision"),
        ("000000000000002", "10000000022"): ("review", None, "probabilistic"),
    }
    assert out.column("rank").to_pylist() == [1, 2] and out.schema == cand.schema
    assert out.column("match_probability").to_pylist() == [0.6, 0.99], "scores are kept"


@pytest.mark.unit
def test_ichi_on_a_pair_that_is_no_candidate_is_still_a_link() -> None:
    cand = candidates([link("000000000000002", "10000000022", p=0.4)])
    decided = history([{"atenabango": "000000000000003", "kohobango": f"{KOHOKU}-000000000000007", "hantei": "一致"}])
    out = apply_decisions(cand, decided)
    added = [r for r in out.to_pylist() if r["atenabango"] == "000000000000003"]
    assert added == [{**added[0], "band": "auto", "method": "decision", "decision": "一致", "match_probability": None,
                      "target_lg_code": KOHOKU, "target_atenabango": "000000000000007", "rank": 1}]  # fmt: skip
    assert unmatched_decisions(cand, decided).num_rows == 0
    # with the records, a pair naming no record is not linked but reported
    ghost = history([{"atenabango": "000000000000009", "kohobango": "10000000099", "hantei": "一致"}])
    assert apply_decisions(cand, ghost, records()).num_rows == 1
    assert unmatched_decisions(cand, ghost, records()).column("reason").to_pylist() == ["unknown_atenabango"]


@pytest.mark.unit
def test_at_most_one_auto_per_atena_the_latest_ichi_wins() -> None:
    cand = candidates([link("000000000000002", "10000000022", p=0.9), link("000000000000002", "10000000030", p=0.8)])
    decided = history(
        [
            {"atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "一致"},
            {"atenabango": "000000000000002", "kohobango": "10000000030", "hantei": "一致"},
        ]
    )
    out = pairs(apply_decisions(cand, decided))
    assert out[("000000000000002", "10000000030")][0] == "auto"
    assert out[("000000000000002", "10000000022")][:2] == ("review", "一致")
    [u] = unmatched_decisions(cand, decided).to_pylist()
    assert (u["kohobango_sent"], u["reason"]) == ("10000000022", "conflicting_match")


@pytest.mark.unit
def test_fuichi_removes_the_pair_and_it_never_returns() -> None:
    no = history([{"atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "不一致"}])
    first = candidates([link("000000000000002", "10000000022", p=0.7), link("000000000000002", "10000000030", p=0.5)])
    assert list(pairs(apply_decisions(first, no))) == [("000000000000002", "10000000030")]
    assert apply_decisions(first, no).column("rank").to_pylist() == [1], "no gap where the pair was"
    # a later run scores the pair higher, even as an automatic link: it stays removed
    later = candidates([link("000000000000002", "10000000022", band="auto", p=0.999, method="juminhyokodo")])
    assert apply_decisions(later, no).num_rows == 0
    # and a 不一致 on a pair that is not proposed now is kept in force, and reported
    assert unmatched_decisions(candidates([]), no).column("reason").to_pylist() == ["not_a_candidate"]


@pytest.mark.unit
def test_kaijo_undoes_a_link_until_a_later_ichi() -> None:
    cand = candidates([link("000000000000002", "10000000022", p=0.7)])
    match = {"atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "一致"}
    undo = {**match, "hantei": "解除"}
    assert pairs(apply_decisions(cand, history([match])))[("000000000000002", "10000000022")][0] == "auto"
    undone = history([match, undo])
    assert apply_decisions(cand, undone).num_rows == 0
    assert apply_decisions(candidates([]), undone).num_rows == 0, "the decision link is gone too"
    assert unmatched_decisions(cand, undone).num_rows == 0, "a 解除 after a 一致 is applied as written"
    relinked = apply_decisions(cand, history([match, undo, match]))
    assert pairs(relinked)[("000000000000002", "10000000022")] == ("auto", "一致", "decision")
    [u] = unmatched_decisions(cand, history([undo])).to_pylist()
    assert u["reason"] == "no_link_to_undo"


@pytest.mark.unit
def test_horyu_keeps_or_makes_the_pair_a_review_candidate() -> None:
    cand = candidates([link("000000000000002", "10000000022", band="auto", p=0.97)])
    hold = [
        {"atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "保留"},
        {"atenabango": "000000000000003", "kohobango": "10000000014", "hantei": "保留"},
    ]
    out = pairs(apply_decisions(cand, history(hold)))
    assert out == {
        ("000000000000002", "10000000022"): ("review", "保留", "probabilistic"),
        ("000000000000003", "10000000014"): ("review", "保留", "decision"),
    }


@pytest.mark.unit
def test_bad_candidate_numbers_are_reported_never_applied() -> None:
    assert parse_candidate_number("10000000014") == ("10000000014", None, None)
    assert parse_candidate_number(f"{KOHOKU}-000000000000007") == (None, KOHOKU, "000000000000007")
    for bad in ("1000000001", "141090-000000000000007", "141097-", "141097-" + "1" * 16, "S" + "0" * 21):
        assert parse_candidate_number(bad) == (None, None, None), bad
    decided = history([{"atenabango": "000000000000002", "kohobango": "141090-7", "hantei": "一致"}])
    assert apply_decisions(candidates([]), decided).num_rows == 0
    [u] = unmatched_decisions(candidates([]), decided).to_pylist()
    assert u["reason"] == "invalid_kohobango" and u["reason_ja"].startswith("候補番号の形式")


@pytest.mark.unit
def test_effective_decision_is_the_latest_and_idempotent() -> None:
    rows = [
        {"atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "一致"},
        {"atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "解除"},
        {"atenabango": "000000000000003", "kohobango": "10000000014", "hantei": "保留"},
    ]
    eff = effective_decisions(history(rows))
    assert [(r["hantei"], r["decisions"], r["linked_before"]) for r in eff.to_pylist()] == [
        ("解除", 2, True),
        ("保留", 1, False),
    ]
    assert effective_decisions(eff).equals(eff)
    cand = candidates([link("000000000000002", "10000000022")])
    assert apply_decisions(cand, eff).equals(apply_decisions(cand, history(rows)))


# --- the whole loop -------------------------------------------------------------------------


def fill_in(path: Path, out: Path, decisions: dict[tuple[str, str], tuple[str, str, Any]]) -> None:
    """What a clerk does in Excel: choose 判定, type 判定者 and 判定日 (a date cell), save."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    head = [c.value for c in ws[1]]
    col = {h: head.index(h) for h in ("宛名番号", "候補番号", "判定", "判定者", "判定日", "理由")}
    for row in ws.iter_rows(min_row=2):
        key = (row[col["宛名番号"]].value, row[col["候補番号"]].value)
        if key in decisions:
            hantei, who, when = decisions[key]
            row[col["判定"]].value, row[col["判定者"]].value, row[col["判定日"]].value = hantei, who, when
    wb.save(out)


def upload(folder: Path, files: list[Path], landing: Path, kijunbi: str) -> None:
    """The set as ``jumin upload`` builds it, delivered to the inbox (data files, manifest last)."""
    up = prepare(files, LG, "nayose", kijunbi)
    (folder / up.manifest_name).write_bytes(up.manifest_bytes)
    deliver_local(folder, landing, LG)


@pytest.mark.integration
def test_a_filled_in_review_file_comes_back_as_decisions(review: tuple[Lake, list[Path]], tmp_path: Path) -> None:
    lake, (xlsx, _) = review
    landing = tmp_path / "landing"
    return_municipality_review_files(landing, lake.root, LG)
    received = landing / LG / "outbox" / xlsx.name
    masked = [
        r for r in csv.DictReader(io.StringIO(_.read_bytes().decode("utf-8-sig"))) if r["候補_氏名"] == "鈴木　花子"
    ]
    sent = tmp_path / "clerk"
    sent.mkdir()
    filled = sent / xlsx.name  # uploaded under the name it came with
    fill_in(
        received,
        filled,
        {
            ("000000000000003", "10000000014"): ("不一致", "市民課　田中", dt.datetime(2026, 11, 5)),
            ("000000000000003", f"{KOHOKU}-000000000000007"): ("一致", "市民課　田中", "2026-11-05"),
            ("000000000000002", masked[0]["候補番号"]): ("一致", "市民課　佐藤", dt.datetime(2026, 11, 6)),
        },
    )
    upload(sent, [filled], landing, KIJUNBI)

    assert cli(["ingest", "--landing", str(landing), "--lake", str(lake.root)]) == 0
    assert cli(["validate", "--lake", str(lake.root)]) == 0
    [receipt_path] = lake.receipts(LG)
    receipt = json.loads(receipt_path.read_text(encoding="utf-8"))
    assert (receipt["layout"], receipt["status"]) == ("nayose", "accepted")
    assert receipt["counts"] == {"input": 3, "accepted": 3, "rejected": 0, "warnings": 0}
    accepted = pq.read_table(lake.accepted("nayose", LG, receipt["set_id"]))
    assert accepted.column("_line").to_pylist() == [2, 3, 4], "sheet rows"
    return_municipality_receipts(landing, lake.root, LG)
    assert any(p.name.endswith(".receipt.txt") for p in (landing / LG / "outbox").iterdir())

    hist = link_history(lake.root, LG)
    assert [(r["atenabango"], r["kohobango"], r["hantei"], r["hanteisha"], str(r["hanteibi"])) for r in
            hist.to_pylist()] == [
        ("000000000000003", "10000000014", "不一致", "市民課　田中", "2026-11-05"),
        ("000000000000003", f"{KOHOKU}-000000000000007", "一致", "市民課　田中", "2026-11-05"),
        ("000000000000002", f"{OSAKA_KITA}-000000000000042", "一致", "市民課　佐藤", "2026-11-06"),
    ]  # fmt: skip
    assert hist.column("kohobango_sent").to_pylist()[2] == masked[0]["候補番号"], "the mask as sent, resolved"
    out = pairs(apply_decisions(review_candidates(), hist, records()))
    assert ("000000000000003", "10000000014") not in out
    assert out[("000000000000003", f"{KOHOKU}-000000000000007")] == ("auto", "一致", "decision")
    assert out[("000000000000002", f"{OSAKA_KITA}-000000000000042")] == ("auto", "一致", "decision")
    assert out[("000000000000002", "10000000022")][0] == "review", "demoted: one auto per 宛名"
    assert snapshot_municipality(lake.root, LG, KIJUNBI) == [], "decision sets are no snapshots"

    # a second round: 解除 of one link, and one candidate left undecided (reported, not lost)
    second = tmp_path / "clerk2"
    second.mkdir()
    data: list[list[Any]] = [["宛名番号", "候補番号", "判定", "判定者", "判定日", "理由"],
            ["000000000000003", f"{KOHOKU}-000000000000007", "解除", "市民課　田中", "2026-11-20", "別人と判明"],
            ["000000000000002", "10000000022", None, None, None, None]]  # fmt: skip
    (second / "nayose_kaijo.xlsx").write_bytes(workbook(data))
    upload(second, [second / "nayose_kaijo.xlsx"], landing, "2026-11-15")
    assert cli(["ingest", "--landing", str(landing), "--lake", str(lake.root)]) == 0
    assert cli(["validate", "--lake", str(lake.root)]) == 3, "rows rejected: the undecided one"
    [again] = [json.loads(p.read_text()) for p in lake.receipts(LG) if p != receipt_path]
    assert again["status"] == "accepted_with_errors"
    assert [(f["code"], f["line"], f["item"]) for f in again["findings"]] == [("E0001", 3, "hantei")]
    later = link_history(lake.root, LG)
    assert later.slice(0, 3).drop(["seq"]).equals(hist.drop(["seq"])), "the history only grows"
    assert later.num_rows == 4 and later.column("hantei").to_pylist()[3] == "解除"
    assert link_history(lake.root, LG, known_at="2026-11-10").equals(hist), "what was known then"
    out = pairs(apply_decisions(review_candidates(), later, records()))
    assert ("000000000000003", f"{KOHOKU}-000000000000007") not in out


@pytest.mark.unit
def test_no_decisions_yet_is_an_empty_history(tmp_path: Path) -> None:
    empty = link_history(tmp_path, LG)
    assert empty.num_rows == 0 and empty.schema == HISTORY
    cand = review_candidates()
    assert apply_decisions(cand, empty).equals(apply_decisions(cand, empty))
    assert pairs(apply_decisions(cand, empty)) == pairs(cand)
