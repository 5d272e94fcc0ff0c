"""Custom expectation: the check digits of the standard's identifiers.

One column map expectation with a ``scheme`` parameter (``kojinbango``, ``lg_code``,
``juminhyokodo``), so Great Expectations reports the failing rows like any built-in one. The
digit arithmetic lives in :mod:`jumin.core.checkdigits`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_condition_partial,
    multicolumn_condition_partial,
)

from jumin.core.checkdigits import VALIDATORS


class ColumnValuesCheckDigitValid(ColumnMapMetricProvider):
    condition_metric_name = "column_values.jumin_check_digit_valid"
    condition_value_keys = ("scheme",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, scheme: str, **kwargs: Any) -> pd.Series:
        return column.map(VALIDATORS[scheme]).astype(bool)


class ExpectColumnValuesToHaveValidCheckDigit(ColumnMapExpectation):
    """Values whose last digit is the check digit of the rest under ``scheme``.

    ``kojinbango``: 個人番号 (12 digits); ``lg_code``: 全国地方公共団体コード (6 digits);
    ``juminhyokodo``: 住民票コード (11 digits, public scheme; its official formula is unconfirmed).
    """

    scheme: str
    map_metric = "column_values.jumin_check_digit_valid"
    success_keys: ClassVar[tuple[str, ...]] = ("scheme", "mostly")


class HistoryConsecutive(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.jumin_history_consecutive"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        person, number = column_list.columns[0], column_list.columns[1]
        text = column_list[number].astype("string")
        n = pd.to_numeric(text.where(text.str.fullmatch(r"[0-9]{1,9}").fillna(False)), errors="coerce")
        frame = pd.DataFrame({"p": column_list[person], "n": n})
        first = frame.groupby("p", dropna=True)["n"].transform("min")
        present = set(zip(frame["p"], frame["n"], strict=True))
        previous = [(p, v - 1) in present for p, v in zip(frame["p"], frame["n"], strict=True)]
        checked = frame["p"].notna() & frame["n"].notna()
        return ~(checked & (frame["n"] != first) & ~pd.Series(previous, index=frame.index))


class ExpectHistoryToBeConsecutive(MulticolumnMapExpectation):
    """履歴番号 (second column) has no gap per person (first column) within the file: every
    number but the person's smallest has its predecessor. A set may start mid-history."""

    map_metric = "multicolumn_values.jumin_history_consecutive"
