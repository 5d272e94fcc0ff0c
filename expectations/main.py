"""Validate: run a layout's rules over a parsed upload set and split its rows.

The rules run as one DuckDB query (:mod:`expectations.sql`), or through Great Expectations
itself with ``engine="gx"`` (:mod:`expectations.gx_engine`, the reference). Rows with an error
go to quarantine (``rejected/``) with their findings; the rest are cast to the layout's typed
schema and written to ``accepted/``; the receipt counts both, so ``input == accepted +
rejected`` always holds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from expectations.data_docs import rule_statistics
from expectations.rules import Rule, rules_for
from expectations.sql import findings_sql
from jumin.core import duck, store
from jumin.core.errors import SEVERITY_WARNING, Finding
from jumin.core.files import atomic_write_bytes, remove_stale_temps
from jumin.core.lake import Lake, write_work_table
from jumin.core.layouts import LAYOUTS, Layout, get_layout
from jumin.core.parsed import ParsedSet
from jumin.core.receipt import Receipt, ReceiptStatus, is_final, write_receipt
from jumin.core.schema import arrow_schema, typed_select_sql

log = logging.getLogger(__name__)
Engine = Literal["duckdb", "gx"]


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of validating one parsed set: where its rows went and the receipt's counts;
    small enough for XCom (:meth:`to_dict`)."""

    set_id: str
    lg_code: str
    layout: str
    kijunbi: str
    status: ReceiptStatus
    #: rows in the set (``input == accepted + rejected``)
    input: int
    #: rows accepted (written to ``accepted_path``)
    accepted: int
    #: rows rejected (quarantined, or the whole set for a file-level finding)
    rejected: int
    #: warnings (they reject no row)
    warnings: int
    accepted_path: str
    receipt: str
    data_docs: str

    def to_dict(self) -> dict[str, str | int]:
        return asdict(self)


def rules_table(rules: list[Rule]) -> pa.Table:
    """The rules as a small table to join findings with."""
    return pa.table(
        {
            "rule": pa.array(range(len(rules)), pa.int32()),
            "code": [r.code for r in rules],
            "item": [r.item for r in rules],
            "detail": [r.hint for r in rules],
            "warning": [r.code in SEVERITY_WARNING for r in rules],
        }
    )


