"""The catalogue of malformed upload sets in ``sample_data/bad/``, generated from one valid base.

Every case starts from the same small, hand-written, valid upload set (:func:`base`) and applies
exactly one defect. Its ``expected.json`` states the receipt the pipeline must write: status,
counts and every finding as (code, file, line, item), nothing more and nothing less.
``tests/test_bad_samples.py`` runs each case through ingest and validation and checks that the
committed folders equal a fresh run of this module::

    python -m jumin.dev.badcases sample_data/bad

A case folder looks like::

    <case>/landing/131016/<data file>.csv
    <case>/landing/131016/<set name>.manifest.json
    <case>/expected.json

Data files are CSV with CRLF line endings and one record per line, so data row ``i`` (0-based)
is on line ``i + 2`` (the header is line 1); the 名寄せ判定 cases of a filled-in review file are
``.xlsx`` workbooks (:func:`xlsx_of`), whose findings name the sheet's row numbers.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import inspect
import io
import json
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jumin.core.errors import CODES, SEVERITY_WARNING
from jumin.core.files import atomic_write_bytes, atomic_write_text, sha256_bytes
from jumin.core.layouts import ATENA, JUKI, NAYOSE, REVIEW_DISPLAY, SHIEN, TEIKYOTEISHI, Layout
from jumin.core.manifest import MANIFEST_SUFFIX, FileEntry, Manifest
from jumin.core.xlsx import workbook_bytes

log = logging.getLogger(__name__)

LG_CODE = "131016"  # 千代田区
KIJUNBI = "2026-11-01"

#: (code, file, line, item) of one finding; ``None`` where the receipt gives no line or item
Located = tuple[str, str, int | None, str | None]


# --- the valid base -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """A CSV file of ``layout`` before encoding: column ids (romaji), header text and rows."""

    layout: Layout
    columns: tuple[str, ...]
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, layout: Layout, records: Sequence[dict[str, str]], japanese: bool = False) -> Sheet:
        """A sheet with every item of ``layout``; items missing from a record are empty."""
        header = tuple(i.ja if japanese else i.romaji for i in layout.items)
        rows = tuple(tuple(r.get(name, "") for name in layout.romaji) for r in records)
        unknown = {k for r in records for k in r} - set(layout.romaji)
        if unknown:
            raise KeyError(f"{layout.name}: no items {sorted(unknown)}")
        return cls(layout, tuple(layout.romaji), header, rows)

    @staticmethod
    def line(row: int) -> int:
        """The file line of data row ``row`` (0-based): the header is line 1."""
        return row + 2

    def value(self, row: int, column: str) -> str:
        """The text of ``column`` in data row ``row``."""
        return self.rows[row][self.columns.index(column)]

    def with_value(self, row: int, column: str, value: str) -> Sheet:
        """A copy with one cell changed."""
        i = self.columns.index(column)
        changed = (*self.rows[row][:i], value, *self.rows[row][i + 1 :])
        return self.with_fields(row, changed)

    def with_fields(self, row: int, fields: tuple[str, ...]) -> Sheet:
        """A copy where data row ``row`` has exactly ``fields`` (any number of them)."""
        return replace(self, rows=(*self.rows[:row], fields, *self.rows[row + 1 :]))

    def without_column(self, column: str) -> Sheet:
        """A copy without ``column``, in the header and in every row."""
        i = self.columns.index(column)

        def drop(t: tuple[str, ...]) -> tuple[str, ...]:
            return t[:i] + t[i + 1 :]

        return Sheet(self.layout, drop(self.columns), drop(self.header), tuple(map(drop, self.rows)))

    def with_column(self, header: str, value: str) -> Sheet:
        """A copy with one more column at the end, ``value`` in every row."""
        return Sheet(
            self.layout, (*self.columns, header), (*self.header, header), tuple((*r, value) for r in self.rows)
        )

    def text(self, quote_all: bool = False) -> str:
        """The CSV text (RFC 4180, CRLF), quoting only where needed unless ``quote_all``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class Base:
    """The valid base of every case: one small sheet per layout."""

    atena: Sheet
    juki: Sheet
    shien: Sheet
    teikyoteishi: Sheet
    nayose: Sheet


