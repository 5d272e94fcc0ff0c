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

pytestmark = [pytest.mark.unit]

VECTORS_CSV = Path(__file__).parent / "data" / "check_digits.csv"
#: the domain brief's vectors (``cases/check_digits.csv`` beside it), where that folder exists
SHARED_CSV = Path(__file__).resolve().parents[2] / "shared" / "cases" / "check_digits.csv"


def read_vectors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# 住民票コード vectors (tests/data/check_digits.csv), worked by hand from the public scheme:
# weights 5 4 3 2 7 6 5 4 3 2 on the first 10 digits, r = sum mod 11, check = 0 if r <= 1 else 11 - r.
#   12345678903: 1*5 + 2*4 + 3*3 + 4*2 + 5*7 + 6*6 + 7*5 + 8*4 + 9*3 + 0*2
#              = 5 + 8 + 9 + 8 + 35 + 36 + 35 + 32 + 27 + 0 = 195 = 17*11 + 8; r 8, check 11 - 8 = 3
#   32201340275: 3*5 + 2*4 + 2*3 + 0*2 + 1*7 + 3*6 + 4*5 + 0*4 + 2*3 + 7*2
#              = 15 + 8 + 6 + 0 + 7 + 18 + 20 + 0 + 6 + 14 = 94 = 8*11 + 6; r 6, check 11 - 6 = 5
#   00000000060: 6*2 = 12 = 11 + 1; r 1, so the check digit is 0 (00000000061 is invalid)
#   12345678900 is what the 個人番号's first ten weights (6 5 4 3 2 7 6 5 4 3) would give:
#              6 + 10 + 12 + 12 + 10 + 42 + 42 + 40 + 36 + 0 = 210 = 19*11 + 1; r 1, check 0: invalid
VECTORS = read_vectors(VECTORS_CSV)
CHECKERS = {"kojinbango": is_valid_kojinbango, "lg_code": is_valid_lg_code, "juminhyokodo": is_valid_juminhyokodo}
CHECK_DIGIT = {
    "kojinbango": kojinbango_check,
    "lg_code": lambda body: with_lg_check(body)[-1],
    "juminhyokodo": juminhyokodo_check,
}


@pytest.mark.parametrize("row", VECTORS, ids=[f"{r['kind']}-{r['value']}" for r in VECTORS])
def test_worked_vectors(row: dict[str, str]) -> None:
    assert CHECKERS[row["kind"]](row["value"]) is (row["valid"] == "true"), row["note"]
    if row["valid"] == "true":  # and the digit is the one computed from the others
        assert CHECK_DIGIT[row["kind"]](row["value"][:-1]) == row["value"][-1], row["note"]


def test_every_kind_has_valid_and_invalid_vectors() -> None:
    kinds = {(r["kind"], r["valid"]) for r in VECTORS}
    assert kinds == {(k, v) for k in CHECKERS for v in ("true", "false")}


@pytest.mark.skipif(not SHARED_CSV.is_file(), reason=f"{SHARED_CSV} is not on this machine")
def test_vectors_include_the_domain_briefs() -> None:
    ours = {(r["kind"], r["value"], r["valid"]) for r in VECTORS}
    missing = [r for r in read_vectors(SHARED_CSV) if (r["kind"], r["value"], r["valid"]) not in ours]
    assert missing == [], f"copy these vectors into {VECTORS_CSV}"


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
