"""``frames.derive``, the one place keys leave SQL for Python: the table it builds is every
distinct input combination, sorted, with the function's outputs, however many chunks the
values stream through (its memory bound) and whether or not worker processes compute them."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import transform.reconcile.frames as frames
from jumin.core import duck


def _key(a: str | None, b: int | None) -> tuple[str, int]:
    return ((a or "") + "|" + str(b), len(a or ""))


def _derived(values: list[tuple[str | None, int | None]]) -> list[tuple[object, ...]]:
    con = duck.connect()
    con.register("_src", pa.table({"a": [v[0] for v in values], "b": pa.array([v[1] for v in values], pa.int64())}))
    duck.run(con, "src", "CREATE TEMP TABLE src AS FROM _src")
    frames.derive(con, "k", "src", ["a", "b"], _key, [("key", pa.string()), ("n", pa.int32())])
    return duck.rows(con, "k", "SELECT * FROM k")


def _reference(values: list[tuple[str | None, int | None]]) -> list[tuple[object, ...]]:
    def order(v: tuple[str | None, int | None]) -> tuple[bool, str, bool, int]:  # ORDER BY ALL: NULLS LAST
        return (v[0] is None, v[0] or "", v[1] is None, v[1] or 0)

    return [(*v, *_key(*v)) for v in sorted(set(values), key=order)]


texts = st.none() | st.sampled_from(["", "あ", "阿部", "abc", "齋藤"])
rows = st.lists(st.tuples(texts, st.none() | st.integers(-3, 3)))


@pytest.mark.unit
@settings(max_examples=60, deadline=None)
@given(rows, st.integers(1, 5))
def test_derive_streams_any_number_of_chunks(values: list[tuple[str | None, int | None]], chunk: int) -> None:
    saved = frames.DERIVE_CHUNK
    frames.DERIVE_CHUNK = chunk
    try:
        assert _derived(values) == _reference(values)
    finally:
        frames.DERIVE_CHUNK = saved


@pytest.mark.unit
def test_derive_of_nothing_is_an_empty_table_with_the_outputs() -> None:
    con = duck.connect()
    duck.run(con, "src", "CREATE TEMP TABLE src (a VARCHAR, b BIGINT)")
    frames.derive(con, "k", "src", ["a", "b"], _key, [("key", pa.string()), ("n", pa.int32())])
    assert duck.rows(con, "k", "SELECT column_name, column_type FROM (DESCRIBE k)") == [
        ("a", "VARCHAR"),
        ("b", "BIGINT"),
        ("key", "VARCHAR"),
        ("n", "INTEGER"),
    ]
