"""Custom expectations: the check digits of the standard's identifiers.

Each is a column map expectation, so Great Expectations reports the failing rows like any
built-in one. The digit arithmetic lives in :mod:`jumin.checkdigits`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from jumin.checkdigits import (
    is_valid_juminhyokodo,
    is_valid_kojinbango,
    is_valid_lg_code,
)


def _valid(column: pd.Series, check: Any) -> pd.Series:
    return column.map(check).astype(bool)


class ColumnValuesKojinbangoValid(ColumnMapMetricProvider):
    condition_metric_name = "column_values.jumin_kojinbango_valid"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return _valid(column, is_valid_kojinbango)


class ColumnValuesLgCodeValid(ColumnMapMetricProvider):
    condition_metric_name = "column_values.jumin_lg_code_valid"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return _valid(column, is_valid_lg_code)


class ColumnValuesJuminhyokodoValid(ColumnMapMetricProvider):
    condition_metric_name = "column_values.jumin_juminhyokodo_valid"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return _valid(column, is_valid_juminhyokodo)


class ExpectColumnValuesToBeValidKojinbango(ColumnMapExpectation):
    """個人番号: 12 digits whose last digit is the check digit of the first 11."""

    map_metric = "column_values.jumin_kojinbango_valid"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidLgCode(ColumnMapExpectation):
    """全国地方公共団体コード: 6 digits whose last digit is the check digit of the first 5."""

    map_metric = "column_values.jumin_lg_code_valid"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidJuminhyokodo(ColumnMapExpectation):
    """住民票コード: 11 digits; the check digit follows the public scheme (warning only)."""

    map_metric = "column_values.jumin_juminhyokodo_valid"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


CHECK_DIGIT_EXPECTATIONS: dict[str, type[ColumnMapExpectation]] = {
    "kojinbango": ExpectColumnValuesToBeValidKojinbango,
    "lg_code": ExpectColumnValuesToBeValidLgCode,
    "juminhyokodo": ExpectColumnValuesToBeValidJuminhyokodo,
}
