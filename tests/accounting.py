"""Counting the rows of an upload set apart from the pipeline, to prove none is lost.

The receipt itself refuses to be written unless ``input == accepted + rejected``, so a test that
re-checks that sum on a written receipt checks nothing. These helpers count from the other
ends instead: the records of the source CSV files (here, with the ``csv`` module) and the rows
that came out (accepted and quarantined Parquet, and the R0001 rows the receipt lists).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from jumin.core.lake import Lake

#: Python codec of each encoding a manifest may declare (a UTF-8 file may start with a BOM)
CODECS = {"utf-8": "utf-8-sig", "cp932": "cp932"}

Line = tuple[str, int]


def record_lines(text: str) -> list[int]:
    """The line on which each data record starts (the first record is the header).

    RFC 4180 as the csv module reads it: a quoted line break stays inside its record, a blank
    line is not a record, and only CR, LF and CRLF end a line.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    lines, start, header = [], 1, True
    for row in reader:
        if header:
            header = False
        elif row:
            lines.append(start)
        start = reader.line_num + 1
    return lines


def sheet_record_rows(path: Path) -> list[int]:
    """The sheet row of each data record of an ``.xlsx`` file's first sheet: rows after row 1
    holding a value (read by openpyxl in normal mode, not the pipeline's read-only reader)."""
    from openpyxl import load_workbook

    ws = load_workbook(path).worksheets[0]
    return [row[0].row for row in ws.iter_rows(min_row=2) if any(c.value not in (None, "") for c in row)]


def source_lines(folder: Path, manifest_name: str) -> Counter[Line]:
    """(file, line) of every data record of the files a manifest in ``folder`` names."""
    manifest = json.loads((folder / manifest_name).read_text(encoding="utf-8"))
    out: Counter[Line] = Counter()
    for f in manifest["files"]:
        if f["name"].lower().endswith(".xlsx"):
            out.update((f["name"], row) for row in sheet_record_rows(folder / f["name"]))
            continue
        text = (folder / f["name"]).read_bytes().decode(CODECS[f.get("encoding", "utf-8").lower()])
        out.update((f["name"], line) for line in record_lines(text))
    return out


def outcome_lines(lake: Lake, receipt: dict[str, Any]) -> dict[str, Counter[Line]]:
    """(file, line) of the rows of one set as the pipeline left them: accepted, quarantined
    (both read from their Parquet files) and cut out as R0001 (from the receipt's findings)."""
    layout, code, set_id = receipt["layout"], receipt["lg_code"], receipt["set_id"]
    out: dict[str, Counter[Line]] = {}
    for zone, path in (
        ("accepted", lake.accepted(layout, code, set_id)),
        ("rejected", lake.rejected(layout, code, set_id)),
    ):
        table = pq.read_table(path, columns=["_file", "_line"])
        out[zone] = Counter(zip(table["_file"].to_pylist(), table["_line"].to_pylist(), strict=True))
    assert receipt["findings_total"] == len(receipt["findings"]), "receipt truncated its findings"
    out["R0001"] = Counter((f["file"], f["line"]) for f in receipt["findings"] if f["code"] == "R0001")
    return out


def assert_every_row_accounted_for(lake: Lake, receipt: dict[str, Any], source: Counter[Line]) -> None:
    """Every source record is accepted, quarantined or an R0001 row, exactly once, and the
    receipt's counts are the rows actually written."""
    zones = outcome_lines(lake, receipt)
    seen = sum(zones.values(), Counter())
    lost, extra = sorted(source - seen), sorted(seen - source)
    where = f"set {receipt['set_id']} ({receipt['manifest']})"
    assert not lost and not extra, f"{where}: (file, line) never accounted for {lost}; extra or repeated {extra}"
    c = receipt["counts"]
    counted = (source.total(), zones["accepted"].total(), zones["rejected"].total() + zones["R0001"].total())
    assert (c["input"], c["accepted"], c["rejected"]) == counted, (
        f"{where}: receipt says input/accepted/rejected {c['input']}/{c['accepted']}/{c['rejected']}, "
        f"the rows written say {counted[0]}/{counted[1]}/{counted[2]}"
    )
