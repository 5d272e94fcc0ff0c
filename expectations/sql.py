"""The rules of a layout compiled to one DuckDB query: the fast engine of validation.

Semantics follow Great Expectations' (the reference engine): a value check ignores empty
values, a row condition narrows the rows first, the unique-key check flags every copy. A test
runs both engines over the same data and requires identical findings.
"""

from __future__ import annotations

from expectations.rules import NOT_EMPTY, Condition, Rule
from jumin.core.checkdigits import SCHEMES
from jumin.core.duck import quote_ident, quote_literal


def condition_sql(when: Condition) -> str:
    """Every clause holds: its column has one of its values ("" = empty, "*" = not empty)."""

    def value(col: str, v: str) -> str:
        return {"": f"{col} IS NULL", NOT_EMPTY: f"{col} IS NOT NULL"}.get(v, f"{col} = {quote_literal(v)}")

    return (
        "("
        + " AND ".join("(" + " OR ".join(value(quote_ident(c), v) for v in values) + ")" for c, values in when)
        + ")"
    )


def history_number_sql(col: str) -> str:
    """履歴番号 as a number when it is 1–9 ASCII digits, else NULL (as the GX engine reads it)."""
    return f"CASE WHEN regexp_full_match({col}, '[0-9]{{1,9}}') THEN CAST({col} AS BIGINT) END"


def check_digit_sql(col: str, scheme_name: str) -> str:
    """True when ``col`` has the scheme's length in ASCII digits and its last digit checks."""
    s = SCHEMES[scheme_name]
    digits = [f"(ascii(substr({col}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(s.weights)]
    r = f"(({' + '.join(digits)}) % 11)"
    check = f"(CASE WHEN {r} <= 1 THEN 0 ELSE 11 - {r} END)" if s.rule == "mod11" else f"((11 - {r}) % 10)"
    return f"(regexp_full_match({col}, '[0-9]{{{s.length}}}') AND ascii(substr({col}, {s.length}, 1)) - 48 = {check})"


def violation_sql(rule: Rule, index: int) -> str:
    """A boolean SQL expression: the row breaks ``rule`` (number ``index`` in its list)."""
    col = quote_ident(rule.columns[0])
    match rule.kind:
        case "not_null":
            v = f"{col} IS NULL"
        case "regex":
            v = f"{col} IS NOT NULL AND NOT regexp_matches({col}, {quote_literal(rule.regex)})"
        case "calendar":
            v = f"{col} IS NOT NULL AND try_strptime({col}, '%Y-%m-%d') IS NULL"
        case "length":
            v = f"{col} IS NOT NULL AND (length({col}) < {rule.min_length} OR length({col}) > {rule.max_length})"
        case "in_set":
            v = f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(map(quote_literal, rule.values))})"
        case "check_digit":
            v = f"{col} IS NOT NULL AND NOT {check_digit_sql(col, rule.scheme)}"
        case "unique":
            v = f"{dup_column(index)} > 1"
        case "consecutive":
            n = history_number_sql(quote_ident(rule.columns[1]))
            v = (
                f"{quote_ident(rule.columns[0])} IS NOT NULL AND {n} IS NOT NULL AND "
                f"{n} <> _min_{index} AND NOT list_contains(_all_{index}, {n} - 1)"
            )
        case "a_ge_b":
            a, b = (quote_ident(c) for c in rule.columns)
            v = f"{a} IS NOT NULL AND {b} IS NOT NULL AND NOT ({a} >= {b})"
        case _:
            raise ValueError(f"unknown rule kind {rule.kind!r}")
    return f"({condition_sql(rule.when)} AND {v})" if rule.when else f"({v})"


def dup_column(index: int) -> str:
    """The helper column counting copies of a row's key for unique rule ``index``."""
    return f"_dup_{index}"


def findings_sql(rules: list[Rule], source: str) -> str:
    """Rows of ``source`` (with ``_row``, ``_file``, ``_line``) × the rules they break.

    One scan: each row yields the list of broken rule ids with the value of the rule's item.
    """
    windows = []
    for i, r in enumerate(rules):
        if r.kind == "unique":
            cols = ", ".join(quote_ident(c) for c in r.columns)
            all_null = " AND ".join(f"{quote_ident(c)} IS NULL" for c in r.columns)
            windows.append(
                f"CASE WHEN {all_null} THEN 0 ELSE count(*) OVER (PARTITION BY {cols}) END AS {dup_column(i)}"
            )
        if r.kind == "consecutive":
            person, n = quote_ident(r.columns[0]), history_number_sql(quote_ident(r.columns[1]))
            windows.append(f"min({n}) OVER (PARTITION BY {person}) AS _min_{i}")
            windows.append(f"list({n}) OVER (PARTITION BY {person}) AS _all_{i}")
    # window helpers are computed on the few columns they read and joined back by row: a
    # window over the full-width rows would sort every column of the set
    src = (
        f"(SELECT s.*, w.* EXCLUDE (_row) FROM {source} s JOIN "
        f"(SELECT _row, {', '.join(windows)} FROM {source}) w USING (_row))"
        if windows
        else source
    )
    violations = [violation_sql(r, i) for i, r in enumerate(rules)]
    cases = [
        f"CASE WHEN {v} THEN {{'rule': {i}, 'value': {quote_ident(r.item)}}} END"
        for i, (r, v) in enumerate(zip(rules, violations, strict=True))
    ]
    # most rows break nothing: a plain OR over the checks finds the few that do, and only
    # those pay for building the list of broken rules
    return (
        f"WITH src AS (SELECT * FROM {src}), "
        f"bad AS (SELECT * FROM src WHERE {' OR '.join(violations)}), "
        f"hits AS (SELECT _row, _file, _line, list_filter([{', '.join(cases)}], "
        f"lambda x: x IS NOT NULL) AS broken FROM bad) "
        f"SELECT _row, _file, _line, b.rule AS rule, b.value AS value "
        f"FROM (SELECT _row, _file, _line, unnest(broken) AS b FROM hits) ORDER BY _row, rule"
    )
