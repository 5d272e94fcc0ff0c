"""Check digits of the identifiers in the standard (see docs/codes.md)."""

from __future__ import annotations

from dataclasses import dataclass

_KOJIN_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_LG_WEIGHTS = (6, 5, 4, 3, 2)
_JUMINHYO_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _mod11(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def kojinbango_check(first11: str) -> str:
    """Check digit for the first 11 digits of a 個人番号."""
    r = _mod11(first11, _KOJIN_WEIGHTS)
    return "0" if r <= 1 else str(11 - r)


def is_valid_kojinbango(value: str) -> bool:
    """True for a 12-digit 個人番号 whose last digit checks."""
    return len(value) == 12 and value.isascii() and value.isdigit() and kojinbango_check(value[:11]) == value[11]


def lg_code_check(first5: str) -> str:
    """Check digit for a 5-digit JIS X 0402 code (全国地方公共団体コード)."""
    return str((11 - _mod11(first5, _LG_WEIGHTS)) % 10)


def with_lg_check(first5: str) -> str:
    """The 6-digit 全国地方公共団体コード for a 5-digit code."""
    return first5 + lg_code_check(first5)


def is_valid_lg_code(value: str) -> bool:
    """True for a 6-digit 全国地方公共団体コード whose last digit checks."""
    return len(value) == 6 and value.isascii() and value.isdigit() and lg_code_check(value[:5]) == value[5]


def juminhyokodo_check(first10: str) -> str:
    """Check digit for 10 digits of a 住民票コード (public scheme; the official one is unconfirmed)."""
    r = _mod11(first10, _JUMINHYO_WEIGHTS)
    return "0" if r <= 1 else str(11 - r)


def is_valid_juminhyokodo(value: str) -> bool:
    """True for an 11-digit 住民票コード whose last digit checks under the public scheme."""
    return len(value) == 11 and value.isascii() and value.isdigit() and juminhyokodo_check(value[:10]) == value[10]


VALIDATORS = {
    "kojinbango": is_valid_kojinbango,
    "lg_code": is_valid_lg_code,
    "juminhyokodo": is_valid_juminhyokodo,
}


@dataclass(frozen=True)
class Scheme:
    """A check-digit scheme as data, for code that computes it elsewhere (e.g. in SQL)."""

    length: int
    weights: tuple[int, ...]
    #: ``mod11`` → 0 if r ≤ 1 else 11 − r;  ``lg`` → (11 − r) mod 10
    rule: str


SCHEMES = {
    "kojinbango": Scheme(12, _KOJIN_WEIGHTS, "mod11"),
    "lg_code": Scheme(6, _LG_WEIGHTS, "lg"),
    "juminhyokodo": Scheme(11, _JUMINHYO_WEIGHTS, "mod11"),
}
