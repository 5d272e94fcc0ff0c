"""The checks of a delivery's output, generated from its contract: rules as data → both engines.

:func:`contract_checks` turns a :class:`~jumin.core.contract.Contract` and the 基準日 into plain
:class:`ContractCheck` data: the columns are exactly the contract's items plus ``person_id``;
``person_id`` is never empty and never repeated (one row per person); required items are never
empty; the contract's quality rules; and the row filter seen from the output (住登区分 in the
filter, no 他業務参照不可 row unless allowed, 生年月日 and 年齢 within the age bounds computed from
the 基準日). The same list becomes a Great Expectations suite (:func:`build_contract_suite`, the
reference, run by :func:`gx_contract_findings`) and one DuckDB query
(:func:`contract_violations_sql`, run by :func:`duck_contract_findings`); a test demands the
same findings from both.

A finding is ``(check, person_id, value)``: the check's index in the list, the row's person id
(None for a check of the whole table) and the offending value as text (the sorted column
names for the column check, the row count for the row-count check).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from jumin.core import duck
from jumin.core.contract import PERSON_ID, Contract, birth_bounds
from jumin.core.duck import quote_ident, quote_literal

CheckKind = Literal["columns", "row_count", "not_null", "unique", "in_set", "between"]
Bound = int | dt.date | None
#: (check index, person_id or None, value as text or None)
Finding = tuple[int, str | None, str | None]


@dataclass(frozen=True)
class ContractCheck:
    """One check of a delivery's output."""

    kind: CheckKind
    #: the column checked; None for a check of the table
    column: str | None
    name: str
    #: what a failure means, in Japanese, for the operator's report
    hint: str
    #: ``columns``: the expected column names; ``in_set``: the allowed values
    values: tuple[str, ...] = ()
    #: inclusive bounds of ``between`` and ``row_count`` (None = unbounded)
    low: Bound = None
    high: Bound = None


def contract_checks(contract: Contract, kijunbi: dt.date) -> tuple[ContractCheck, ...]:
    """Every check of ``contract``'s output for the 基準日 ``kijunbi``, in a stable order (the
    index is the check's id)."""
    names = {i.name for i in contract.items}
    out = [
        ContractCheck(
            "columns",
            None,
            "columns",
            "列が契約の項目と person_id に一致しません",
            values=tuple(sorted(contract.columns)),
        ),
        ContractCheck("not_null", PERSON_ID, "person_id_not_null", "person_id が空欄です"),
        ContractCheck("unique", PERSON_ID, "person_id_unique", "同じ person_id の行が複数あります (一人一行)"),
    ]
    out += [
        ContractCheck("not_null", i.name, "required", f"必須項目「{i.label_ja}」が空欄です")
        for i in contract.items
        if i.required
    ]
    for q in contract.quality:
        if q.kind == "row_count":
            out.append(
                ContractCheck(
                    "row_count",
                    None,
                    "quality_row_count",
                    "件数が品質規則の範囲外です",
                    low=q.min_value,
                    high=q.max_value,
                )
            )
        elif q.kind == "in_set":
            out.append(ContractCheck("in_set", q.column, "quality_in_set", "品質規則にない値です", values=q.values))
        else:
            hint = "品質規則: 空欄があります" if q.kind == "not_null" else "品質規則: 値が重複しています"
            out.append(ContractCheck(q.kind, q.column, f"quality_{q.kind}", hint))
    f = contract.row_filter
    if "jutokubun" in names:
        out.append(
            ContractCheck(
                "in_set", "jutokubun", "filter_jutokubun", "契約の住登区分にない行があります", values=f.jutokubun
            )
        )
    if "tagyomusanshofukafuragu" in names and not contract.allow_sansho_fuka:
        out.append(
            ContractCheck(
                "in_set",
                "tagyomusanshofukafuragu",
                "filter_sansho_fuka",
                "他業務参照不可の行があります (契約で許されていません)",
                values=("0",),
            )
        )
    # with householdHeads the 世帯主 of the selected persons are delivered too, at any age
    if (f.min_age is not None or f.max_age is not None) and not f.household_heads:
        earliest, latest = birth_bounds(f, kijunbi)
        if "seinengappi" in names:
            out.append(
                ContractCheck(
                    "not_null", "seinengappi", "filter_age_known", "生年月日が不詳の行があります (年齢条件の契約)"
                )
            )
            out.append(
                ContractCheck(
                    "between",
                    "seinengappi",
                    "filter_age_birth",
                    "生年月日が契約の年齢条件の範囲外です",
                    low=earliest,
                    high=latest,
                )
            )
        if "age" in names:
            out.append(ContractCheck("not_null", "age", "filter_age_known_age", "年齢が空欄です (年齢条件の契約)"))
            out.append(
                ContractCheck(
                    "between", "age", "filter_age", "年齢が契約の年齢条件の範囲外です", low=f.min_age, high=f.max_age
                )
            )
    return tuple(out)


