"""Deterministic reconciliation of 住登者: the 突合表 (``expectations.reconcile.FRAME_COLUMNS``)
joining each 住登者 宛名 with the 住基 person of the same 住民票コード on the same 基準日, and the
discrepancy rules run over it by DuckDB (default) or by Great Expectations (reference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import duckdb
import pyarrow as pa

from expectations.reconcile import RULE_OF, RULES, findings_sql, gx_findings
from jumin.core import duck

Engine = Literal["duckdb", "gx"]

#: what :func:`discrepancies` returns (both engines)
FINDINGS = pa.schema(
    [
        ("_row", pa.int64()),
        *((n, pa.string()) for n in ("lg_code", "atenabango", "juminhyokodo", "kind", "item")),
        ("atena_value", pa.string()),
        ("juki_value", pa.string()),
    ]
)

#: a name's key: 氏 and 名 keys together (a different split of the same name is no difference)
_NAME_KEY = "{t}.uji_kanji || {t}.na_kanji"
_ADDRESS_KEY = "concat_ws('|', {t}.jusho_shikuchosonkodo, {t}.choaza, {t}.banchi)"


def taisho_sql(lg_codes: Sequence[str]) -> str:
    """The 突合表 of the municipalities ``lg_codes`` over ``atena_keyed``, ``juki_keyed`` and
    ``juki_last`` (see :mod:`transform.reconcile.frames`), one row per 住登者 宛名 and one per
    住基 resident without a 住登者 宛名, ordered by municipality, 宛名番号, 住民票コード."""
    codes = ", ".join(duck.quote_literal(c) for c in lg_codes) or "NULL"

    def side(t: str, p: str) -> str:
        return (
            f"coalesce({t}.shimei, '') AS {p}_shimei, coalesce({_NAME_KEY.format(t=t)}, '') AS {p}_shimei_key, "
            f"coalesce({t}.seinengappi_text, '') AS {p}_seinengappi, coalesce({t}.seibetsu, '') AS {p}_seibetsu, "
            f"coalesce({t}.jusho, '') AS {p}_jusho, coalesce({_ADDRESS_KEY.format(t=t)}, '') AS {p}_jusho_key"
        )

    return f"""
        WITH a AS (SELECT * FROM atena_keyed WHERE jutokubun = '1' AND juminhyokodo <> ''
                   AND lg_code IN ({codes})),
             j AS (SELECT * FROM juki_keyed WHERE version = 0 AND lg_code IN ({codes})),
             known AS (SELECT DISTINCT juminhyokodo FROM juki_last)
        SELECT (row_number() OVER (ORDER BY lg_code, atenabango NULLS LAST, juminhyokodo) - 1)::BIGINT AS _row, *
        FROM (
            SELECT coalesce(a.lg_code, j.lg_code) AS lg_code, coalesce(a.atenabango, '') AS atenabango,
                   coalesce(a.juminhyokodo, j.juminhyokodo) AS juminhyokodo,
                   CASE WHEN a.rec_id IS NULL THEN '0' ELSE '1' END AS in_atena,
                   CASE WHEN j.rec_id IS NOT NULL OR coalesce(a.juminhyokodo, j.juminhyokodo) IN
                        (SELECT juminhyokodo FROM known) THEN '1' ELSE '0' END AS juki_known,
                   CASE WHEN j.rec_id IS NULL THEN '0' ELSE '1' END AS juki_here,
                   CASE WHEN a.rec_id IS NULL THEN '' ELSE '住登者' END AS a_status,
                   coalesce(l.status, '') AS j_status,
                   {side("a", "a")}, {side("j", "j")}
            FROM a FULL JOIN j ON a.juminhyokodo = j.juminhyokodo AND a.lg_code = j.lg_code
            LEFT JOIN juki_last l ON l.lg_code = coalesce(a.lg_code, j.lg_code)
                 AND l.juminhyokodo = coalesce(a.juminhyokodo, j.juminhyokodo))
    """


def build_taisho(con: duckdb.DuckDBPyConnection, lg_codes: Sequence[str]) -> None:
    """Create the table ``taisho`` (the 突合表) in ``con``."""
    duck.run(con, "taisho", f"CREATE OR REPLACE TEMP TABLE taisho AS {taisho_sql(lg_codes)} ORDER BY _row")


def discrepancies(con: duckdb.DuckDBPyConnection, engine: Engine = "duckdb") -> pa.Table:
    """Every finding over ``taisho``: ``_row``, lg_code, atenabango (NULL for D007), juminhyokodo,
    kind, item and the two values, ordered by row then rule."""
    sql = findings_sql("taisho")
    if engine == "duckdb":
        return duck.arrow(con, "discrepancies", sql).cast(FINDINGS)
    import pandas as pd

    frame = duck.arrow(con, "taisho", "SELECT * FROM taisho ORDER BY _row").to_pandas(types_mapper=pd.ArrowDtype)
    rows: list[dict[str, object]] = []
    for row, kind in gx_findings(frame):
        rule, record = RULE_OF[kind], frame.iloc[row]
        rows.append(
            {
                "_row": row,
                "lg_code": record["lg_code"],
                "atenabango": record["atenabango"] or None,
                "juminhyokodo": record["juminhyokodo"],
                "kind": kind,
                "item": rule.item,
                "atena_value": record[rule.values[0]],
                "juki_value": record[rule.values[1]],
            }
        )
    return pa.Table.from_pylist(rows, schema=FINDINGS)


#: sampled values per rule on a Data Docs page
PARTIAL = 20


def rule_statistics(con: duckdb.DuckDBPyConnection, found: pa.Table, lg_code: str) -> list[dict[str, Any]]:
    """Per rule (in :data:`RULES` order) for one municipality: the 突合表 rows it looked at, the
    rows it found and the first values found (宛名's and 住基's), as GX results count them."""
    code = duck.quote_literal(lg_code)
    con.register("_found", found)
    try:
        stats = []
        for rule in RULES:
            where = " AND ".join(f"{duck.quote_ident(c)} = '1'" for c in rule.when)
            total = duck.scalar(con, "taisho", f"SELECT count(*) FROM taisho WHERE lg_code = {code} AND {where}")
            hits = duck.rows(
                con,
                "findings",
                f"SELECT atena_value, juki_value FROM _found WHERE lg_code = {code} AND kind = "
                f"{duck.quote_literal(rule.kind)} ORDER BY _row LIMIT {PARTIAL}",
            )
            n = duck.scalar(
                con, "findings", f"SELECT count(*) FROM _found WHERE lg_code = {code} AND kind = '{rule.kind}'"
            )
            sample = [list(h) for h in hits] if rule.check == "equal" else [h[1] or h[0] for h in hits]
            stats.append(
                {
                    "element_count": total,
                    "missing_count": 0,
                    "missing_percent": 0.0,
                    "unexpected_count": n,
                    "unexpected_percent": 100.0 * n / max(total, 1),
                    "unexpected_percent_nonmissing": 100.0 * n / max(total, 1),
                    "unexpected_percent_total": 100.0 * n / max(total, 1),
                    "partial_unexpected_list": sample,
                }
            )
        return stats
    finally:
        con.unregister("_found")


__all__ = ["RULES", "Engine", "build_taisho", "discrepancies", "rule_statistics", "taisho_sql"]