def _atena_records() -> list[dict[str, str]]:
    """Four 宛名 rows of 千代田区: one resident with two history rows, one resident born there,
    and one 住登外者 living in 横浜市港北区 whose birth date is 不詳 (a non-calendar date)."""
    sato = {
        "atenabango": "000000000000001",
        "rirekibango": "1",
        "jutokubun": "1",
        "juminhyokodo": "10000000014",
        "kojinbango": "123456789018",
        "shimei": "佐藤　一郎",
        "uji_nihonjin": "佐藤",
        "na_nihonjin": "一郎",
        "shimei_furigana": "サトウ　イチロウ",
        "seibetsu": "1",
        "seinengappi": "1980-05-12",
        "seinengappi_fushofuragu": "0",
        "jusho_shikuchosonkodo": "131016",
        "jusho_choazakodo": "0001001",
        "jusho_todofuken": "東京都",
        "jusho_shikugunchosonmei": "千代田区",
        "jusho_choaza": "丸の内一丁目",
        "jusho_banchigohyoki": "１番１号",
        "jusho_yubinbango": "1000005",
        "idojiyu": "11",
        "idobi": "2015-04-01",
        "shoribi": "2015-04-03",
        "daihyo_atena_flag": "0",
        "tagyomusanshofukafuragu": "0",
        "setaibango": "0000000001",
        "zokugara": "世帯主",
    }
    sato_moved = {
        **sato,
        "rirekibango": "2",
        "jusho_choazakodo": "0002001",
        "jusho_choaza": "一番町",
        "jusho_banchigohyoki": "１０番地２",
        "jusho_katagaki": "一番町ハイツ２０１号室",
        "jusho_yubinbango": "1020082",
        "idojiyu": "30",
        "idobi": "2021-10-01",
        "shoribi": "2021-10-04",
    }
    suzuki = {
        **sato,
        "atenabango": "000000000000002",
        "juminhyokodo": "10000000022",
        "kojinbango": "234567890121",
        "shimei": "鈴木　花子",
        "uji_nihonjin": "鈴木",
        "na_nihonjin": "花子",
        "shimei_furigana": "スズキ　ハナコ",
        "seibetsu": "2",
        "seinengappi": "1992-11-03",
        "jusho_choazakodo": "0003002",
        "jusho_choaza": "神田駿河台二丁目",
        "jusho_banchigohyoki": "３番地",
        "jusho_yubinbango": "1010062",
        "idojiyu": "10",
        "idobi": "1992-11-03",
        "shoribi": "1992-11-10",
        "setaibango": "0000000002",
        "zokugara": "世帯主",
    }
    yamada = {
        "atenabango": "000000000000003",
        "rirekibango": "1",
        "jutokubun": "2",
        "shimei": "山田　太郎",
        "uji_nihonjin": "山田",
        "na_nihonjin": "太郎",
        "shimei_furigana": "ヤマダ　タロウ",
        "seibetsu": "1",
        "seinengappi": "1951-02-29",
        "seinengappi_fushofuragu": "1",
        "seinengappi_fushohyoki": "昭和２６年２月２９日",
        "jusho_shikuchosonkodo": "141097",
        "jusho_choazakodo": "0000000",
        "jusho_todofuken": "神奈川県",
        "jusho_shikugunchosonmei": "横浜市港北区",
        "jusho_choaza": "日吉本町一丁目",
        "jusho_banchigohyoki": "２番３号",
        "jusho_yubinbango": "2230062",
        "idojiyu": "15",
        "idobi": "2024-06-03",
        "shoribi": "2024-06-05",
        "daihyo_atena_flag": "0",
        "tagyomusanshofukafuragu": "0",
    }
    return [sato, sato_moved, suzuki, yamada]


def _juki_records() -> list[dict[str, str]]:
    """The current 本人確認情報 of the two residents of the 宛名 base (with a Japanese header)."""
    sato = {
        "juminhyokodo": "10000000014",
        "rirekibango": "2",
        "shimei": "佐藤　一郎",
        "shimei_furigana": "サトウ　イチロウ",
        "seibetsu": "1",
        "seinengappi": "1980-05-12",
        "seinengappi_fushofuragu": "0",
        "jusho_shikuchosonkodo": "131016",
        "jusho": "東京都千代田区一番町１０番地２",
        "kojinbango": "123456789018",
        "idojiyu": "30",
        "idobi": "2021-10-01",
        "shoribi": "2021-10-04",
    }
    suzuki = {
        **sato,
        "juminhyokodo": "10000000022",
        "shimei": "鈴木　花子",
        "shimei_furigana": "スズキ　ハナコ",
        "seibetsu": "2",
        "seinengappi": "1992-11-03",
        "rirekibango": "1",
        "jusho": "東京都千代田区神田駿河台二丁目３番地",
        "kojinbango": "234567890121",
        "idojiyu": "10",
        "idobi": "1992-11-03",
        "shoribi": "1992-11-10",
    }
    return [sato, suzuki]


def _shien_records() -> list[dict[str, str]]:
    """One person under DV等支援措置: a one-year measure, then its extension (a new row)."""
    first = {"atenabango": "000000000000002", "kubun": "1", "kaishibi": "2025-04-01", "shuryobi": "2026-03-31"}
    return [first, {**first, "kaishibi": "2026-04-01", "shuryobi": "2027-03-31"}]


def _teikyoteishi_records() -> list[dict[str, str]]:
    """提供停止の申出 of two residents: one for the health-promotion notices (kenko_annai), one
    for every service allowing opting out, withdrawn and then filed again."""
    first = {
        "atenabango": "000000000000001",
        "teikyosaki": "kenko_annai",
        "moshidebi": "2026-05-12",
        "tekkaibi": "",
        "uketsukesha": "住民課　佐藤",
    }
    every = {**first, "atenabango": "000000000000002", "teikyosaki": "*", "moshidebi": "2025-06-02"}
    return [first, {**every, "tekkaibi": "2025-12-01"}, {**every, "moshidebi": "2026-09-15"}]


