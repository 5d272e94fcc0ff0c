"""Check digits of the identifiers in the standard (see docs/codes.md).

Each scheme is declared once, as data (:data:`SCHEMES`): its length, its weights and how the
remainder becomes the check digit. The Python checks below and the SQL of the validation engine
(:func:`expectations.sql.check_digit_sql`) are both derived from that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``mod11``: check = 0 if r ≤ 1 else 11 − r;  ``lg``: check = (11 − r) mod 10
Rule = Literal["mod11", "lg"]


@dataclass(frozen=True)
class Scheme:
    """A mod-11 check-digit scheme: ``length`` digits, the last one checking the ones before,
    weighted left to right by ``weights``; r = weighted sum mod 11."""

    length: int
    weights: tuple[int, ...]
    rule: Rule

    def check_digit(self, body: str) -> str:
        """The check digit for the ``length - 1`` digits of ``body``."""
        r = sum(int(d) * w for d, w in zip(body, self.weights, strict=True)) % 11
        if self.rule == "lg":
            return str((11 - r) % 10)
        return "0" if r <= 1 else str(11 - r)

    def is_valid(self, value: str) -> bool:
        """True for ``length`` ASCII digits whose last digit checks (full-width digits fail)."""
        return (
            len(value) == self.length
            and value.isascii()
            and value.isdigit()
            and self.check_digit(value[:-1]) == value[-1]
        )


SCHEMES = {
    #: 個人番号 (12 digits)
    "kojinbango": Scheme(12, (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), "mod11"),
    #: 全国地方公共団体コード (6 digits, JIS X 0402 plus check digit)
    "lg_code": Scheme(6, (6, 5, 4, 3, 2), "lg"),
    #: 住民票コード (11 digits; the public scheme — the official one is unconfirmed, so a
    #: failure is a warning, never a rejection)
    "juminhyokodo": Scheme(11, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), "mod11"),
}


def kojinbango_check(first11: str) -> str:
    """Check digit for the first 11 digits of a 個人番号."""
    return SCHEMES["kojinbango"].check_digit(first11)


def is_valid_kojinbango(value: str) -> bool:
    """True for a 12-digit 個人番号 whose last digit checks."""
    return SCHEMES["kojinbango"].is_valid(value)


def lg_code_check(first5: str) -> str:
    """Check digit for a 5-digit JIS X 0402 code (全国地方公共団体コード)."""
    return SCHEMES["lg_code"].check_digit(first5)


def with_lg_check(first5: str) -> str:
    """The 6-digit 全国地方公共団体コード for a 5-digit code."""
    return first5 + lg_code_check(first5)


def is_valid_lg_code(value: str) -> bool:
    """True for a 6-digit 全国地方公共団体コード whose last digit checks: the one test of
    "is this a municipality code" in the project (landing folders, accounts, manifests, lake)."""
    return SCHEMES["lg_code"].is_valid(value)


def juminhyokodo_check(first10: str) -> str:
    """Check digit for 10 digits of a 住民票コード (public scheme; the official one is unconfirmed)."""
    return SCHEMES["juminhyokodo"].check_digit(first10)


def is_valid_juminhyokodo(value: str) -> bool:
    """True for an 11-digit 住民票コード whose last digit checks under the public scheme."""
    return SCHEMES["juminhyokodo"].is_valid(value)


#: scheme name → validity check, for the Great Expectations custom expectation
VALIDATORS = {name: scheme.is_valid for name, scheme in SCHEMES.items()}
