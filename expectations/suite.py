"""The Great Expectations suite of a layout: its rules as expectations.

Every expectation carries ``meta`` = {code, item, rule, hint}: the error code it raises
(E0001–E0004 or W0001), the item it is about, the rule name and a hint in Japanese, so each
failing row maps straight to a line of the receipt. ``python -m expectations.suite`` writes the
suites as JSON into ``expectations/suites/`` (the published contract; a test keeps it current).
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import AndCondition, Column, OrCondition
from great_expectations.expectations.row_conditions import Condition as RowCondition

from expectations.custom import (
    ExpectColumnValuesToHaveValidCheckDigit,
    ExpectHistoryToBeConsecutive,
)
from expectations.rules import NOT_EMPTY, Condition, Rule, rules_for
from jumin.core.files import atomic_write_text
from jumin.core.layouts import LAYOUTS, Layout

SUITES = Path(__file__).parent / "suites"


def gx_condition(when: Condition) -> RowCondition:
    """A GX row condition: every clause holds ("" = empty, "*" = not empty).

    GX takes an OR of ANDs but no OR inside an AND, so the clauses (each an OR of its values)
    are multiplied out: (a or b) and c becomes (a and c) or (b and c).
    """

    def value(column: str, v: str) -> RowCondition:
        c = Column(column)
        return c.is_null() if v == "" else c.is_not_null() if v == NOT_EMPTY else c == v

    terms = [list(t) for t in itertools.product(*([value(c, v) for v in values] for c, values in when))]
    ands: list[RowCondition] = [t[0] if len(t) == 1 else AndCondition(conditions=t) for t in terms]
    return ands[0] if len(ands) == 1 else OrCondition(conditions=ands)


def to_expectation(rule: Rule, rule_id: int) -> Expectation:
    """The GX expectation of rule number ``rule_id``."""
    common: dict[str, Any] = {
        "meta": {"code": rule.code, "item": rule.item, "rule": rule.name, "hint": rule.hint, "rule_id": rule_id}
    }
    if rule.when:
        common["row_condition"] = gx_condition(rule.when)
    col = rule.columns[0]
    e = gx.expectations
    match rule.kind:
        case "not_null":
            return e.ExpectColumnValuesToNotBeNull(column=col, **common)
        case "regex":
            return e.ExpectColumnValuesToMatchRegex(column=col, regex=rule.regex, **common)
        case "calendar":
            return e.ExpectColumnValuesToMatchStrftimeFormat(column=col, strftime_format="%Y-%m-%d", **common)
        case "length":
            return e.ExpectColumnValueLengthsToBeBetween(
                column=col, min_value=rule.min_length, max_value=rule.max_length, **common
            )
        case "in_set":
            return e.ExpectColumnValuesToBeInSet(column=col, value_set=list(rule.values), **common)
        case "check_digit":
            return ExpectColumnValuesToHaveValidCheckDigit(column=col, scheme=rule.scheme, **common)
        case "unique":
            return e.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns), **common)
        case "consecutive":
            return ExpectHistoryToBeConsecutive(column_list=list(rule.columns), **common)
        case "a_ge_b":
            return e.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=rule.columns[0],
                column_B=rule.columns[1],
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                **common,
            )
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def build_suite(layout: Layout) -> gx.ExpectationSuite:
    """The full suite for ``layout``, named ``<layout>_v<version>``."""
    return gx.ExpectationSuite(
        name=f"{layout.name}_v{layout.version}",
        expectations=[to_expectation(r, i) for i, r in enumerate(rules_for(layout))],
    )


def suite_json(layout: Layout) -> str:
    """The suite as stable JSON text (no generated ids)."""
    d: dict[str, Any] = dict(build_suite(layout).to_json_dict())
    d.pop("id", None)
    for e in d["expectations"]:
        e.pop("id", None)
    return json.dumps(d, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(folder: str = str(SUITES)) -> None:
    """Write every layout's suite as ``<folder>/<layout>_v<version>.json``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for layout in LAYOUTS.values():
        atomic_write_text(Path(folder) / f"{layout.name}_v{layout.version}.json", suite_json(layout))


if __name__ == "__main__":
    main(*sys.argv[1:])
