"""CSV files as municipalities send them, and the manifest of each upload set.

Format: header row of Japanese item names, RFC 4180 quoting only where a value needs it,
empty string for an absent value. UTF-8 files end lines with LF (with or without BOM); CP932
files, as Windows exports do, with CRLF. Arrow writes the rows in C++; a chunk holding a
value that needs quoting falls back to Python's csv module.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from jumin.core.files import atomic_path
from jumin.core.layouts import Layout
from jumin.core.manifest import write_manifest

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 200_000


def line_ending(encoding: str) -> str:
    """CRLF for CP932 (Windows exports), LF for UTF-8."""
    return "\r\n" if encoding == "cp932" else "\n"


def _encode(text_utf8: bytes, encoding: str) -> bytes:
    """UTF-8 bytes re-encoded; raises UnicodeEncodeError rather than write a lossy file."""
    return text_utf8 if encoding == "utf-8" else text_utf8.decode("utf-8").encode(encoding)


def _rows_with_csv_module(table: pa.Table, eol: str) -> bytes:
    """RFC 4180 rows quoting only the fields that need it (slow path, rarely used)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    w.writerows(zip(*(col.to_pylist() for col in table.columns), strict=True))
    return buf.getvalue().encode("utf-8")


def _rows(table: pa.Table, eol: str) -> bytes:
    """Data rows of ``table`` as UTF-8 CSV without a header."""
    buf = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", eol=eol)
    try:
        pacsv.write_csv(table, buf, write_options=options)
    except pa.ArrowInvalid:
        # Arrow's "needed" style quotes every string; only Python's csv quotes minimally
        return _rows_with_csv_module(table, eol)
    return buf.getvalue()


def write_table(f: BinaryIO, header: list[str], table: pa.Table, encoding: str, bom: bool = False) -> None:
    """Write header and rows of ``table`` to ``f`` in chunks (bounded memory)."""
    eol = line_ending(encoding)
    if bom:
        f.write(BOM)
    head = io.StringIO()
    csv.writer(head, lineterminator=eol).writerow(header)
    f.write(head.getvalue().encode(encoding))
    for start in range(0, table.num_rows, CHUNK_ROWS):
        f.write(_encode(_rows(table.slice(start, CHUNK_ROWS), eol), encoding))


def layout_table(layout: Layout, columns: dict[str, pa.Array]) -> pa.Table:
    """The columns of ``layout`` in its item order, named by their Japanese names."""
    missing = [i.romaji for i in layout.items if i.romaji not in columns]
    if missing:
        raise KeyError(f"{layout.name}: no column for {missing}")
    return pa.Table.from_arrays([columns[i.romaji] for i in layout.items], names=[i.ja for i in layout.items])


def write_upload_set(
    folder: Path, lg_code: str, layout: Layout, kijunbi: str, columns: dict[str, pa.Array], encoding: str, bom: bool
) -> tuple[Path, int]:
    """``<layout>_<YYYYMMDD>.csv`` plus its manifest in ``folder``; returns the manifest path
    and the number of data rows."""
    stem = f"{layout.name}_{kijunbi.replace('-', '')}"
    name = f"{stem}.csv"
    table = layout_table(layout, columns)
    with atomic_path(folder / name) as tmp, tmp.open("wb") as f:
        write_table(f, [i.ja for i in layout.items], table, encoding, bom)
    manifest = write_manifest(folder, stem, lg_code, layout.name, layout.version, kijunbi, [(name, encoding)])
    log.debug("wrote %s (%d rows, %s%s)", folder / name, table.num_rows, encoding, " BOM" if bom else "")
    return manifest, table.num_rows


def write_plain_csv(path: Path, columns: dict[str, pa.Array]) -> None:
    """A UTF-8 CSV (LF, no BOM) whose header is the column names."""
    table = pa.Table.from_arrays(list(columns.values()), names=list(columns))
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        write_table(f, list(columns), table, "utf-8")