def _nayose_records() -> list[dict[str, str]]:
    """Three 名寄せ decisions of 千代田区: 山田 (a 住登外者) is not the 住基 person 10000000014 but is
    Yokohama's 宛名 000000000000007; 鈴木 and the 住基 person 10000000022 are left for later."""
    no = {
        "atenabango": "000000000000003",
        "kohobango": "10000000014",
        "hantei": "不一致",
        "hanteisha": "市民課　田中　一郎",
        "hanteibi": "2026-11-05",
        "riyu": "生年月日と性別が異なる",
    }
    return [
        no,
        {**no, "kohobango": "141097-000000000000007", "hantei": "一致", "riyu": "転出前の住所と氏名が一致"},
        {**no, "atenabango": "000000000000002", "kohobango": "10000000022", "hantei": "保留", "riyu": ""},
    ]


def base() -> Base:
    """The valid base: every case applies one defect to a copy of it."""
    return Base(
        atena=Sheet.of(ATENA, _atena_records()),
        juki=Sheet.of(JUKI, _juki_records(), japanese=True),
        shien=Sheet.of(SHIEN, _shien_records()),
        teikyoteishi=Sheet.of(TEIKYOTEISHI, _teikyoteishi_records(), japanese=True),
        nayose=Sheet.of(NAYOSE, _nayose_records(), japanese=True),
    )


# --- upload sets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """An upload set as it lands in ``landing/<lg_code>/``: data files and the manifest."""

    name: str
    manifest: Manifest
    files: dict[str, bytes] = field(default_factory=dict)
    #: written instead of the manifest's JSON when set (a malformed manifest)
    manifest_text: str | None = None

    @property
    def manifest_name(self) -> str:
        """File name of the manifest."""
        return f"{self.name}{MANIFEST_SUFFIX}"

    @property
    def file(self) -> str:
        """Name of the (single) data file the manifest lists."""
        return self.manifest.files[0].name

    @property
    def declared_rows(self) -> int:
        """Rows the manifest declares (0 when it is unreadable)."""
        return 0 if self.manifest_text is not None else sum(f.rows for f in self.manifest.files)

    def with_entry(self, **changes: Any) -> Upload:
        """A copy whose (single) manifest file entry has ``changes``."""
        entry = replace(self.manifest.files[0], **changes)
        return replace(self, manifest=replace(self.manifest, files=(entry,)))

    def with_manifest(self, **changes: Any) -> Upload:
        """A copy whose manifest has ``changes``."""
        return replace(self, manifest=replace(self.manifest, **changes))

    def with_data(self, data: bytes) -> Upload:
        """A copy with other bytes in the data file and the manifest left as it was."""
        return replace(self, files={self.file: data})

    def write(self, folder: Path) -> None:
        """Write the data files, then the manifest (uploaded last), into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(self.files.items()):
            atomic_write_bytes(folder / name, data)
        text = self.manifest_text if self.manifest_text is not None else self.manifest.to_json()
        atomic_write_text(folder / self.manifest_name, text)


def make_upload(layout: Layout, data: bytes, rows: int, encoding: str = "utf-8") -> Upload:
    """A consistent one-file upload set: the manifest tells the truth about ``data``."""
    name = f"{layout.name}_{KIJUNBI.replace('-', '')}"
    entry = FileEntry(name=f"{name}.csv", sha256=sha256_bytes(data), rows=rows, encoding=encoding)
    manifest = Manifest(
        lg_code=LG_CODE, layout=layout.name, layout_version=layout.version, kijunbi=KIJUNBI, files=(entry,)
    )
    return Upload(name, manifest, {entry.name: data})


def upload_of(sheet: Sheet, encoding: str = "utf-8", declared: str | None = None) -> Upload:
    """``sheet`` encoded with ``encoding``; the manifest declares ``declared`` (default: the same)."""
    data = sheet.text().encode(encoding)
    return make_upload(sheet.layout, data, len(sheet.rows), declared or encoding)


def xlsx_of(sheet: Sheet, display: bool = False, gap_after: int | None = None) -> bytes:
    """``sheet`` as the first sheet of a workbook, every cell text (as a review file is written;
    a 判定日 typed into a date cell is a date, see :func:`nayose_undecided_row`). ``display`` adds
    the review file's display columns (a 候補 name and the probability), which the parser skips;
    ``gap_after`` leaves an empty sheet row after data row ``gap_after`` (0-based)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    extra = [REVIEW_DISPLAY[7].ja, REVIEW_DISPLAY[14].ja] if display else []  # 候補_氏名, 一致確率
    ws.append([*sheet.header, *extra])
    for i, row in enumerate(sheet.rows):
        ws.append([v or None for v in row] + (["山田　太郎", 0.93] if display else []))
        if i == gap_after:
            ws.append([])
    date_col = sheet.columns.index("hanteibi") + 1 if "hanteibi" in sheet.columns else None
    for (cell,) in ws.iter_rows(min_row=2, min_col=date_col or 1, max_col=date_col or 1) if date_col else []:
        if isinstance(cell.value, str):
            cell.value = dt.date.fromisoformat(cell.value)
            cell.number_format = "yyyy-mm-dd"
    return workbook_bytes(wb, dt.datetime.fromisoformat(KIJUNBI))


