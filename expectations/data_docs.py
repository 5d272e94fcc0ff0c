"""GX Data Docs for one validated upload set, built from the fast engine's results.

The DuckDB engine produces, per rule, how many rows broke it and which values; here that
becomes a Great Expectations validation result for the layout's suite and is rendered with
GX's own Data Docs renderer into one static HTML page per set
(``<lake>/docs/lg_code=<code>/<set_id>.html``). Validation saves the small per-rule statistics
next to it (``<set_id>.stats.json``) and the page is rendered afterwards, so a receipt never
waits for GX to load. Only the page's path travels onwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from expectations import config as _config  # noqa: F401  (sets GX_ANALYTICS_ENABLED first)
from expectations.rules import Rule
from jumin.core import duck
from jumin.core.files import atomic_write_bytes
from jumin.core.lake import Lake
from jumin.core.layouts import Layout

PARTIAL = 20


def rule_statistics(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> list[dict[str, Any]]:
    """Per rule: rows, empty values of its item, broken rows and the first broken values."""
    total = duck.scalar(con, "parsed", "SELECT count(*) FROM parsed")
    items = sorted({r.item for r in rules})
    missing_row = duck.rows(
        con,
        "missing values",
        "SELECT " + ", ".join(f"count(*) - count({duck.quote_ident(i)})" for i in items) + " FROM parsed",
    )[0]
    missing = dict(zip(items, missing_row, strict=True))
    broken = {
        rule: (n, values)
        for rule, n, values in duck.rows(
            con,
            "rule statistics",
            f"SELECT rule, count(*), list(value ORDER BY _row)[1:{PARTIAL}] FROM hits GROUP BY rule",
        )
    }
    out = []
    for i, r in enumerate(rules):
        n, values = broken.get(i, (0, []))
        nonmissing = max(total - missing[r.item], 1)
        out.append(
            {
                "element_count": total,
                "missing_count": missing[r.item],
                "missing_percent": 100.0 * missing[r.item] / max(total, 1),
                "unexpected_count": n,
                "unexpected_percent": 100.0 * n / nonmissing,
                "unexpected_percent_nonmissing": 100.0 * n / nonmissing,
                "unexpected_percent_total": 100.0 * n / max(total, 1),
                "partial_unexpected_list": values,
            }
        )
    return out


def validation_result(layout: Layout, stats: list[dict[str, Any]], set_id: str, kijunbi: str) -> Any:
    """The set's results as a GX ``ExpectationSuiteValidationResult`` of the layout's suite."""
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    from expectations.suite import build_suite

    suite = build_suite(layout)
    no_exception = {"raised_exception": False, "exception_message": None, "exception_traceback": None}
    results = [
        ExpectationValidationResult(
            success=s["unexpected_count"] == 0,
            expectation_config=e.configuration,
            result=s,
            exception_info=no_exception,
        )
        for e, s in zip(suite.expectations, stats, strict=True)
    ]
    passed = sum(1 for r in results if r.success)
    return ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100.0 * passed / max(len(results), 1),
        },
        meta={
            "run_id": {"run_name": set_id, "run_time": f"{kijunbi}T00:00:00+09:00"},
            "active_batch_definition": {
                "datasource_name": "jumin",
                "data_asset_name": layout.name,
                "batch_identifiers": {"set_id": set_id},
            },
        },
    )


def write_data_docs(result: Any, path: Path) -> Path:
    """Render the result with GX's Data Docs page renderer into one HTML file."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    html = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result))
    atomic_write_bytes(path, html.encode("utf-8"))
    return path


def build_data_docs(lake_root: str | Path, lg_code: str, force: bool = False) -> list[str]:
    """Render the Data Docs page of every validated set of a municipality that has none yet."""
    import json

    from jumin.core.layouts import get_layout

    out = []
    for stats_path in Lake(Path(lake_root)).rule_stats_files(lg_code):
        html = Lake.data_docs_of(stats_path)
        if html.exists() and not force and html.stat().st_mtime >= stats_path.stat().st_mtime:
            continue
        s = json.loads(stats_path.read_text(encoding="utf-8"))
        result = validation_result(get_layout(s["layout"]), s["rules"], s["set_id"], s["kijunbi"])
        out.append(str(write_data_docs(result, html)))
    return out
