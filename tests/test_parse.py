"""Decoding and strict CSV parsing, with original line numbers."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.errors import UploadSetRejected
from extract.parse import LINE, decode, parse, parse_exact, parse_plain
from jumin.core.layouts import SHIEN
from jumin.core.manifest import count_rows

pytestmark = [pytest.mark.unit]

HEADER = "宛名番号,区分,開始日,終了日"


def rows(text: str) -> list[dict]:
    table: list[dict] = parse(text, SHIEN, "f.csv").table.to_pylist()
    return table


@pytest.mark.parametrize(
    "data,encoding",
    [
        ("宛名番号\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "宛名番号\n".encode(), "utf-8"),
        ("宛名番号\r\n".encode("cp932"), "cp932"),
        ("宛名番号\r\n".encode("cp932"), "Shift_JIS"),
    ],
)
def test_decode_accepted_encodings(data: bytes, encoding: str) -> None:
    assert decode(data, encoding, "f.csv").strip() == "宛名番号"


def test_decode_names_line_of_first_bad_byte() -> None:
    data = b"a\nb\n" + "佐藤\n".encode("cp932")
    with pytest.raises(UploadSetRejected) as e:
        decode(data, "utf-8", "f.csv")
    assert (e.value.finding.code, e.value.finding.line) == ("F0007", 3)
    assert "cp932" in e.value.finding.detail


def test_decode_refuses_utf8_declared_as_cp932() -> None:
    with pytest.raises(UploadSetRejected) as e:
        decode("x\n佐藤\n".encode(), "cp932", "f.csv")
    assert (e.value.finding.code, e.value.finding.line) == ("F0007", 2)


def test_decode_unknown_encoding() -> None:
    with pytest.raises(UploadSetRejected) as e:
        decode(b"x", "latin-1", "f.csv")
    assert e.value.finding.code == "F0013"


def test_parse_keeps_line_numbers_across_quoted_newlines_and_crlf() -> None:
    text = f'{HEADER}\r\n1,1,2026-01-01,2027-01-01\r\n"2\r\n2",1,2026-01-01,2027-01-01\r\n3,"1",2026-01-01,"2027,1"\r\n'
    got = rows(text)
    assert [r[LINE] for r in got] == [2, 3, 5]
    assert got[1]["atenabango"] == "2\r\n2"
    assert got[2]["shuryobi"] == "2027,1"


def test_parse_romaji_header_and_missing_optional_columns() -> None:
    got = rows("atenabango,kubun,kaishibi,shuryobi\n1,,2026-01-01,2027-01-01\n")
    assert got[0]["kubun"] is None and got[0]["atenabango"] == "1"


def test_parse_reports_rows_with_wrong_field_count_and_skips_blank_lines() -> None:
    parsed = parse(f"{HEADER}\n1,1,2026-01-01,2027-01-01\n\n2,1\n3,1,2026-01-01,2027-01-01\n", SHIEN, "f.csv")
    assert parsed.rows_read == 3
    assert [r[LINE] for r in parsed.table.to_pylist()] == [2, 5]
    assert [(f.code, f.line) for f in parsed.findings] == [("R0001", 4)]


@pytest.mark.parametrize(
    "text,code",
    [
        ("", "F0010"),
        ("宛名番号,区分,開始日\n", "F0008"),
        (f"{HEADER},余分\n", "F0009"),
        (f"{HEADER},区分\n", "F0009"),
        (f'{HEADER}\n1,1,2026-01-01,"2027-01-01\n', "F0011"),
    ],
)
def test_parse_file_level_errors(text: str, code: str) -> None:
    with pytest.raises(UploadSetRejected) as e:
        parse(text, SHIEN, "f.csv")
    assert e.value.finding.code == code


def test_line_separator_characters_inside_values_are_data() -> None:
    got = rows(f"{HEADER}\n1\u2028x\x1c,1,2026-01-01,2027-01-01\n2,1,2026-01-01,2027-01-01\n")
    assert [(r["atenabango"], r[LINE]) for r in got] == [("1\u2028x\x1c", 2), ("2", 3)]


cells = st.lists(st.sampled_from(["a", "佐", '"', ",", "\n", "\r\n", " ", "ｱ"]), max_size=6).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(st.lists(cells, min_size=4, max_size=4), max_size=8),
    crlf=st.booleans(),
    encoding=st.sampled_from(["utf-8", "cp932"]),
)
def test_manifest_row_count_agrees_with_the_parser(
    records: list[list[str]], crlf: bool, encoding: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows([HEADER.split(","), *records])
    path = tmp_path_factory.mktemp("c") / "f.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    parsed = parse(decode(path.read_bytes(), encoding, "f.csv"), SHIEN, "f.csv")
    assert count_rows(path) == parsed.rows_read == len(records)


plain_cells = st.lists(st.sampled_from(["a", "佐", " ", "ｱ", "1", "\u3000"]), max_size=4).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.lists(plain_cells, min_size=3, max_size=5), max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    final=st.booleans(),
)
def test_fast_path_agrees_with_the_exact_reader(records: list[list[str]], newline: str, final: bool) -> None:
    text = newline.join([HEADER, *(",".join(r) for r in records)]) + (newline if final else "")
    fast = parse_plain(text, SHIEN, "f.csv")
    exact = parse_exact(text, SHIEN, "f.csv")
    if all(len(r) == 4 for r in records):
        assert fast is not None, "a plain, complete file takes the fast path"
    if fast is not None:
        assert fast.table.equals(exact.table) and fast.rows_read == exact.rows_read
        assert exact.findings == []
        # given the file's own UTF-8 bytes, the fast path reads the same table
        with_bytes = parse_plain(text, SHIEN, "f.csv", text.encode("utf-8"))
        assert with_bytes is not None and with_bytes.table.equals(fast.table)
