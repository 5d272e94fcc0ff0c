"""Decode and parse one data file strictly, keeping original line numbers: CSV, or for a layout
that takes spreadsheets an ``.xlsx`` workbook (its first sheet, the sheet's row numbers)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pacsv

from extract.errors import UploadSetRejected
from jumin.core.errors import Finding
from jumin.core.gaiji import apply_map
from jumin.core.layouts import Layout
from jumin.core.manifest import ENCODINGS
from jumin.core.xlsx import UnreadableWorkbook, sheet_rows

LINE = "_line"
FILE = "_file"


@dataclass
class ParsedFile:
    """A parsed file: every value as text (``None`` for empty), and the rows that failed."""

    table: pa.Table
    rows_read: int
    findings: list[Finding] = field(default_factory=list)
    #: 外字 replaced while decoding: code point (U+XXXX) → count
    gaiji: dict[str, int] = field(default_factory=dict)


def decode(data: bytes, encoding: str, file: str) -> str:
    """Decode ``data`` with the declared encoding, or reject naming the line of the first bad byte."""
    codec = ENCODINGS.get(encoding.lower())
    if codec is None:
        raise UploadSetRejected(Finding("F0013", file=file, detail=f"encoding={encoding!r}"))
    if codec == "cp932" and _looks_utf8(data):
        raise UploadSetRejected(
            Finding(
                "F0007", file=file, line=_first_non_ascii_line(data), detail="declared cp932 but the bytes are UTF-8"
            )
        )
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        hint = ""
        if codec != "cp932":
            try:
                data.decode("cp932")
                hint = "; the bytes decode as cp932"
            except UnicodeDecodeError:
                pass
        raise UploadSetRejected(Finding("F0007", file=file, line=line, detail=f"not valid {encoding}{hint}")) from e


def _looks_utf8(data: bytes) -> bool:
    if data.startswith(b"\xef\xbb\xbf"):
        return True
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _first_non_ascii_line(data: bytes) -> int:
    for i, b in enumerate(data):
        if b >= 0x80:
            return data[:i].count(b"\n") + 1
    return 1


#: the column name given to a display column of the layout (:class:`jumin.core.layouts.DisplayColumn`):
#: read like any other and left out of the table
SKIPPED = "_display_{}"


def map_header(header: list[str], layout: Layout, file: str) -> list[str]:
    """Romaji names for the header cells; rejects unknown, repeated or missing required items.

    A display column of the layout gets a name of :data:`SKIPPED`, so it is left out."""
    aliases = layout.header_aliases()
    display = layout.display_headers()
    names: list[str] = []
    for n, cell in enumerate(header):
        name = aliases.get(cell.strip())
        if name is None and cell.strip() in display:
            names.append(SKIPPED.format(n))
            continue
        if name is None or name in names:
            raise UploadSetRejected(Finding("F0009", file=file, line=1, item=cell, detail=f"header cell {cell!r}"))
        names.append(name)
    missing = [i for i in layout.items if i.required and i.romaji not in names]
    if missing:
        raise UploadSetRejected(
            Finding("F0008", file=file, line=1, item=missing[0].romaji, detail=", ".join(i.ja for i in missing))
        )
    return names


def parse(text: str, layout: Layout, file: str, utf8: bytes | None = None) -> ParsedFile:
    """Parse CSV text (header row required, RFC 4180) into a text table of the layout's items.

    Items absent from the header are null. A row with the wrong number of fields is not kept
    in the table but reported as an R0001 finding, so it is counted as rejected, never lost.
    Plain files (no quotes, no blank lines, every row complete) take a fast path through
    pyarrow; anything else is read record by record to know each record's line. ``utf8``, when
    the caller has it, is ``text`` encoded as UTF-8 (the file's own bytes), which spares the
    fast path encoding it again.
    """
    if not text.strip():
        raise UploadSetRejected(Finding("F0010", file=file))
    fast = parse_plain(text, layout, file, utf8)
    return fast if fast is not None else parse_exact(text, layout, file)


def parse_plain(text: str, layout: Layout, file: str, utf8: bytes | None = None) -> ParsedFile | None:
    """One record per line, so record i is on line i + 2; None when the file is not that plain."""
    if '"' in text or text.count("\r") != text.count("\r\n") or "\n\n" in text or "\n\r\n" in text or text[0] in "\r\n":
        return None
    end = text.find("\n")
    header_line = (text if end < 0 else text[:end]).removesuffix("\r")
    names = map_header(header_line.split(","), layout, file)
    invalid: list[object] = []

    def skip(row: object) -> str:
        invalid.append(row)
        return "skip"

    if end < 0:
        body = pa.py_buffer(b"")
    elif utf8 is not None:  # LF is never part of a multi-byte UTF-8 sequence; slicing copies nothing
        body = pa.py_buffer(utf8)[utf8.index(b"\n") + 1 :]
    else:
        body = pa.py_buffer(text[end + 1 :].encode("utf-8"))
    if not body.size:
        return ParsedFile(layout_table(layout, {}, file, pa.array([], pa.int64())), 0)
    table = pacsv.read_csv(
        pa.BufferReader(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
        parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), null_values=[""], strings_can_be_null=True
        ),
    )
    if invalid:
        return None
    n = table.num_rows
    arrays = {name: table.column(name) for name in names}  # chunked: no copy
    return ParsedFile(layout_table(layout, arrays, file, pa.array(range(2, n + 2), pa.int64())), n)


def parse_exact(text: str, layout: Layout, file: str) -> ParsedFile:
    """Record by record with Python's csv module (quoted line breaks, blank and short lines)."""
    # StringIO splits only on CR, LF and CRLF; str.splitlines would also split on U+2028 etc.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise UploadSetRejected(Finding("F0011", file=file, line=1, detail=str(e))) from e
    names = map_header(header, layout, file)
    width = len(names)
    cols: list[list[str | None]] = [[] for _ in names]
    line_numbers: list[int] = []
    findings: list[Finding] = []
    rows_read = 0
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise UploadSetRejected(Finding("F0011", file=file, line=start, detail=str(e))) from e
        if not row:  # a blank line is not a record
            start = reader.line_num + 1
            continue
        rows_read += 1
        if len(row) != width:
            findings.append(Finding("R0001", file=file, line=start, detail=f"{len(row)} fields, header has {width}"))
            start = reader.line_num + 1
            continue
        for c, v in zip(cols, row, strict=True):
            c.append(v if v != "" else None)
        line_numbers.append(start)
        start = reader.line_num + 1
    arrays = {n: pa.array(c, type=pa.string()) for n, c in zip(names, cols, strict=True)}
    return ParsedFile(layout_table(layout, arrays, file, pa.array(line_numbers, pa.int64())), rows_read, findings)


def parse_xlsx(data: bytes, layout: Layout, file: str, gaiji: dict[int, str] | None = None) -> ParsedFile:
    """Parse the first sheet of an ``.xlsx`` workbook like a CSV file: row 1 is the header, each
    cell is read as the text a CSV cell would hold (:func:`jumin.core.xlsx.cell_text`), a row
    without any value is not a record, and ``_line`` is the sheet's row number.

    A value to the right of the header's last column makes the row an R0001 finding, as a
    row with more fields than the header does in CSV. The municipality's 外字 map is applied
    to every cell. F0015 rejects the file when the layout takes CSV only or the workbook
    cannot be read.
    """
    if not layout.spreadsheet:
        raise UploadSetRejected(Finding("F0015", file=file, detail=f"layout {layout.name} takes CSV files only"))
    table = gaiji or {}
    replaced: dict[str, int] = {}

    def text(cell: str | None) -> str | None:
        if cell is None or not table:
            return cell
        out, counts = apply_map(cell, table)
        for cp, n in counts.items():
            replaced[cp] = replaced.get(cp, 0) + n
        return out

    rows = sheet_rows(data)
    try:
        first = next(rows, None)
        if first is None or first[0] != 1:
            raise UploadSetRejected(Finding("F0010", file=file, detail="row 1 of the first sheet is empty"))
        names = map_header([c or "" for c in first[1]], layout, file)
        width = len(names)
        cols: list[list[str | None]] = [[] for _ in names]
        line_numbers: list[int] = []
        findings: list[Finding] = []
        rows_read = 0
        for number, cells in rows:
            rows_read += 1
            if len(cells) > width:
                findings.append(
                    Finding("R0001", file=file, line=number, detail=f"a value beyond the header's {width} columns")
                )
                continue
            padded = (*cells, *(None,) * (width - len(cells)))
            for c, v in zip(cols, padded, strict=True):
                c.append(text(v))
            line_numbers.append(number)
    except UnreadableWorkbook as e:
        raise UploadSetRejected(Finding("F0015", file=file, detail=str(e))) from e
    arrays = {n: pa.array(c, type=pa.string()) for n, c in zip(names, cols, strict=True)}
    parsed = ParsedFile(layout_table(layout, arrays, file, pa.array(line_numbers, pa.int64())), rows_read, findings)
    parsed.gaiji = dict(sorted(replaced.items()))
    return parsed


def layout_table(layout: Layout, arrays: dict[str, pa.Array | pa.ChunkedArray], file: str, lines: pa.Array) -> pa.Table:
    """The parsed columns in layout order (absent items null), then file and line."""
    n = len(lines)
    columns = {item.romaji: arrays.get(item.romaji, pa.nulls(n, type=pa.string())) for item in layout.items}
    columns[FILE] = pa.array([file] * n, type=pa.string())
    columns[LINE] = lines
    return pa.table(columns)
