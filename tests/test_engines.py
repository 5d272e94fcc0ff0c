"""The fast DuckDB engine against Great Expectations itself, on real and corrupted data."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.gx_engine import gx_hits
from expectations.rules import rules_for
from expectations.sql import findings_sql
from extract.parse import decode, parse
from jumin.core import duck
from jumin.core.layouts import LAYOUTS
from tests.conftest import REPO

pytestmark = [pytest.mark.unit]

SAMPLE = REPO / "sample_data" / "landing"


def sample(layout: str, lg_code: str = "131016") -> pa.Table:
    path = next((SAMPLE / lg_code).glob(f"{layout}_*.csv"))
    enc = "cp932" if lg_code == "012025" else "utf-8"
    table = parse(decode(path.read_bytes(), enc, path.name), LAYOUTS[layout], path.name).table
    return table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))


def both(layout: str, table: pa.Table) -> tuple[list[tuple], list[tuple]]:
    con = duck.connect()
    con.register("parsed", table)
    fast = duck.arrow(con, "findings", findings_sql(rules_for(LAYOUTS[layout]), "parsed"))
    ref = gx_hits(LAYOUTS[layout], table)
    key = ("_row", "_line", "rule", "value")
    return ([tuple(r[k] for k in key) for r in fast.to_pylist()], [tuple(r[k] for k in key) for r in ref.to_pylist()])


# values that break rules in many ways: other widths, scripts, lengths, dates, codes, digits
NOISE = [
    "",
    "1",
    "0",
    "2",
    "9",
    "99",
    "ｱ",
    "ア",
    "あ",
    "Ａ",
    "a",
    " ",
    "\u3000",
    "\ue000",
    "\xa0",
    "-",
    "2026-02-29",
    "2024-02-29",
    "1950-02-30",
    "2026-13-01",
    "2026/01/01",
    "年月日不詳",
    "621498320257",
    "621498320258",
    "131016",
    "131017",
    "12345678903",
    "佐藤　一郎",
    "髙橋",
    "葛\U000e0100",
    "x" * 16,
    "あ" * 101,
    "０１２３",
]


def corrupt(table: pa.Table, rng: random.Random, n: int) -> pa.Table:
    """``n`` random cells replaced by noise (or emptied), other cells kept."""
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    items = [c for c in table.column_names if not c.startswith("_")]
    for _ in range(n):
        col, row = rng.choice(items), rng.randrange(table.num_rows)
        cols[col][row] = rng.choice([*NOISE, None])
    return pa.table({k: pa.array(v, type=table.schema.field(k).type) for k, v in cols.items()})


@pytest.mark.parametrize("layout", ["atena", "juki", "shien"])
def test_engines_agree_on_the_sample(layout: str) -> None:
    fast, ref = both(layout, sample(layout, "012025"))
    assert fast == ref


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), layout=st.sampled_from(["atena", "juki", "shien"]))
def test_engines_agree_on_corrupted_data(seed: int, layout: str) -> None:
    table = sample(layout).slice(0, 60)
    fast, ref = both(layout, corrupt(table, random.Random(seed), 80))
    assert fast, "the corruption must break something"
    assert fast == ref
