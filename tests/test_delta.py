"""Deltas between snapshots on in-memory DuckDB, against a plain-Python reference."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jumin.core import duck
from jumin.core.layouts import SHIEN
from transform.delta import delta_sql

pytestmark = [pytest.mark.unit]

COLUMNS = ["atenabango", "kubun", "kaishibi", "shuryobi"]


def run(old: list[dict], new: list[dict]) -> list[dict]:
    con = duck.connect()
    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    con.register("old", pa.Table.from_pylist(old, schema=schema))
    con.register("new", pa.Table.from_pylist(new, schema=schema))
    rows: list[dict] = duck.arrow(con, "delta", delta_sql(SHIEN, "old", "new")).to_pylist()
    return rows


def reference(old: list[dict], new: list[dict]) -> list[tuple]:
    key = lambda r: (r["atenabango"], r["kaishibi"])  # noqa: E731
    o, n = {key(r): r for r in old}, {key(r): r for r in new}
    out: list[tuple] = []
    for k in sorted(set(o) | set(n)):
        if k not in o:
            out.append(("added", k, []))
        elif k not in n:
            out.append(("removed", k, []))
        else:
            changed = [c for c in COLUMNS if o[k][c] != n[k][c]]
            if changed:
                out.append(("changed", k, changed))
    return out


def test_added_removed_changed() -> None:
    a = {"atenabango": "1", "kubun": "1", "kaishibi": "2026-01-01", "shuryobi": "2026-12-31"}
    b = {**a, "atenabango": "2"}
    got = run([a, b], [{**a, "shuryobi": "2027-12-31"}, {**a, "atenabango": "3"}])
    assert [(r["change"], r["atenabango"], r["changed_items"], r["shuryobi"]) for r in got] == [
        ("changed", "1", ["shuryobi"], "2027-12-31"),
        ("removed", "2", [], "2026-12-31"),
        ("added", "3", [], "2026-12-31"),
    ]


rows = st.lists(
    st.fixed_dictionaries(
        {
            "atenabango": st.sampled_from("123456"),
            "kubun": st.sampled_from(["1", "2", None]),
            "kaishibi": st.sampled_from(["2026-01-01", "2026-02-01"]),
            "shuryobi": st.sampled_from(["2026-12-31", "2027-01-31", None]),
        }
    ),
    max_size=10,
)


def unique(rs: list[dict]) -> list[dict]:
    return list({(r["atenabango"], r["kaishibi"]): r for r in rs}.values())


@settings(max_examples=200, deadline=None)
@given(old=rows.map(unique), new=rows.map(unique))
def test_delta_matches_reference(old: list[dict], new: list[dict]) -> None:
    got = [
        (r["change"], (r["atenabango"], r["kaishibi"]), [c for c in r["changed_items"] if c in COLUMNS])
        for r in run(old, new)
    ]
    assert got == reference(old, new)
