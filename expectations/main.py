"""Validate: run a layout's suite over a parsed upload set and split its rows.

Rows with an error go to quarantine (``rejected/``) with their findings; the rest are cast to
the layout's typed schema and written to ``accepted/``; the receipt counts both, so
``input == accepted + rejected`` always holds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from expectations import config as _config  # noqa: F401  (sets GX_ANALYTICS_ENABLED first)
from expectations.errors import SuiteFailed
from expectations.suite import build_suite
from jumin.errors import Finding
from jumin.lake import Lake, temp_path
from jumin.layouts import Layout, get_layout
from jumin.receipt import Receipt, write_receipt
from load.schema import arrow_schema, typed_select_sql
from transform import duck

log = logging.getLogger(__name__)
ROW = "_row"


@dataclass(frozen=True)
class RowFinding:
    """A finding on the row with index ``row`` of the parsed table."""

    row: int
    finding: Finding


def run_suite(layout: Layout, frame: pd.DataFrame) -> list[RowFinding]:
    """Evaluate the layout's suite on ``frame`` (text columns plus ``_row``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (context.data_sources.add_pandas("parsed")
                 .add_dataframe_asset(layout.name)
                 .add_batch_definition_whole_dataframe("set"))
    suite = context.suites.add(build_suite(layout))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch_def, suite=suite))
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]})
    findings: list[RowFinding] = []
    for r in result.results:
        meta: dict[str, Any] = (r.expectation_config.meta if r.expectation_config else None) or {}
        if r.exception_info.get("raised_exception"):
            raise SuiteFailed(f"{layout.name}: {meta.get('rule')} could not run: "
                              f"{r.exception_info.get('exception_message')}")
        if r.success:
            continue
        item = str(meta["item"])
        for hit in r.result.get("unexpected_index_list") or []:
            value = hit.get(item)
            findings.append(RowFinding(int(hit[ROW]), Finding(
                code=str(meta["code"]), item=item, detail=str(meta["hint"]),
                value=None if value is None or pd.isna(value) else str(value))))
    return findings


def validate_set(parsed_path: str | Path, lake_root: str | Path) -> dict[str, Any]:
    """Validate one parsed upload set; writes accepted, rejected and the receipt."""
    parsed_path = Path(parsed_path)
    lake = Lake(Path(lake_root))
    sidecar = json.loads(parsed_path.with_suffix(".json").read_text())
    manifest = sidecar["manifest_data"]
    layout = get_layout(manifest["layout"], manifest["layout_version"])
    lg_code, set_id = manifest["lg_code"], sidecar["set_id"]
    table = pq.read_table(parsed_path)
    table = table.append_column(ROW, pa.array(range(table.num_rows), type=pa.int64()))
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    row_findings = run_suite(layout, frame)

    files = table.column("_file").to_pylist()
    lines = table.column("_line").to_pylist()
    located = [Finding(f.finding.code, files[f.row], lines[f.row], f.finding.item,
                       f.finding.value, f.finding.detail) for f in row_findings]
    structural = [Finding(**f) for f in sidecar["findings"]]
    findings = sorted(structural + located,
                      key=lambda f: (f.file, f.line or 0, f.item, f.code, f.detail))
    bad_rows = sorted({f.row for f in row_findings if not f.finding.is_warning})
    rejected = len(bad_rows) + len(structural)
    accepted = table.num_rows - len(bad_rows)

    write_quarantine(table, bad_rows, located, lake.rejected(layout.name, lg_code, set_id))
    accepted_path = lake.accepted(layout.name, lg_code, set_id)
    write_accepted(table, bad_rows, layout, lg_code, manifest["kijunbi"], set_id, accepted_path)
    receipt_path = lake.receipt(lg_code, set_id)
    receipt = write_receipt(Receipt(
        set_id=set_id, manifest=sidecar["manifest"], lg_code=lg_code, layout=layout.name,
        kijunbi=manifest["kijunbi"], input=sidecar["rows_read"], accepted=accepted,
        rejected=rejected, findings=findings, files=sidecar["files"]), receipt_path)
    log.info("%s %s: %s", lg_code, sidecar["manifest"], receipt["counts"])
    return {"set_id": set_id, "lg_code": lg_code, "layout": layout.name,
            "status": receipt["status"], "accepted": str(accepted_path),
            "receipt": str(receipt_path), **receipt["counts"]}


def write_quarantine(table: pa.Table, bad_rows: list[int], findings: list[Finding],
                     path: Path) -> None:
    """Rejected rows as sent (text), each with the list of its findings."""
    by_line: dict[tuple[str, int], list[dict[str, str]]] = {}
    for f in findings:
        if not f.is_warning and f.line is not None:
            by_line.setdefault((f.file, f.line), []).append(
                {"code": f.code, "item": f.item, "detail": f.detail})
    rows = table.take(pa.array(bad_rows, type=pa.int64())).drop_columns([ROW])
    errors = [by_line[(fi, li)] for fi, li in zip(rows.column("_file").to_pylist(),
                                                   rows.column("_line").to_pylist(), strict=True)]
    err_type = pa.list_(pa.struct([("code", pa.string()), ("item", pa.string()),
                                   ("detail", pa.string())]))
    rows = rows.append_column("_errors", pa.array(errors, type=err_type))
    tmp = temp_path(path)
    pq.write_table(rows, tmp, compression="zstd")
    tmp.replace(path)


def write_accepted(table: pa.Table, bad_rows: list[int], layout: Layout, lg_code: str,
                   kijunbi: str, set_id: str, path: Path) -> None:
    """Accepted rows cast to the layout's typed schema, in file and line order."""
    keep = pa.array(sorted(set(range(table.num_rows)) - set(bad_rows)), type=pa.int64())
    good = table.take(keep).drop_columns([ROW])
    good = good.append_column("lg_code", pa.array([lg_code] * good.num_rows, pa.string()))
    good = good.append_column("kijunbi", pa.array([kijunbi] * good.num_rows, pa.string()))
    good = good.append_column("set_id", pa.array([set_id] * good.num_rows, pa.string()))
    con = duck.connect()
    con.register("good", good)
    typed = duck.arrow(con, f"accepted {layout.name}", typed_select_sql(layout, "good")
                       ).cast(arrow_schema(layout))
    tmp = temp_path(path)
    pq.write_table(typed, tmp, compression="zstd")
    tmp.replace(path)


def validate_municipality(lake_root: str | Path, lg_code: str,
                          force: bool = False) -> list[dict[str, Any]]:
    """Validate every parsed set of one municipality that has no receipt yet (all if ``force``)."""
    lake = Lake(Path(lake_root))
    out = []
    for parsed in sorted(lake.root.glob(f"parsed/*/lg_code={lg_code}/set=*.parquet")):
        set_id = parsed.stem.removeprefix("set=")
        if force or not lake.receipt(lg_code, set_id).exists():
            out.append(validate_set(parsed, lake.root))
    return out
