"""Reconciliation in ``make bench``: quality against the generator's ground truth and speed.

One generated population (three municipalities, clerks' corruptions, injected discrepancies) is
ingested, validated and snapshotted, then reconciled in a forked process (time and peak RSS).
Beside it, in the same run:

- **speed baseline**: DuckDB joining the same 宛名 and 住基 snapshots on 生年月日 (a count);
- **quality baseline**: a plain rule, exact NFKC 氏名 (spaces removed) + 生年月日, linking a
  住登外者 when exactly one 住基 person matches.

Quality counts 住登外者 宛名 only (住登者 link by 住民票コード): a true link is one to the
住基 person the ground truth names (``juki_juminhyokodo``) where that person is in the 住基
snapshot; auto precision and recall, recall of auto + review, and the share of 住登外者 sent
to review. The discrepancy report is scored against ``discrepancies.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jumin.apps.bench_common import LG_CODES, _generate, measure, reconcile, report, stage
from jumin.core.lake import Lake

KIJUNBI = "2026-11-01"


def _birth_join(lake: Path) -> None:
    from jumin.core import duck

    snap = Lake(lake)
    atena = duck.quote_literal(str(snap.snapshot("atena", KIJUNBI, KIJUNBI, "*") / "*.parquet"))
    juki = duck.quote_literal(str(snap.snapshot("juki", KIJUNBI, KIJUNBI, "*") / "*.parquet"))
    duck.scalar(
        duck.connect(),
        "birth-date join",
        f"SELECT count(*) FROM read_parquet({atena}) a JOIN read_parquet({juki}) j USING (seinengappi)",
    )


def _deliver(lake: Path) -> None:
    import datetime as dt

    from load.deliver.contract import example_contracts
    from load.deliver.main import deliver

    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    deliver(lake, example_contracts()["vaccination_65plus"], KIJUNBI, at)


def _filter_write(lake: Path, out: Path) -> None:
    """The delivery's baseline: DuckDB selecting the same persons (住登者 aged 65+ on the
    基準日, no 他業務参照不可) and columns from the 宛名 snapshots and writing them as Parquet
    with the lake's writer settings (compression, level, row groups: ``load.config``). It
    writes a little more than the delivery (a person's 住登者 records in two municipalities
    are two rows, 0.3 % of them at 1M) and no pseudonymous id column."""
    from jumin.core import duck
    from load.config import ParquetConfig

    c = ParquetConfig()
    snap = Lake(lake)
    files = duck.quote_literal(str(snap.snapshot("atena", KIJUNBI, KIJUNBI, "*") / "*.parquet"))
    duck.run(
        duck.connect(),
        "filter and write",
        f"COPY (SELECT shimei, shimei_furigana, seinengappi, seibetsu, jusho_todofuken, jusho_shikugunchosonmei, "
        f"jusho_choaza, jusho_banchigohyoki, jusho_katagaki, jusho_yubinbango FROM read_parquet({files}) "
        "WHERE jutokubun = '1' AND coalesce(tagyomusanshofukafuragu, '0') <> '1' "
        "AND seinengappi <= DATE '1961-11-02' ORDER BY atenabango) "
        f"TO {duck.quote_literal(str(out))} (FORMAT parquet, COMPRESSION {c.compression}, "
        f"COMPRESSION_LEVEL {c.compression_level}, ROW_GROUP_SIZE {c.row_group_size})",
    )


def quality(lake: Path, truth: Path) -> dict[str, float]:
    """The quality figures of the staged links and discrepancies, and the baseline's."""
    from jumin.core import duck

    snap = Lake(lake)
    con = duck.connect()
    lit = duck.quote_literal
    hive = "hive_partitioning = true, hive_types = {'kijunbi': DATE, 'lg_code': VARCHAR}"
    duck.run(con, "truth", f"CREATE TABLE truth AS FROM read_csv({lit(str(truth))}, all_varchar = true)")
    duck.run(
        con,
        "juki",
        "CREATE TABLE juki AS SELECT * FROM read_parquet("
        f"{lit(str(snap.snapshot('juki', KIJUNBI, KIJUNBI, '*') / '*.parquet'))}, hive_partitioning = true)",
    )
    duck.run(
        con,
        "atena_snap",
        "CREATE TABLE atena_snap AS SELECT * FROM read_parquet("
        f"{lit(str(snap.snapshot('atena', KIJUNBI, KIJUNBI, '*') / '*.parquet'))}, hive_partitioning = true, "
        "hive_types = {'kijunbi': DATE, 'known_at': DATE, 'lg_code': VARCHAR})",
    )
    duck.run(
        con,
        "jutogai",
        "CREATE TABLE jutogai AS SELECT lg_code, atenabango, CASE WHEN juki_juminhyokodo IN "
        "(SELECT juminhyokodo FROM juki) THEN juki_juminhyokodo END AS truth FROM truth WHERE kind LIKE 'jutogaisha%'",
    )
    duck.run(
        con,
        "links",
        f"CREATE TABLE links AS SELECT * FROM read_parquet({lit(snap.reconcile_glob('links'))}, {hive}) "
        f"WHERE kijunbi = DATE {lit(KIJUNBI)} AND method <> 'juminhyokodo' AND juminhyokodo IS NOT NULL",
    )
    one = duck.rows(
        con,
        "quality",
        """
        WITH l AS (SELECT * FROM links JOIN jutogai USING (lg_code, atenabango))
        SELECT (SELECT count(*) FROM jutogai),
               (SELECT count(*) FROM jutogai WHERE truth IS NOT NULL),
               count(*) FILTER (WHERE band = 'auto'),
               count(*) FILTER (WHERE band = 'auto' AND juminhyokodo = truth),
               count(DISTINCT (lg_code, atenabango)) FILTER (WHERE juminhyokodo = truth),
               count(DISTINCT (lg_code, atenabango)) FILTER (WHERE band = 'review')
        FROM l
        """,
    )[0]
    total, linkable, auto, auto_true, found, review = (int(x) for x in one)
    out = {
        "jutogaisha": total,
        "linkable": linkable,
        "auto_precision": auto_true / max(auto, 1),
        "auto_recall": auto_true / max(linkable, 1),
        "auto_review_recall": found / max(linkable, 1),
        "review_share": review / max(total, 1),
    }
    out.update(_baseline(con))
    out.update(_discrepancy_quality(con, snap, truth.parent / "discrepancies.csv"))
    return out