def xlsx_upload(sheet: Sheet, data: bytes) -> Upload:
    """A consistent one-file upload set of an ``.xlsx`` data file with ``sheet``'s records."""
    up = make_upload(sheet.layout, data, len(sheet.rows))
    name = up.file.removesuffix(".csv") + ".xlsx"
    return replace(up.with_entry(name=name), files={name: data})


def cut_in_last_row(data: bytes, needle: str) -> bytes:
    """``data`` cut off in the middle of ``needle``'s last occurrence (ASCII, so no split char)."""
    at = data.rindex(needle.encode("ascii"))
    return data[: at + len(needle) // 2]


# --- expected receipts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What the receipt of a case must say."""

    status: str
    input: int
    accepted: int
    rejected: int
    findings: tuple[Located, ...]

    def to_dict(self) -> dict[str, object]:
        """``status``, ``counts`` and ``findings`` as written to ``expected.json``."""
        return {
            "status": self.status,
            "counts": {"input": self.input, "accepted": self.accepted, "rejected": self.rejected},
            "findings": [
                {"code": c, "file": f, "line": li, "item": it}
                for c, f, li, it in sorted(self.findings, key=_finding_order)
            ],
        }


def _finding_order(f: Located) -> tuple[str, int, str, str]:
    """By file, line, item and code, as the receipt lists findings."""
    return (f[1], f[2] or 0, f[3] or "", f[0])


def set_rejected(
    upload: Upload, code: str, file: str, line: int | None = None, item: str | None = None, rows: int | None = None
) -> Expected:
    """A file-level rejection: one finding; every declared row (or ``rows``) is rejected."""
    n = upload.declared_rows if rows is None else rows
    return Expected("rejected", n, 0, n, ((code, file, line, item),))


def manifest_malformed(upload: Upload) -> Expected:
    """F0001: the manifest cannot be trusted, so it declares nothing (input 0)."""
    return set_rejected(upload, "F0001", upload.manifest_name, rows=0)


def row_findings(upload: Upload, *findings: Located) -> Expected:
    """Row-level findings: a row is rejected when it has any finding that is not a warning.

    As in :class:`jumin.core.receipt.Receipt`, a set where no row is accepted is ``rejected``.
    """
    n = upload.declared_rows
    bad = len({(f, line) for code, f, line, _ in findings if code not in SEVERITY_WARNING})
    status = "rejected" if bad == n > 0 else "accepted_with_errors" if bad else "accepted"
    return Expected(status, n, n - bad, bad, tuple(findings))


@dataclass(frozen=True)
class Case:
    """One malformed upload set and the receipt it must produce.

    The English description is the docstring of the function that builds the case.
    """

    description_ja: str
    upload: Upload
    expected: Expected
    description_en: str = ""

    @property
    def codes(self) -> list[str]:
        """The distinct finding codes of the case, sorted."""
        return sorted({f[0] for f in self.expected.findings})


CaseFn = Callable[[Base], Case]
CASES: dict[str, CaseFn] = {}


def case(fn: CaseFn) -> CaseFn:
    """Register a case under its function name."""
    CASES[fn.__name__] = fn
    return fn


def cell_case(sheet: Sheet, row: int, item: str, value: str, code: str, ja: str) -> Case:
    """Set one cell of data row ``row`` to ``value``; expect one ``code`` finding on that cell."""
    up = upload_of(sheet.with_value(row, item, value))
    return Case(ja, up, row_findings(up, (code, up.file, Sheet.line(row), item)))


# --- manifest and file-level cases (the whole set is rejected) ------------------------------


@case
def manifest_not_json(b: Base) -> Case:
    """The manifest is cut off and is not valid JSON."""
    up = upload_of(b.atena)
    up = replace(up, manifest_text=up.manifest.to_json()[:60])
    return Case("マニフェストが途中で切れていて JSON として読めない。", up, manifest_malformed(up))


@case
def manifest_bad_kijunbi(b: Base) -> Case:
    """The manifest's kijunbi is not YYYY-MM-DD (20261101)."""
    up = upload_of(b.atena).with_manifest(kijunbi="20261101")
    return Case("マニフェストの基準日が YYYY-MM-DD 形式でない (20261101)。", up, manifest_malformed(up))


@case
def manifest_file_listed_twice(b: Base) -> Case:
    """The manifest lists the same data file twice."""
    up = upload_of(b.atena)
    up = up.with_manifest(files=up.manifest.files * 2)
    return Case("マニフェストに同じデータファイルが2回記載されている。", up, manifest_malformed(up))


@case
def manifest_negative_rows(b: Base) -> Case:
    """The manifest declares a negative row count (-1)."""
    up = upload_of(b.atena).with_entry(rows=-1)
    return Case("マニフェストの件数が負の値 (-1)。", up, manifest_malformed(up))


@case
def unknown_layout(b: Base) -> Case:
    """The manifest names a layout version that does not exist (atena v2)."""
    up = upload_of(b.atena).with_manifest(layout_version="2")
    return Case(
        "マニフェストのレイアウトの版 (atena 版2) が存在しない。",
        up,
        set_rejected(up, "F0002", up.manifest_name, item="layout"),
    )


@case
def lg_code_mismatch(b: Base) -> Case:
    """The manifest says 131024 (中央区) but sits in the folder of 131016 (千代田区)."""
    up = upload_of(b.atena).with_manifest(lg_code="131024")
    return Case(
        "千代田区 (131016) のフォルダに、中央区 (131024) のマニフェストが置かれている。",
        up,
        set_rejected(up, "F0003", up.manifest_name, item="lg_code"),
    )


@case
def missing_file(b: Base) -> Case:
    """The data file named in the manifest was never uploaded: once overdue, the set is
    reported incomplete (nothing taken in) and still waits for the file."""
    up = replace(upload_of(b.atena), files={})
    return Case(
        "マニフェストに記載されたデータファイルがアップロードされていない。"
        "期限を過ぎると受付保留として通知し、ファイルが揃うのを待ち続ける。",
        up,
        Expected("incomplete", 0, 0, 0, (("F0004", up.file, None, None),)),
    )


@case
def unsafe_file_name(b: Base) -> Case:
    """A file name in the manifest contains '../' (a path outside the folder)."""
    up = upload_of(b.atena)
    up = up.with_entry(name=f"../{up.file}")
    return Case(
        "マニフェストのファイル名に「../」(フォルダ外を指すパス) が含まれている。",
        up,
        set_rejected(up, "F0012", up.file),
    )


@case
def data_file_is_a_folder(b: Base) -> Case:
    """The name the manifest gives its data file is a folder (holding the file), not a file;
    links and special files are refused the same way."""
    up = upload_of(b.atena)
    up = replace(up, files={f"{up.file}/{up.file}": up.files[up.file]})
    return Case(
        "マニフェストに記載されたデータファイル名がファイルではなくフォルダになっている"
        " (リンクや特殊ファイルも同様に受け付けない)。",
        up,
        set_rejected(up, "F0014", up.file),
    )


@case
def checksum_mismatch(b: Base) -> Case:
    """The data file was edited after the manifest was made: sha256 differs."""
    edited = b.atena.with_value(2, "jusho_katagaki", "駿河台マンション３０１号室")
    up = upload_of(b.atena).with_data(edited.text().encode("utf-8"))
    return Case(
        "マニフェスト作成後にデータファイルが編集され、sha256 が一致しない。", up, set_rejected(up, "F0005", up.file)
    )


@case
def row_count_mismatch(b: Base) -> Case:
    """The manifest declares 5 rows; the file holds 4 records."""
    up = upload_of(b.atena).with_entry(rows=len(b.atena.rows) + 1)
    return Case("マニフェストの件数 (5) が実際のレコード数 (4) と異なる。", up, set_rejected(up, "F0006", up.file))


@case
def wrong_encoding_declared(b: Base) -> Case:
    """The manifest declares cp932 but the file is UTF-8 (first non-ASCII on line 2)."""
    up = upload_of(b.atena, encoding="utf-8", declared="cp932")
    return Case(
        "マニフェストは cp932 と宣言しているが、ファイルは UTF-8 (最初の全角文字は2行目)。",
        up,
        set_rejected(up, "F0007", up.file, line=2),
    )


@case
def utf8_declared_but_cp932(b: Base) -> Case:
    """The manifest declares utf-8 but the file is cp932 (first non-ASCII on line 2)."""
    up = upload_of(b.atena, encoding="cp932", declared="utf-8")
    return Case(
        "マニフェストは utf-8 と宣言しているが、ファイルは cp932 (最初の全角文字は2行目)。",
        up,
        set_rejected(up, "F0007", up.file, line=2),
    )


@case
def missing_column(b: Base) -> Case:
    """The required column shimei (氏名) is missing from the header and the rows."""
    up = upload_of(b.atena.without_column("shimei"))
    return Case(
        "必須項目「氏名」の列が見出し行にもデータにもない。",
        up,
        set_rejected(up, "F0008", up.file, line=1, item="shimei"),
    )


@case
def unknown_column(b: Base) -> Case:
    """The header has a column 備考 that is not in the layout."""
    up = upload_of(b.atena.with_column("備考", ""))
    return Case(
        "レイアウトにない列「備考」が見出し行にある。", up, set_rejected(up, "F0009", up.file, line=1, item="備考")
    )


@case
def empty_file(b: Base) -> Case:
    """The data file has 0 bytes (not even a header row)."""
    up = make_upload(ATENA, b"", rows=0)
    return Case("データファイルが 0 バイト (見出し行もない)。", up, set_rejected(up, "F0010", up.file))


@case
def truncated_in_quoted_field(b: Base) -> Case:
    """A file quoting every field is cut off inside 異動日 on its last line (5), leaving a quote
    open (manifest made for the cut file): malformed CSV rejects the set."""
    data = cut_in_last_row(b.atena.text(quote_all=True).encode("utf-8"), b.atena.value(3, "idobi"))
    up = make_upload(ATENA, data, rows=len(b.atena.rows))
    return Case(
        "全項目を引用符で囲むファイルが最終行 (5行目) の異動日の途中で切れ、引用符が閉じていない"
        " (マニフェストは切れたファイルで作成)。CSV 形式エラーでセット全体を差し戻す。",
        up,
        set_rejected(up, "F0011", up.file, line=Sheet.line(3)),
    )


@case
def unknown_encoding(b: Base) -> Case:
    """The manifest declares euc-jp; only UTF-8 and cp932 are accepted."""
    up = upload_of(b.atena, encoding="euc-jp")
    return Case(
        "マニフェストの文字コードが euc-jp (受け付けるのは UTF-8 と cp932 のみ)。",
        up,
        set_rejected(up, "F0013", up.file),
    )


# --- row-structure cases (one row rejected, the rest accepted) -----------------------------


@case
def wrong_field_count_row(b: Base) -> Case:
    """Line 3 has an unquoted comma in 方書, so one field more than the header."""
    row, at = b.atena.rows[1], b.atena.columns.index("jusho_katagaki")
    up = upload_of(b.atena.with_fields(1, (*row[:at], "一番町ハイツ", "２０１号室", *row[at + 1 :])))
    return Case(
        "3行目の方書に引用符なしのカンマがあり、項目数が見出し行より1つ多い。",
        up,
        row_findings(up, ("R0001", up.file, Sheet.line(1), None)),
    )


@case
def truncated_file(b: Base) -> Case:
    """The file is cut off inside 異動日 on its last line (5), outside quotes (manifest made for the
    cut file): a short row, so R0001 on that row only."""
    data = cut_in_last_row(b.atena.text().encode("utf-8"), b.atena.value(3, "idobi"))
    up = make_upload(ATENA, data, rows=len(b.atena.rows))
    return Case(
        "ファイルが最終行 (5行目) の異動日の途中で切れている (引用符なし、マニフェストは切れた"
        "ファイルで作成)。項目数の足りない行となり、その行だけ R0001 で差し戻す。",
        up,
        row_findings(up, ("R0001", up.file, Sheet.line(3), None)),
    )


@case
def control_char_in_field(b: Base) -> Case:
    """方書 on line 3 holds a control character (form feed U+000C). Only CRLF/LF end a record, so
    the row stays whole and the item is in error."""
    return cell_case(
        b.atena,
        1,
        "jusho_katagaki",
        "一番町ハイツ\x0c２０１号室",
        "E0002",
        "3行目の方書に制御文字 (改ページ U+000C) が含まれている。レコードの区切りは "
        "CRLF/LF だけなので、行は分割されずその項目のエラーになる。",
    )


# --- item cases (E0001–E0004, W0001) -------------------------------------------------------


@case
def required_missing(b: Base) -> Case:
    """The required 氏名 on line 4 is empty."""
    return cell_case(b.atena, 2, "shimei", "", "E0001", "4行目の氏名 (必須) が空欄。")


@case
def juki_required_jusho_missing(b: Base) -> Case:
    """住基 file (Japanese header): the required 住所 on line 3 is empty."""
    return cell_case(b.juki, 1, "jusho", "", "E0001", "本人確認情報 (日本語の見出し行) の3行目の住所 (必須) が空欄。")


@case
def half_width_in_full_width_item(b: Base) -> Case:
    """氏名 on line 4 is in half-width katakana (ｽｽﾞｷ　ﾊﾅｺ)."""
    return cell_case(b.atena, 2, "shimei", "ｽｽﾞｷ　ﾊﾅｺ", "E0002", "4行目の氏名が半角カタカナ (ｽｽﾞｷ　ﾊﾅｺ)。")


@case
def nbsp_in_full_width_item(b: Base) -> Case:
    """氏名 on line 2 separates 氏 and 名 with a NO-BREAK SPACE (U+00A0), not the full-width space."""
    return cell_case(
        b.atena,
        0,
        "shimei",
        "佐藤\u00a0一郎",
        "E0002",
        "2行目の氏名の氏と名の間が全角空白でなく NO-BREAK SPACE (U+00A0)。",
    )


@case
def private_use_gaiji(b: Base) -> Case:
    """氏名 on line 4 holds an unmapped 外字 in the private use area (U+E000)."""
    return cell_case(
        b.atena, 2, "shimei", "鈴木　\ue000子", "E0002", "4行目の氏名に未登録の外字 (私用領域 U+E000) が含まれている。"
    )


@case
def non_calendar_date_without_fusho(b: Base) -> Case:
    """生年月日 on line 2 is not a calendar date (1981-02-29) but 不詳フラグ is 0."""
    return cell_case(
        b.atena,
        0,
        "seinengappi",
        "1981-02-29",
        "E0002",
        "2行目の生年月日が暦にない日付 (1981-02-29) なのに不詳フラグが 0。",
    )


@case
def bad_code_value(b: Base) -> Case:
    """性別 on line 2 is not in the code table (9)."""
    return cell_case(b.atena, 0, "seibetsu", "9", "E0002", "2行目の性別がコード表にない値 (9)。")


@case
def too_long(b: Base) -> Case:
    """住所_都道府県 (at most 4 characters) on line 2 holds 東京都千代田区 (7)."""
    return cell_case(
        b.atena,
        0,
        "jusho_todofuken",
        "東京都千代田区",
        "E0003",
        "2行目の住所_都道府県 (全角4文字まで) に「東京都千代田区」(7文字)。",
    )


@case
def zokugara_outside_rule(b: Base) -> Case:
    """続柄 on line 2 is 友人, which is not a 続柄 (世帯主, 妻, 子の妻 …, 同居人, 縁故者)."""
    return cell_case(
        b.atena, 0, "zokugara", "友人", "E0002", "2行目の続柄が続柄の表記にない値 (友人; 同居人・縁故者などを使う)。"
    )


@case
def zokugara_too_many_generations(b: Base) -> Case:
    """続柄 on line 4 chains five terms (子の子の子の子の子); at most four are allowed."""
    return cell_case(
        b.atena,
        2,
        "zokugara",
        "子の子の子の子の子",
        "E0002",
        "4行目の続柄が「の」で5つつながっている (子の子の子の子の子; 4つまで)。",
    )


@case
def setaibango_without_zokugara(b: Base) -> Case:
    """世帯番号 is given on line 4 but 続柄 is empty (both or neither)."""
    return cell_case(b.atena, 2, "zokugara", "", "E0004", "4行目に世帯番号があるのに続柄が空欄。")


@case
def bad_check_digit_kojinbango(b: Base) -> Case:
    """個人番号 on line 4 has a wrong check digit (valid: 234567890121)."""
    return cell_case(
        b.atena, 2, "kojinbango", "234567890122", "E0004", "4行目の個人番号の検査数字が誤り (正しくは 234567890121)。"
    )


@case
def bad_check_digit_lg_code(b: Base) -> Case:
    """住所_市区町村コード on line 5 has a wrong check digit (141090; valid: 141097)."""
    return cell_case(
        b.atena,
        3,
        "jusho_shikuchosonkodo",
        "141090",
        "E0004",
        "5行目の住所_市区町村コードの検査数字が誤り (141090、正しくは 141097)。",
    )


@case
def duplicate_key(b: Base) -> Case:
    """Lines 2 and 3 share 宛名番号 and 履歴番号 (000000000000001, 1); both are rejected."""
    up = upload_of(b.atena.with_value(1, "rirekibango", "1"))
    return Case(
        "2行目と3行目が同じ宛名番号・履歴番号 (000000000000001, 1)。重複した行はどちらも差し戻す。",
        up,
        row_findings(up, ("E0004", up.file, 2, "rirekibango"), ("E0004", up.file, 3, "rirekibango")),
    )


@case
def jutosha_without_juminhyokodo(b: Base) -> Case:
    """Line 4 is a registered resident (住登区分 1) without 住民票コード."""
    return cell_case(b.atena, 2, "juminhyokodo", "", "E0004", "4行目は住登者 (住登区分 1) なのに住民票コードが空欄。")


@case
def idobi_after_shoribi(b: Base) -> Case:
    """処理日 (2021-09-30) on line 3 is before 異動日 (2021-10-01)."""
    return cell_case(
        b.atena, 1, "shoribi", "2021-09-30", "E0004", "3行目の処理日 (2021-09-30) が異動日 (2021-10-01) より前。"
    )


@case
def shien_end_before_start(b: Base) -> Case:
    """支援措置 line 3 (an extension): 終了日 (2026-03-31) is before 開始日 (2026-04-01)."""
    return cell_case(
        b.shien,
        1,
        "shuryobi",
        "2026-03-31",
        "E0004",
        "支援措置の3行目 (延長) の終了日 (2026-03-31) が開始日 (2026-04-01) より前。",
    )


@case
def teikyoteishi_withdrawn_before_filing(b: Base) -> Case:
    """提供停止の申出 line 3: 撤回日 (2025-05-01) is before 申出日 (2025-06-02)."""
    return cell_case(
        b.teikyoteishi,
        1,
        "tekkaibi",
        "2025-05-01",
        "E0004",
        "提供停止の申出の3行目の撤回日 (2025-05-01) が申出日 (2025-06-02) より前。",
    )


@case
def teikyoteishi_unknown_teikyosaki(b: Base) -> Case:
    """提供停止の申出 line 2: 提供先 is written as words (全部), not a contract id or *."""
    return cell_case(
        b.teikyoteishi,
        0,
        "teikyosaki",
        "全部",
        "E0002",
        "提供停止の申出の2行目の提供先が契約IDでも * でもない (全部)。",
    )


@case
def juminhyokodo_check_digit_warning(b: Base) -> Case:
    """住民票コード on line 4 fails the public check digit: a warning only, the row is accepted."""
    return cell_case(
        b.atena,
        2,
        "juminhyokodo",
        "10000000023",
        "W0001",
        "4行目の住民票コードの検査数字が公開方式と一致しない。警告のみで行は受け付ける。",
    )


# --- 名寄せ判定 (decisions on review candidates) --------------------------------------------


@case
def nayose_undecided_row(b: Base) -> Case:
    """A filled-in review file (xlsx, with display columns): the candidate on sheet row 3 was not
    decided (判定 empty), an empty row 4 is no record; row 3 alone is reported (E0001 on 判定)."""
    sheet = b.nayose.with_value(1, "hantei", "").with_value(1, "hanteisha", "").with_value(1, "hanteibi", "")
    sheet = sheet.with_value(1, "riyu", "")
    up = xlsx_upload(sheet, xlsx_of(sheet, display=True, gap_after=1))
    return Case(
        "記入済みの名寄せ候補ファイル (xlsx、表示用の列あり) で、シート3行目の候補が未判定 (判定が空欄)。"
        "4行目は空行でレコードではない。3行目だけが 判定 の必須エラー (E0001) になる。",
        up,
        row_findings(up, ("E0001", up.file, 3, "hantei")),
    )


@case
def nayose_unknown_hantei(b: Base) -> Case:
    """判定 on line 3 is 済み, not one of 一致/不一致/保留/解除."""
    return cell_case(
        b.nayose, 1, "hantei", "済み", "E0002", "名寄せ判定の3行目の判定が 一致/不一致/保留/解除 以外 (済み)。"
    )


@case
def nayose_decided_without_hanteisha(b: Base) -> Case:
    """Line 4 has a 判定 but no 判定者: who decided must be named."""
    return cell_case(b.nayose, 2, "hanteisha", "", "E0004", "名寄せ判定の4行目に判定はあるが判定者が空欄。")


@case
def xlsx_for_atena(b: Base) -> Case:
    """The 宛名 file is sent as an xlsx workbook: only 名寄せ判定 (nayose) takes xlsx."""
    up = xlsx_upload(b.atena, xlsx_of(b.atena))
    return Case(
        "宛名のデータファイルが xlsx で送られた (xlsx を受け付けるのは名寄せ判定 nayose のみ)。",
        up,
        set_rejected(up, "F0015", up.file),
    )


# --- writing the catalogue ------------------------------------------------------------------


def _one_line(doc: str | None) -> str:
    """A docstring on one line (``str.split`` would also split the full-width space)."""
    return " ".join(inspect.cleandoc(doc or "").splitlines())


def build_cases() -> dict[str, Case]:
    """Every case, built from a fresh base, by name; its English description is its docstring."""
    b = base()
    return {name: replace(fn(b), description_en=_one_line(fn.__doc__)) for name, fn in sorted(CASES.items())}


def write_case(folder: Path, c: Case) -> None:
    """Write one case folder from scratch: the landing and ``expected.json``."""
    shutil.rmtree(folder, ignore_errors=True)
    c.upload.write(folder / "landing" / LG_CODE)
    expected = {"description_ja": c.description_ja, "description_en": c.description_en, **c.expected.to_dict()}
    text = json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    atomic_write_text(folder / "expected.json", text)


def remove_stale(out: Path, keep: Iterable[str]) -> None:
    """Delete case folders of ``out`` that are no longer in the catalogue.

    Only folders that look like cases (a ``landing`` folder or an ``expected.json``) are
    deleted; anything else is left alone with a warning.
    """
    names = set(keep)
    for p in sorted(out.iterdir()):
        if not p.is_dir() or p.name in names:
            continue
        if (p / "landing").is_dir() or (p / "expected.json").exists():
            log.info("removing stale case %s", p.name)
            shutil.rmtree(p)
        else:
            log.warning("%s is not a case folder; left alone", p)


def readme(cases: dict[str, Case]) -> str:
    """``README.md`` of the catalogue: one table row per case."""
    lines = [
        "<!-- generated by `python -m jumin.dev.badcases sample_data/bad`; edit jumin/dev/badcases.py -->",
        "",
        "# Malformed upload sets (不正な送付セット)",
        "",
        f"Each folder is one upload set for {LG_CODE} (千代田区) made from one valid base with "
        "exactly one defect, and `expected.json`: the status, counts and the exact findings "
        "(code, file, line, item) its receipt must hold. `tests/test_bad_samples.py` runs every "
        "folder through ingest and validation. `expected.json` says what the standard and "
        "the domain brief require, even where the pipeline does not do it yet.",
        "",
        "A file cut off mid-row is not detectable from the manifest (it is made for the cut "
        "file): outside quotes the parser sees a short last row (`truncated_file`, R0001 on "
        "that row only); inside a quoted field the quote never closes "
        "(`truncated_in_quoted_field`, F0011, the whole set is rejected).",
        "",
        "| case | codes | status | 内容 | what is wrong |",
        "|---|---|---|---|---|",
    ]
    for name, c in cases.items():
        lines.append(
            f"| `{name}` | {', '.join(c.codes)} | {c.expected.status} | {c.description_ja} | {c.description_en} |"
        )
    codes = {code for c in cases.values() for code in c.codes}
    missing = [code for code in CODES if code not in codes]
    lines += [
        "",
        f"Codes covered: {len(codes)} of {len(CODES)}" + (f" (missing: {', '.join(missing)})" if missing else "") + ".",
        "",
    ]
    return "\n".join(lines)


def write_catalogue(out: Path) -> dict[str, Case]:
    """(Re)write every case folder and ``README.md`` under ``out``; delete stale cases."""
    out.mkdir(parents=True, exist_ok=True)
    cases = build_cases()
    remove_stale(out, cases)
    for name, c in cases.items():
        write_case(out / name, c)
    atomic_write_text(out / "README.md", readme(cases))
    log.info("wrote %d cases to %s", len(cases), out)
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jumin.dev.badcases [OUT]``: regenerate the catalogue (default sample_data/bad)."""
    parser = argparse.ArgumentParser(
        prog="python -m jumin.dev.badcases", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", nargs="?", default="sample_data/bad", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_catalogue(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
