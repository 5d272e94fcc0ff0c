"""Check digits against the worked vectors of the domain brief, and as properties."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jumin.core.checkdigits import (
    is_valid_juminhyokodo,
    is_valid_kojinbango,
    is_valid_lg_code,
    juminhyokodo_check,
    kojinbango_check,
    with_lg_check,
)

VECTORS = list(csv.DictReader((Path(__file__).parent / "data" / "check_digits.csv").open()))
CHECKERS = {"kojinbango": is_valid_kojinbango, "lg_code": is_valid_lg_code}


@pytest.mark.parametrize("row", VECTORS, ids=[f"{r['kind']}-{r['value']}" for r in VECTORS])
def test_worked_vectors(row: dict[str, str]) -> None:
    assert CHECKERS[row["kind"]](row["value"]) is (row["valid"] == "true"), row["note"]


def test_lg_code_examples_from_the_brief() -> None:
    assert [with_lg_check(c) for c in ("13101", "01202", "01100", "13000")] == ["131016", "012025", "011002", "130001"]


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), digits)
def test_kojinbango_only_its_own_check_digit_is_valid(first11: str, last: str) -> None:
    assert is_valid_kojinbango(first11 + last) is (last == kojinbango_check(first11))


@given(st.text(alphabet="0123456789", min_size=5, max_size=5), digits)
def test_lg_code_only_its_own_check_digit_is_valid(first5: str, last: str) -> None:
    assert is_valid_lg_code(first5 + last) is (last == with_lg_check(first5)[-1])


@given(st.text(alphabet="0123456789", min_size=10, max_size=10), digits)
def test_juminhyokodo_only_its_own_check_digit_is_valid(first10: str, last: str) -> None:
    assert is_valid_juminhyokodo(first10 + last) is (last == juminhyokodo_check(first10))


@pytest.mark.parametrize("value", ["", "１２３４５６７８９０１２", "62149832025７", "6214983202570"])
def test_kojinbango_rejects_non_ascii_and_wrong_length(value: str) -> None:
    assert not is_valid_kojinbango(value)
