"""The national step's work tables per reconciling municipality (``for_lg_code``): what the SQL
selects against a plain-Python statement of the rule, and what municipalities read back."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jumin.core import duck
from transform.reconcile.main import PER_MUNICIPALITY, for_municipalities_read_sql, for_municipalities_sql

pytestmark = [pytest.mark.unit]

CODES = ["012025", "131016", "141038"]
PERSONS = [f"{i:011d}" for i in range(1, 7)]

code = st.sampled_from(CODES)
person = st.sampled_from(PERSONS)


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """A few municipalities' keyed tables and candidates; 住民票コード shared between
    municipalities (persons who moved) and 住登外者 candidates pointing anywhere."""
    atena = {
        (c, f"{n:03d}"): (draw(st.sampled_from(["1", "2"])), draw(st.sampled_from(["", *PERSONS])))
        for c, n in draw(st.sets(st.tuples(code, st.integers(1, 9)), max_size=12))
    }
    juki = draw(st.sets(st.tuples(code, person, st.integers(0, 2)), max_size=14))
    last = {(c, p) for c, p, _ in juki} | draw(st.sets(st.tuples(code, person), max_size=4))
    candidates = []
    for (c, a), (kubun, _) in sorted(atena.items()):
        if kubun == "2":
            for target in draw(st.lists(st.one_of(person, st.sampled_from(sorted(atena))), max_size=2)):
                if isinstance(target, str):
                    candidates.append({"lg_code": c, "atenabango": a, "juminhyokodo": target})
                else:
                    candidates.append({"lg_code": c, "atenabango": a, "target_lg_code": target[0],
                                       "target_atenabango": target[1]})  # fmt: skip
    return {
        "atena_keyed": [
            {"rec_id": f"{c}:{a}", "lg_code": c, "atenabango": a, "juminhyokodo": j, "jutokubun": k}
            for (c, a), (k, j) in sorted(atena.items())
        ],
        "juki_keyed": [{"rec_id": p, "lg_code": c, "juminhyokodo": p, "version": v} for c, p, v in sorted(juki)],
        "juki_last": [{"lg_code": c, "juminhyokodo": p, "status": "A1 転入"} for c, p in sorted(last)],
        "candidates": [
            {"juminhyokodo": None, "target_lg_code": None, "target_atenabango": None, **c} for c in candidates
        ],
    }


SCHEMAS = {
    "atena_keyed": ["rec_id", "lg_code", "atenabango", "juminhyokodo", "jutokubun"],
    "juki_keyed": ["rec_id", "lg_code", "juminhyokodo", "version"],
    "juki_last": ["lg_code", "juminhyokodo", "status"],
    "candidates": ["lg_code", "atenabango", "juminhyokodo", "target_lg_code", "target_atenabango"],
}


def connect(world: dict[str, list[dict[str, Any]]]) -> Any:
    con = duck.connect()
    for name, cols in SCHEMAS.items():
        types = {c: pa.int32() if c == "version" else pa.string() for c in cols}
        table = pa.Table.from_pylist(world[name], schema=pa.schema(list(types.items())))
        con.register(f"_{name}", table)
        duck.run(con, name, f"CREATE TEMP TABLE {name} AS FROM _{name}")
    return con


def reference(world: dict[str, list[dict[str, Any]]], table: str) -> list[dict[str, Any]]:
    """The rule in plain Python: for each 宛名 municipality M, the rows of ``table`` that are M's,
    and the rows of other municipalities whose person (宛名: record) M's records name."""
    out = []
    for m in sorted({a["lg_code"] for a in world["atena_keyed"]}):
        mine = [c for c in world["candidates"] if c["lg_code"] == m]
        if table == "atena_keyed":
            named = {f"{c['target_lg_code']}:{c['target_atenabango']}" for c in mine if c["target_atenabango"]}
            key = "rec_id"
        else:
            named = {
                a["juminhyokodo"]
                for a in world["atena_keyed"]
                if a["lg_code"] == m and a["jutokubun"] == "1" and a["juminhyokodo"]
            } | {c["juminhyokodo"] for c in mine if c["juminhyokodo"]}
            key = "juminhyokodo"
        rows = [r for r in world[table] if r["lg_code"] == m or r[key] in named]
        out += sorted(({"for_lg_code": m, **r} for r in rows), key=lambda r: [r[k] for k in PER_MUNICIPALITY[table]])
    return out


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_each_municipality_gets_its_rows_and_those_its_records_name(world: dict[str, list[dict[str, Any]]]) -> None:
    con = connect(world)
    for table in PER_MUNICIPALITY:
        got = duck.arrow(con, table, for_municipalities_sql(table)).to_pylist()
        assert got == reference(world, table), table


@settings(max_examples=40, deadline=None)
@given(worlds(), st.sets(code, min_size=1))
def test_municipalities_read_their_rows_once_in_the_national_order(
    world: dict[str, list[dict[str, Any]]], wanted: set[str]
) -> None:
    con = connect(world)
    with tempfile.TemporaryDirectory() as tmp:
        for table in PER_MUNICIPALITY:
            path = Path(tmp) / f"{table}.parquet"
            duck.run(con, table, f"COPY ({for_municipalities_sql(table)}) TO '{path}' (FORMAT parquet)")
            got = duck.arrow(con, table, for_municipalities_read_sql(table, str(path), sorted(wanted))).to_pylist()
            rows = {
                tuple((k, v) for k, v in r.items() if k != "for_lg_code")
                for r in reference(world, table)
                if r["for_lg_code"] in wanted
            }
            expected = sorted((dict(r) for r in rows), key=lambda r: [r[k] for k in PER_MUNICIPALITY[table]])
            assert got == expected, table