# -- Great Expectations (reference)


def _expectation(check: ContractCheck, index: int) -> Any:
    import great_expectations as gx

    e = gx.expectations
    meta = {"check": index, "name": check.name, "item": check.column, "hint": check.hint}
    col = check.column or ""
    match check.kind:
        case "columns":
            return e.ExpectTableColumnsToMatchSet(column_set=list(check.values), exact_match=True, meta=meta)
        case "row_count":
            low, high = (b if isinstance(b, int) else None for b in (check.low, check.high))
            return e.ExpectTableRowCountToBeBetween(min_value=low, max_value=high, meta=meta)
        case "not_null":
            return e.ExpectColumnValuesToNotBeNull(column=col, meta=meta)
        case "unique":
            return e.ExpectColumnValuesToBeUnique(column=col, meta=meta)
        case "in_set":
            return e.ExpectColumnValuesToBeInSet(column=col, value_set=list(check.values), meta=meta)
        case "between":
            return e.ExpectColumnValuesToBeBetween(column=col, min_value=check.low, max_value=check.high, meta=meta)
    raise ValueError(f"unknown check kind {check.kind!r}")


def build_contract_suite(contract: Contract, kijunbi: dt.date) -> Any:
    """The GX suite of ``contract``'s output on the 基準日 ``kijunbi``, named
    ``contract_<id>_v<version>``."""
    import great_expectations as gx

    checks = contract_checks(contract, kijunbi)
    return gx.ExpectationSuite(
        name=f"contract_{contract.id}_v{contract.version}",
        expectations=[_expectation(c, i) for i, c in enumerate(checks)],
    )


def _text(v: Any) -> str | None:
    import pandas as pd

    return None if v is None or (not isinstance(v, list | tuple) and pd.isna(v)) else str(v)