def load_parsed(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Table ``parsed``: the parsed set with ``_row``, its row number in the file."""
    duck.run(
        con,
        "parsed",
        "CREATE TABLE parsed AS SELECT * EXCLUDE (file_row_number), "
        "file_row_number AS _row FROM read_parquet(?, file_row_number = true)",
        [str(path)],
    )


def find_violations(con: duckdb.DuckDBPyConnection, layout: Layout, rules: list[Rule], engine: Engine) -> pa.Table:
    """(_row, _file, _line, rule, value) for every broken rule, ordered by row and rule."""
    if engine == "gx":
        from expectations.gx_engine import gx_hits

        return gx_hits(layout, duck.arrow(con, "parsed", "SELECT * FROM parsed ORDER BY _row"))
    return duck.arrow(con, f"findings {layout.name}", findings_sql(rules, "parsed"))


def validate_set(parsed_path: str | Path, lake_root: str | Path, engine: Engine = "duckdb") -> ValidationResult:
    """Validate one parsed upload set; writes accepted, rejected and the receipt."""
    parsed_path = store.lake_path(parsed_path)
    lake = Lake.at(lake_root)
    sidecar = ParsedSet.from_json(Lake.parsed_sidecar(parsed_path).read_text(encoding="utf-8"))
    manifest = sidecar.manifest_data
    layout = get_layout(manifest.layout, manifest.layout_version)
    lg_code, set_id, kijunbi = manifest.lg_code, sidecar.set_id, manifest.kijunbi
    rules = rules_for(layout)
    con = duck.connect()
    load_parsed(con, parsed_path)
    con.register("hits", find_violations(con, layout, rules, engine))
    con.register("rules", rules_table(rules))
    duck.run(con, "bad", "CREATE TABLE bad AS SELECT DISTINCT _row FROM hits JOIN rules USING (rule) WHERE NOT warning")
    findings = row_findings(con) + list(sidecar.findings)
    findings.sort(key=lambda f: (f.file, f.line or 0, f.item, f.code, f.detail))
    total = duck.scalar(con, "parsed", "SELECT count(*) FROM parsed")
    bad = duck.scalar(con, "bad", "SELECT count(*) FROM bad")

    write_work_table(quarantine(con), lake.rejected(layout.name, lg_code, set_id))
    write_work_table(accepted(con, layout, lg_code, kijunbi, set_id), lake.accepted(layout.name, lg_code, set_id))
    docs = lake.data_docs(lg_code, set_id)
    atomic_write_bytes(
        lake.rule_stats(lg_code, set_id),
        json.dumps(
            {"layout": layout.name, "set_id": set_id, "kijunbi": kijunbi, "rules": rule_statistics(con, rules)},
            ensure_ascii=False,
        ).encode("utf-8"),
    )
    receipt_path = lake.receipt(lg_code, set_id)
    receipt = write_receipt(
        Receipt(
            set_id=set_id,
            manifest=sidecar.manifest,
            lg_code=lg_code,
            layout=layout.name,
            kijunbi=kijunbi,
            input=sidecar.rows_read,
            accepted=total - bad,
            rejected=bad + len(sidecar.findings),
            findings=findings,
            files=list(sidecar.files),
            gaiji=sidecar.gaiji,
            data_docs=str(docs.relative_to(lake.root)),
        ),
        receipt_path,
    )
    counts = receipt["counts"]
    log.info("%s %s: %s", lg_code, sidecar.manifest, counts)
    return ValidationResult(
        set_id=set_id,
        lg_code=lg_code,
        layout=layout.name,
        kijunbi=kijunbi,
        status=receipt["status"],
        input=counts["input"],
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        warnings=counts["warnings"],
        accepted_path=str(lake.accepted(layout.name, lg_code, set_id)),
        receipt=str(receipt_path),
        data_docs=str(docs),
    )


def row_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Every broken rule as a finding located by file, line and item."""
    rows = duck.rows(
        con,
        "findings",
        "SELECT code, _file, _line, item, value, detail FROM hits JOIN rules USING (rule) ORDER BY _row, rule",
    )
    return [Finding(code=c, file=f, line=li, item=it, value=v, detail=d) for c, f, li, it, v, d in rows]


def quarantine(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Rejected rows as sent (text), each with the list of its errors."""
    return duck.arrow(
        con,
        "rejected",
        """
        SELECT p.* EXCLUDE (_row), e._errors FROM parsed p JOIN (
            SELECT _row, list({'code': code, 'item': item, 'detail': detail} ORDER BY rule)
                   AS _errors
            FROM hits JOIN rules USING (rule) WHERE NOT warning GROUP BY _row) e USING (_row)
        ORDER BY p._row""",
    )


def accepted(con: duckdb.DuckDBPyConnection, layout: Layout, lg_code: str, kijunbi: str, set_id: str) -> pa.Table:
    """Accepted rows cast to the layout's typed schema, in file and line order."""
    source = (
        f"(SELECT p.* EXCLUDE (_row), {duck.quote_literal(lg_code)} AS lg_code, "
        f"{duck.quote_literal(kijunbi)} AS kijunbi, {duck.quote_literal(set_id)} AS set_id "
        f"FROM parsed p ANTI JOIN bad USING (_row))"
    )
    return duck.arrow(con, f"accepted {layout.name}", typed_select_sql(layout, source)).cast(arrow_schema(layout))


def validate_municipality(
    lake_root: str | Path, lg_code: str, force: bool = False, engine: Engine = "duckdb"
) -> list[ValidationResult]:
    """Validate every parsed set of one municipality that has no receipt yet (all if ``force``).

    Temporary files that a killed earlier run left in the folders validation writes are removed
    first; the receipt, written last, marks a set as done, so a killed set is validated again.
    """
    lake = Lake.at(lake_root)
    for layout in LAYOUTS:
        remove_stale_temps(lake.accepted_folder(layout, lg_code))
        remove_stale_temps(lake.rejected_folder(layout, lg_code))
    remove_stale_temps(lake.receipts_folder(lg_code))
    remove_stale_temps(lake.docs_folder(lg_code))
    out = []
    for parsed in lake.parsed_files(lg_code):
        if force or not is_final(lake.receipt(lg_code, Lake.set_id_of(parsed))):
            out.append(validate_set(parsed, lake.root, engine))
    return out