def _baseline(con: Any) -> dict[str, float]:
    """Exact NFKC 氏名 (no spaces) + 生年月日; a 住登外者 with exactly one such 住基 person is linked."""
    from jumin.core import duck

    key = "replace(replace(nfc_normalize({t}.shimei), ' ', ''), '　', '')"
    j_key = f"SELECT juminhyokodo, {key.format(t='juki')} AS k, seinengappi_text AS b FROM juki"
    duck.run(con, "baseline", f"CREATE TABLE j_key AS {j_key}")
    one = duck.rows(
        con,
        "baseline",
        f"""
        WITH a AS (SELECT t.lg_code, t.atenabango, t.truth, {key.format(t="s")} AS k, s.seinengappi_text AS b
                   FROM jutogai t JOIN atena_snap s USING (lg_code, atenabango)),
             m AS (SELECT a.lg_code, a.atenabango, any_value(a.truth) AS truth, count(*) AS n,
                          any_value(j.juminhyokodo) AS juminhyokodo
                   FROM a JOIN j_key j USING (k, b) GROUP BY ALL)
        SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 1 AND juminhyokodo = truth),
               (SELECT count(*) FROM jutogai WHERE truth IS NOT NULL)
        FROM m
        """,
    )[0]
    auto, true, linkable = (int(x) for x in one)
    return {"baseline_precision": true / max(auto, 1), "baseline_recall": true / max(linkable, 1)}


