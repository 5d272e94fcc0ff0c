"""The reference engine: the layout's suite run by Great Expectations on a pandas frame.

Slower than :mod:`expectations.sql` but it is GX itself, so it is the oracle the fast engine
is tested against (and ``jumin validate --engine gx`` can use it for a second opinion).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from expectations import config as _config  # noqa: F401  (sets GX_ANALYTICS_ENABLED first)
from expectations.errors import SuiteFailed
from expectations.suite import build_suite
from jumin.core.layouts import Layout

ROW = "_row"
HITS_SCHEMA = pa.schema(
    [("_row", pa.int64()), ("_file", pa.string()), ("_line", pa.int64()), ("rule", pa.int32()), ("value", pa.string())]
)


def run_suite(layout: Layout, frame: pd.DataFrame) -> Any:
    """The GX validation result of the layout's suite over ``frame`` (COMPLETE format)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        context.data_sources.add_pandas("parsed")
        .add_dataframe_asset(layout.name)
        .add_batch_definition_whole_dataframe("set")
    )
    suite = context.suites.add(build_suite(layout))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch_def, suite=suite)
    )
    return definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]},
    )


def gx_hits(layout: Layout, parsed: pa.Table) -> pa.Table:
    """Broken rules per row, as :func:`expectations.sql.findings_sql` returns them."""
    frame = parsed.to_pandas(types_mapper=pd.ArrowDtype)
    result = run_suite(layout, frame)
    files, lines = parsed.column("_file").to_pylist(), parsed.column("_line").to_pylist()
    row_index = {r: i for i, r in enumerate(parsed.column(ROW).to_pylist())}
    hits: list[dict[str, Any]] = []
    for r in result.results:
        meta: dict[str, Any] = (r.expectation_config.meta if r.expectation_config else None) or {}
        if r.exception_info.get("raised_exception"):
            raise SuiteFailed(
                f"{layout.name}: {meta.get('rule')} could not run: {r.exception_info.get('exception_message')}"
            )
        for hit in [] if r.success else r.result.get("unexpected_index_list") or []:
            value = hit.get(meta["item"])
            i = row_index[int(hit[ROW])]
            hits.append(
                {
                    "_row": int(hit[ROW]),
                    "_file": files[i],
                    "_line": lines[i],
                    "rule": int(meta["rule_id"]),
                    "value": None if value is None or pd.isna(value) else str(value),
                }
            )
    hits.sort(key=lambda h: (h["_row"], h["rule"]))
    return pa.Table.from_pylist(hits, schema=HITS_SCHEMA)