def gx_contract_findings(contract: Contract, frame: Any, kijunbi: dt.date) -> list[Finding]:
    """The findings of the contract's suite run by Great Expectations on the pandas ``frame``
    (the output), sorted. A frame lacking a contract column gives the column finding alone."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations import config as _config  # noqa: F401  (GX_ANALYTICS_ENABLED first)

    checks = contract_checks(contract, kijunbi)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = context.data_sources.add_pandas("delivery").add_dataframe_asset(contract.id)
    suite = context.suites.add(build_contract_suite(contract, kijunbi))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch.add_batch_definition_whole_dataframe("all"), suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [PERSON_ID]},
    )
    missing = set(contract.columns) - set(frame.columns)
    out: list[Finding] = []
    for r in result.results:
        assert r.expectation_config is not None and r.expectation_config.meta is not None
        i = int(r.expectation_config.meta["check"])
        check = checks[i]
        if missing and check.kind != "columns":
            continue
        if r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"contract check {check.name} could not run: {r.exception_info.get('exception_message')}"
            )
        if r.success:
            continue
        if check.kind == "columns":
            out.append((i, None, ",".join(sorted(r.result["observed_value"]))))
        elif check.kind == "row_count":
            out.append((i, None, str(r.result["observed_value"])))
        else:
            for hit in r.result.get("unexpected_index_list") or []:
                value = None if check.kind == "not_null" else _text(hit.get(check.column))
                out.append((i, _text(hit.get(PERSON_ID)), value))
    return sorted(out, key=_order)


def _order(f: Finding) -> tuple[int, str, str]:
    return (f[0], f[1] or "", f[2] or "")


# -- DuckDB (fast)


def _literal(v: int | dt.date) -> str:
    return str(v) if isinstance(v, int) else f"DATE {quote_literal(v.isoformat())}"


def _bounds_sql(expr: str, low: Bound, high: Bound) -> str:
    """True when ``expr`` is outside the inclusive bounds."""
    parts = [
        f"{expr} < {_literal(low)}" if low is not None else "",
        f"{expr} > {_literal(high)}" if high is not None else "",
    ]
    return "(" + (" OR ".join(p for p in parts if p) or "false") + ")"


def check_sql(check: ContractCheck, index: int, table: str) -> str:
    """The findings of one check as a SELECT of (check, person_id, value)."""
    pid = quote_ident(PERSON_ID)
    col = quote_ident(check.column or "")
    head = f"SELECT {index} AS check_id"
    match check.kind:
        case "columns":
            agg = "string_agg(column_name, ',' ORDER BY column_name)"
            expected = quote_literal(",".join(check.values))
            return (
                f"{head}, NULL::VARCHAR AS person_id, {agg} AS value FROM (DESCRIBE {table}) HAVING {agg} <> {expected}"
            )
        case "row_count":
            return (
                f"{head}, NULL::VARCHAR AS person_id, CAST(count(*) AS VARCHAR) AS value FROM {table} "
                f"HAVING {_bounds_sql('count(*)', check.low, check.high)}"
            )
        case "not_null":
            return (
                f"{head}, CAST({pid} AS VARCHAR) AS person_id, NULL::VARCHAR AS value FROM {table} WHERE {col} IS NULL"
            )
        case "unique":
            return (
                f"{head}, CAST({pid} AS VARCHAR) AS person_id, CAST({col} AS VARCHAR) AS value FROM "
                f"(SELECT {pid}, {col}, count(*) OVER (PARTITION BY {col}) AS _n FROM {table} WHERE {col} IS NOT NULL) "
                f"WHERE _n > 1"
            )
        case "in_set":
            allowed = ", ".join(quote_literal(v) for v in check.values)
            return (
                f"{head}, CAST({pid} AS VARCHAR) AS person_id, CAST({col} AS VARCHAR) AS value FROM {table} "
                f"WHERE {col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN ({allowed})"
            )
        case "between":
            return (
                f"{head}, CAST({pid} AS VARCHAR) AS person_id, CAST({col} AS VARCHAR) AS value FROM {table} "
                f"WHERE {col} IS NOT NULL AND {_bounds_sql(col, check.low, check.high)}"
            )
    raise ValueError(f"unknown check kind {check.kind!r}")


def contract_violations_sql(contract: Contract, table: str, kijunbi: dt.date) -> str:
    """One DuckDB query giving every finding over ``table`` (a table or view holding at least
    the contract's columns) as (check_id, person_id, value), sorted as the GX findings are."""
    checks = contract_checks(contract, kijunbi)
    parts = " UNION ALL ".join(f"({check_sql(c, i, table)})" for i, c in enumerate(checks))
    return f"SELECT * FROM ({parts}) ORDER BY check_id, coalesce(person_id, ''), coalesce(value, '')"


def duck_contract_findings(
    con: duckdb.DuckDBPyConnection, contract: Contract, table: str, kijunbi: dt.date
) -> list[Finding]:
    """The findings of :func:`contract_violations_sql` over ``table`` on the DuckDB connection
    ``con``; a table lacking a contract column gives the column finding alone (the other checks
    could not name their columns)."""
    what = f"contract {contract.id} checks"
    columns = {r[0] for r in duck.rows(con, table, f"SELECT column_name FROM (DESCRIBE {table})")}
    if set(contract.columns) - columns:
        rows = duck.rows(con, what, check_sql(contract_checks(contract, kijunbi)[0], 0, table))
    else:
        rows = duck.rows(con, what, contract_violations_sql(contract, table, kijunbi))
    return sorted(((int(c), p, v) for c, p, v in rows), key=_order)