def _discrepancy_quality(con: Any, snap: Lake, expected: Path) -> dict[str, float]:
    """Recall and precision of the discrepancy report against the injected discrepancies, and
    表記ゆれ reported as 氏名不一致 (must be 0)."""
    from jumin.core import duck

    lit = duck.quote_literal
    hive = "hive_partitioning = true, hive_types = {'kijunbi': DATE, 'lg_code': VARCHAR}"
    one = duck.rows(
        con,
        "discrepancy quality",
        f"""
        WITH t AS (SELECT lg_code, coalesce(atenabango, '') AS a, juminhyokodo AS j,
                          CASE kind WHEN 'hyoki' THEN 'H001' ELSE kind END AS kind
                   FROM read_csv({lit(str(expected))}, all_varchar = true)),
             g AS (SELECT lg_code, coalesce(atenabango, '') AS a, juminhyokodo AS j, kind
                   FROM read_parquet({lit(snap.reconcile_glob("discrepancies"))}, {hive})
                   WHERE kijunbi = DATE {lit(KIJUNBI)}),
             -- a finding is the same as an injected one on (municipality, 宛名 or, for D007, 住民票コード, kind)
             tk AS (SELECT lg_code, CASE WHEN kind = 'D007' THEN j ELSE a END AS who, kind FROM t),
             gk AS (SELECT lg_code, CASE WHEN kind = 'D007' THEN j ELSE a END AS who, kind FROM g)
        SELECT (SELECT count(*) FROM tk WHERE kind LIKE 'D%'),
               (SELECT count(*) FROM tk SEMI JOIN gk USING (lg_code, who, kind) WHERE kind LIKE 'D%'),
               (SELECT count(*) FROM gk WHERE kind LIKE 'D%'),
               (SELECT count(*) FROM gk SEMI JOIN tk USING (lg_code, who, kind) WHERE kind LIKE 'D%'),
               (SELECT count(*) FROM gk SEMI JOIN (SELECT lg_code, who FROM tk WHERE kind = 'H001')
                    USING (lg_code, who) WHERE kind = 'D003')
        """,
    )[0]
    injected, recalled, reported, right, hyoki_as_d003 = (int(x) for x in one)
    return {
        "discrepancies_injected": injected,
        "discrepancy_recall": recalled / max(injected, 1),
        "discrepancy_precision": right / max(reported, 1),
        "hyoki_reported_as_d003": hyoki_as_d003,
    }


def bench_reconcile(work: Path, residents: int) -> None:
    """Issue 10's figures: reconciliation of ``residents`` persons over three municipalities."""
    gen, lake = work / "reconcile-gen", work / "reconcile-lake"
    _generate(gen, LG_CODES, residents)
    stage_s, _ = measure(stage, gen, lake, LG_CODES, KIJUNBI)
    report("reconcile_staging_s", stage_s, "s")
    from jumin.core import duck

    con = duck.connect()
    snap = Lake(lake)
    atena_glob = duck.quote_literal(str(snap.snapshot("atena", KIJUNBI, KIJUNBI, "*") / "*.parquet"))
    counts = duck.rows(
        con,
        "counts",
        f"SELECT (SELECT count(*) FROM read_parquet({atena_glob})), (SELECT count(*) FROM read_parquet("
        f"{duck.quote_literal(str(snap.snapshot('juki', KIJUNBI, KIJUNBI, '*') / '*.parquet'))}))",
    )[0]
    report("reconcile_atena_records", counts[0], "rows")
    report("reconcile_juki_persons", counts[1], "rows")
    join_s, _ = measure(_birth_join, lake)
    seconds, rss = measure(reconcile, lake, KIJUNBI)
    rerun_s, _ = measure(reconcile, lake, KIJUNBI)  # the stored model: no training
    report("duckdb_birth_date_join_s", join_s, "s")
    report("reconcile_s", seconds, "s")
    report("reconcile_rerun_s", rerun_s, "s")
    report("reconcile_peak_rss_mib", rss / 2**20, "MiB")
    report("reconcile_vs_birth_date_join", seconds / join_s, "x")
    del con
    for name, value in quality(lake, gen / "ground_truth.csv").items():
        unit = "ratio" if isinstance(value, float) else "rows"
        report(f"reconcile_{name}", value, unit)
    # issue 11: a contract delivered from the same reconciled lake, beside a plain filter + write
    baseline_s, _ = measure(_filter_write, lake, work / "baseline.parquet")
    deliver_s, deliver_rss = measure(_deliver, lake)
    report("duckdb_filter_write_s", baseline_s, "s")
    report("deliver_vaccination_s", deliver_s, "s")
    report("deliver_peak_rss_mib", deliver_rss / 2**20, "MiB")
    report("deliver_vs_duckdb_filter_write", deliver_s / baseline_s, "x")
