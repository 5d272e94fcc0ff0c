"""The persons of a delivery: ages on the 基準日 and one row per person across municipalities."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jumin.core import duck
from jumin.core.contract import age_on
from transform.deliver import age_sql, persons_sql

pytestmark = pytest.mark.unit

M, N = "131016", "012025"


def age_of(birth: str | None, kijunbi: str) -> int | None:
    con = duck.connect()
    value = "NULL::DATE" if birth is None else f"DATE '{birth}'"
    result: int | None = duck.scalar(con, "age", f"SELECT {age_sql(value, kijunbi)}")
    return result


def test_an_age_is_reached_on_the_day_before_the_birthday() -> None:
    assert age_of("1961-11-02", "2026-11-01") == 65  # 65歳に達する日 = 誕生日の前日
    assert age_of("1961-11-03", "2026-11-01") == 64
    assert age_of("1961-11-01", "2026-11-01") == 65
    assert age_of("2000-02-29", "2026-02-27") == 25
    assert age_of("2000-02-29", "2026-02-28") == 26
    assert age_of("2020-04-02", "2026-04-01") == 6  # 4月2日生まれ: 6 on 1 April (not 早生まれ)
    assert age_of("1996-03-01", "2025-02-28") == 29  # 3月1日生まれ: on the last day of February
    assert age_of("1996-03-01", "2024-02-28") == 27 and age_of("1996-03-01", "2024-02-29") == 28
    assert age_of(None, "2026-11-01") is None


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 11, 1)), st.dates(min_value=dt.date(2000, 1, 1)))
@settings(max_examples=200, deadline=None)
def test_ages_agree_with_the_one_rule_of_the_contracts(birth: dt.date, day: dt.date) -> None:
    if day < birth:
        return
    assert age_of(birth.isoformat(), day.isoformat()) == age_on(birth, day)


def _persons(atena: list[dict[str, Any]], links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    con = duck.connect()
    atena_schema = pa.schema(
        [("lg_code", pa.string()), ("atenabango", pa.string()), ("jutokubun", pa.string()),
         ("juminhyokodo", pa.string()), ("seinengappi", pa.date32())]
    )  # fmt: skip
    links_schema = pa.schema(
        [("lg_code", pa.string()), ("atenabango", pa.string()), ("juminhyokodo", pa.string()), ("band", pa.string())]
    )
    con.register("atena", pa.Table.from_pylist(atena, schema=atena_schema))
    con.register("links", pa.Table.from_pylist(links, schema=links_schema))
    rows: list[dict[str, Any]] = duck.arrow(con, "persons", persons_sql("atena", "links", "2026-11-01")).to_pylist()
    return rows


def test_one_row_per_person_the_registered_record_first() -> None:
    born = dt.date(1950, 5, 5)
    atena: list[dict[str, Any]] = [
        {"lg_code": M, "atenabango": "1", "jutokubun": "1", "juminhyokodo": "11111111111", "seinengappi": born},
        {"lg_code": N, "atenabango": "7", "jutokubun": "2", "juminhyokodo": None, "seinengappi": born},
        {"lg_code": N, "atenabango": "8", "jutokubun": "2", "juminhyokodo": None, "seinengappi": None},
        {"lg_code": N, "atenabango": "9", "jutokubun": "2", "juminhyokodo": None, "seinengappi": born},
    ]
    links: list[dict[str, Any]] = [
        {"lg_code": N, "atenabango": "7", "juminhyokodo": "11111111111", "band": "auto"},
        # a review candidate is no link: the 宛名 stays a person of its own
        {"lg_code": N, "atenabango": "9", "juminhyokodo": "11111111111", "band": "review"},
    ]
    got = {(r["person"], r["lg_code"], r["atenabango"], tuple(r["source_lg_codes"]), r["records"], r["age"])
           for r in _persons(atena, links)}  # fmt: skip
    assert got == {
        ("J:11111111111", M, "1", (N, M), 2, 76),
        (f"A:{N}:8", N, "8", (N,), 1, None),
        (f"A:{N}:9", N, "9", (N,), 1, 76),
    }
