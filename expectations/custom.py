"""Custom expectation: the check digits of the standard's identifiers.

One column map expectation with a ``scheme`` parameter (``kojinbango``, ``lg_code``,
``juminhyokodo``), so Great Expectations reports the failing rows like any built-in one. The
digit arithmetic lives in :mod:`jumin.checkdigits`.
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

from jumin.checkdigits import VALIDATORS


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
