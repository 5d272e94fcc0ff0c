"""Who a contract selects (``select_sql``), on hand-made persons in DuckDB: with
``householdHeads`` the 世帯主 of a selected child comes along whatever their age, and never when
another rule leaves them out (他業務参照不可, 住登区分, an unknown 生年月日, an opt-out)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from jumin.core.contract import Contract
from load.deliver.contract import example_contracts, load_contract
from load.deliver.main import select_sql
from load.deliver.optout import EMPTY_REGISTRY_SQL, REGISTRY

pytestmark = [pytest.mark.unit]

KIJUNBI = "2026-11-01"
LG = "131016"
CHILD, ADULT = dt.date(2020, 4, 1), dt.date(1985, 4, 1)


def _person(no: str, setai: str, zokugara: str, birth: dt.date | None, kubun: str = "1", fuka: str = "0") -> dict:
    return {
        "person": f"A:{LG}:{no}",
        "lg_code": LG,
        "atenabango": no,
        "juminhyokodo": None,
        "jutokubun": kubun,
        "tagyomusanshofukafuragu": fuka,
        "seinengappi": birth,
        "setaibango": setai,
        "zokugara": zokugara,
    }


def _select(contract: Contract, persons: list[dict]) -> dict[str, str | None]:
    con = duckdb.connect()
    import pyarrow as pa

    con.register("_p", pa.Table.from_pylist(persons))
    con.execute("CREATE TABLE persons AS FROM _p")
    con.execute("CREATE TABLE atena AS SELECT lg_code, atenabango, jutokubun, juminhyokodo FROM persons")
    con.execute("CREATE TABLE links (lg_code VARCHAR, atenabango VARCHAR, juminhyokodo VARCHAR, band VARCHAR)")
    con.execute(f"CREATE TABLE {REGISTRY} AS {EMPTY_REGISTRY_SQL}")
    rows = con.execute(f"SELECT atenabango, _why FROM ({select_sql(contract, KIJUNBI, [LG])})").fetchall()
    return dict(rows)


def test_a_selected_childs_head_comes_along_only_when_nothing_else_leaves_them_out() -> None:
    contract = load_contract(example_contracts()["child_benefit"])
    assert contract.row_filter.household_heads and not contract.allow_sansho_fuka
    persons = [
        _person("c1", "h1", "子", CHILD),
        _person("p1", "h1", "世帯主", ADULT),  # too old for the filter: comes as head
        _person("c2", "h2", "子", CHILD),
        _person("p2", "h2", "世帯主", ADULT, fuka="1"),  # 他業務参照不可
        _person("c3", "h3", "子", CHILD),
        _person("p3", "h3", "世帯主", ADULT, kubun="2"),  # not a 住登者
        _person("c4", "h4", "子", CHILD),
        _person("p4", "h4", "世帯主", None),  # 生年月日 不詳
        _person("p5", "h5", "世帯主", ADULT),  # no selected child in the household
    ]
    why = _select(contract, persons)
    assert {n: why[n] for n in ("c1", "c2", "c3", "c4")} == {"c1": None, "c2": None, "c3": None, "c4": None}
    assert why["p1"] is None
    assert why["p2"] == "sansho_fuka"
    assert why["p3"] == "jutokubun"
    assert why["p4"] == "birth_unknown"
    assert why["p5"] == "age"
