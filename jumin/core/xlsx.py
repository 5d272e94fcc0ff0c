"""Spreadsheets (``.xlsx``): a sheet read as the text a CSV file would hold, and workbooks saved
so that the same content gives the same bytes.

Reading (:func:`sheet_rows`) takes the first worksheet with openpyxl in read-only mode and gives
every cell as text, the way Excel writes it to CSV: text as it is (``""`` is empty), integers
and integral numbers without a decimal point, dates as ``YYYY-MM-DD``, TRUE/FALSE. Row numbers
are the sheet's (row 1 is the header); a row without any value is not a record, like a blank
line of a CSV file. The parser (:func:`extract.parse.parse_xlsx`) and the manifest's row count
(:func:`jumin.core.manifest.count_rows`) both read through here, so they count the same rows.

Writing (:func:`workbook_bytes`): openpyxl stamps the document properties with the clock and
every zip entry with the time it was written; both are set to one given moment (the 基準日 of
what the file shows), and the entries are compressed again in their written order.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl import Workbook

XLSX_SUFFIX = ".xlsx"
#: the application named in a written workbook's properties (openpyxl writes its own name)
CREATOR = "jumin"


class UnreadableWorkbook(ValueError):
    """The bytes are not an xlsx workbook openpyxl can read (not a zip, no worksheet, bad XML)."""


def is_xlsx(name: str) -> bool:
    """True for a file name ending in ``.xlsx`` (any case)."""
    return name.lower().endswith(XLSX_SUFFIX)


def cell_text(value: object) -> str | None:
    """A cell's value as CSV text; None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def sheet_rows(data: bytes) -> Iterator[tuple[int, tuple[str | None, ...]]]:
    """(row number, cell texts) of every row of the first worksheet holding a value, in order.

    Trailing empty cells are dropped, so rows may differ in length. The sheet's recorded
    dimension is ignored (some writers get it wrong, and it would cut rows off). Raises
    :class:`UnreadableWorkbook` when the bytes are not a readable workbook.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # zip, XML and openpyxl's own errors all mean "not a workbook"
        raise UnreadableWorkbook(f"not a readable xlsx workbook: {type(e).__name__}: {e}") from e
    try:
        if not wb.worksheets:
            raise UnreadableWorkbook("the workbook has no worksheet")
        ws = wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        rows = ws.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                break
            except Exception as e:
                raise UnreadableWorkbook(f"sheet row {number + 1}: {type(e).__name__}: {e}") from e
            number += 1
            texts = [cell_text(v) for v in values]
            while texts and texts[-1] is None:
                texts.pop()
            if texts:
                yield number, tuple(texts)
    finally:
        wb.close()


def count_records(data: bytes) -> int:
    """Data rows of the first worksheet: rows after row 1 that hold a value."""
    return sum(1 for number, _ in sheet_rows(data) if number > 1)


def workbook_bytes(wb: Workbook, moment: dt.datetime) -> bytes:
    """The ``.xlsx`` bytes of ``wb``, dated ``moment`` (document properties and zip entries), so
    the same workbook content always gives the same bytes."""
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.created = wb.properties.modified = moment
    wb.properties.creator = wb.properties.lastModifiedBy = CREATOR
    raw = io.BytesIO()
    # ExcelWriter directly: openpyxl's save_workbook sets ``modified`` to the clock
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    return restamp_zip(raw.getvalue(), moment)


def restamp_zip(data: bytes, moment: dt.datetime) -> bytes:
    """``data`` (a zip) with every entry dated ``moment`` and the same attributes everywhere."""
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", allowZip64=True) as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, src.read(entry.filename), compresslevel=6)
    return out.getvalue()


def column_width(values: list[Any], least: int = 6, most: int = 60) -> float:
    """A column width (in characters, full-width counting two) that shows ``values``."""
    import unicodedata

    def width(v: Any) -> int:
        text = "" if v is None else str(v)
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    return float(min(max([least, *(width(v) for v in values)]) + 2, most))
