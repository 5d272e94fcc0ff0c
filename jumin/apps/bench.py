"""``make bench``: timings and memory, every figure on its own line as ``BENCH <name> <value> <unit>``.

Each step runs in its own forked process so its peak RSS is its own. Ratios compare steps
measured side by side in this one run, never against numbers from another machine or day.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from extract.inbox import deliver_local
from jumin.apps.bench_common import LG_CODES, _generate, measure, report
from jumin.apps.bench_national import SIZES
from jumin.core.lake import Lake

#: repetitions of the copy/validation pair; medians are reported
RUNS = 3
#: history rows of the snapshot bench
HISTORY_ROWS = 10_000_000


def _duckdb_copy(csv_path: Path, out: Path) -> None:
    from jumin.core import duck

    duck.run(
        duck.connect(),
        "duckdb copy",
        f"COPY (SELECT * FROM read_csv('{csv_path}', "
        f"all_varchar = true, header = true)) TO '{out}' (FORMAT parquet, COMPRESSION zstd)",
    )


def _ingest(landing: Path, lake: Path, lg_code: str) -> None:
    from extract.main import ingest_municipality

    ingest_municipality(landing, lake, lg_code)


def _validate(lake: Path, lg_code: str) -> None:
    from expectations.main import validate_municipality

    validate_municipality(lake, lg_code, force=True)  # the same work on every repetition


def _data_docs(lake: Path, lg_code: str) -> None:
    from expectations.data_docs import build_data_docs

    build_data_docs(lake, lg_code)


def _snapshot(lake: Path, lg_code: str) -> None:
    from load.main import snapshot_municipality

    snapshot_municipality(lake, lg_code, "2026-11-01")


def _duckdb_rewrite(glob: str, out: Path) -> None:
    """The baseline of the snapshot bench: scan every history row and write it as Parquet with
    the snapshot's writer settings."""
    from jumin.core import duck
    from load.config import ParquetConfig

    c = ParquetConfig()
    duck.run(
        duck.connect(),
        "duckdb rewrite",
        f"COPY (SELECT * FROM read_parquet('{glob}')) TO '{out}' (FORMAT parquet, "
        f"COMPRESSION {c.compression}, COMPRESSION_LEVEL {c.compression_level}, "
        f"ROW_GROUP_SIZE {c.row_group_size})",
    )


def _snapshot_history(lake: Path, lg_code: str) -> None:
    from load.main import snapshot_layout

    snapshot_layout(lake, "atena", lg_code, "2026-11-01")


def build_history(accepted: Path, lake: Path, lg_code: str, rows: int) -> int:
    """A history of exactly ``rows`` atena rows, made of copies of the generated accepted rows,
    each copy a different set of persons (宛名番号 prefixed by the copy number) in its own
    upload set; one more set sends a tenth of the first copy again, corrected, with a later
    基準日, so the version rule has work to do. Returns the rows written."""
    from jumin.core import duck
    from jumin.core.lake import WORK_COMPRESSION

    con = duck.connect()
    src = f"read_parquet('{accepted}')"
    n = duck.scalar(con, "accepted", f"SELECT count(*) FROM {src}")
    resent = min(rows // 10, n)
    remaining, copy = rows - resent, 0
    target = Lake(lake)
    while remaining > 0:
        take = min(n, remaining)
        out = target.accepted("atena", lg_code, f"copy{copy:03d}")
        out.parent.mkdir(parents=True, exist_ok=True)
        duck.run(
            con,
            "history copy",
            f"COPY (SELECT * REPLACE (printf('%03d', {copy}) || atenabango AS atenabango, "
            f"'copy{copy:03d}' AS set_id) FROM {src} LIMIT {take}) TO '{out}' "
            f"(FORMAT parquet, COMPRESSION {WORK_COMPRESSION})",
        )
        remaining -= take
        copy += 1
    if resent:
        out = target.accepted("atena", lg_code, "resent")
        duck.run(
            con,
            "history resent",
            f"COPY (SELECT * REPLACE ('000' || atenabango AS atenabango, 'resent' AS set_id,"
            f" kijunbi + 1 AS kijunbi, shimei || '　' AS shimei) FROM {src} "
            f"LIMIT {resent}) TO '{out}' (FORMAT parquet, COMPRESSION {WORK_COMPRESSION})",
        )
    return rows


def check_counts(lake: Path, lg_code: str, rows: int) -> None:
    """Refuse to report timings of a run that did not process every row."""
    import json

    receipts = [json.loads(p.read_text()) for p in Lake(lake).receipts(lg_code)]
    got = sum(r["counts"]["accepted"] + r["counts"]["rejected"] for r in receipts)
    if got != rows:
        raise RuntimeError(f"benchmark processed {got} rows, expected {rows}")


def bench_generate(work: Path, residents: int) -> None:
    """Issue 2's figure: generating ``residents`` persons over three municipalities."""
    seconds, rss = measure(_generate, work / "gen", LG_CODES, residents)
    report(f"generate_{residents}_residents_s", seconds, "s")
    report("generate_peak_rss_mib", rss / 2**20, "MiB")
    shutil.rmtree(work / "gen", ignore_errors=True)


def bench_validation(work: Path, residents: int) -> None:
    """Ingest, validation and snapshot of one municipality's atena file, each against DuckDB
    copying the same CSV to Parquet, measured side by side."""
    lg_code = LG_CODES[0]
    municipal = work / "municipal"
    _generate(municipal, [lg_code], residents)
    landing, lake = work / "landing", work / "lake"
    upload_dir = municipal / "landing" / lg_code
    for p in upload_dir.glob("[!a]*"):  # only the atena set is measured
        p.unlink()
    deliver_local(upload_dir, landing, lg_code)
    csv_path = next(upload_dir.glob("atena_*.csv"))
    rows = sum(1 for _ in csv_path.open("rb")) - 1
    report("atena_rows", rows, "rows")
    ingest_s, ingest_rss = measure(_ingest, landing, lake, lg_code)
    copies, validations = [], []
    for _ in range(RUNS):  # interleaved, so a noisy moment hits both sides
        copies.append(measure(_duckdb_copy, csv_path, work / "copy.parquet"))
        validations.append(measure(_validate, lake, lg_code))
    check_counts(lake, lg_code, rows)
    copy_s = statistics.median(c[0] for c in copies)
    validate_s = statistics.median(v[0] for v in validations)
    validate_rss = max(v[1] for v in validations)
    report("duckdb_csv_to_parquet_s", copy_s, "s")
    report("ingest_s", ingest_s, "s")
    report("ingest_peak_rss_mib", ingest_rss / 2**20, "MiB")
    report("validate_s", validate_s, "s")
    report("validate_peak_rss_mib", validate_rss / 2**20, "MiB")
    report("validate_rows_per_s", rows / validate_s, "rows/s")
    report("validate_vs_duckdb_copy", validate_s / copy_s, "x")
    ratios = sorted(v[0] / c[0] for v, c in zip(validations, copies, strict=True))
    report("validate_vs_duckdb_copy_min", ratios[0], "x")
    report("validate_vs_duckdb_copy_max", ratios[-1], "x")
    report("ingest_plus_validate_vs_duckdb_copy", (ingest_s + validate_s) / copy_s, "x")
    docs_s, _ = measure(_data_docs, lake, lg_code)
    report("data_docs_s", docs_s, "s")  # GX import (~4 s) and rendering, off the receipt path
    snap_s, snap_rss = measure(_snapshot, lake, lg_code)
    report("snapshot_s", snap_s, "s")
    report("snapshot_peak_rss_mib", snap_rss / 2**20, "MiB")
    bench_snapshot(work, lake, lg_code)


def bench_snapshot(work: Path, lake: Path, lg_code: str, rows: int = HISTORY_ROWS) -> None:
    """Issue 5's figure: a snapshot from ``rows`` history rows against DuckDB scanning the same
    rows and writing them as Parquet, interleaved in this one run."""
    history = work / "history"
    accepted = Lake(lake).accepted_files("atena", lg_code)[0]
    report("history_rows", build_history(accepted, history, lg_code, rows), "rows")
    glob = str(Lake(history).accepted_folder("atena", lg_code) / "*.parquet")
    rewrites, snapshots = [], []
    for _ in range(RUNS):
        rewrites.append(measure(_duckdb_rewrite, glob, work / "rewrite.parquet"))
        snapshots.append(measure(_snapshot_history, history, lg_code))
    rewrite_s = statistics.median(r[0] for r in rewrites)
    snapshot_s = statistics.median(s[0] for s in snapshots)
    report("history_duckdb_scan_write_s", rewrite_s, "s")
    report("history_duckdb_scan_write_peak_rss_mib", max(r[1] for r in rewrites) / 2**20, "MiB")
    report("history_snapshot_s", snapshot_s, "s")
    report("history_snapshot_peak_rss_mib", max(s[1] for s in snapshots) / 2**20, "MiB")
    report("history_snapshot_vs_duckdb_scan_write", snapshot_s / rewrite_s, "x")
    ratios = sorted(s[0] / r[0] for s, r in zip(snapshots, rewrites, strict=True))
    report("history_snapshot_vs_duckdb_scan_write_min", ratios[0], "x")
    report("history_snapshot_vs_duckdb_scan_write_max", ratios[-1], "x")
    shutil.rmtree(history, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print BENCH lines."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--residents", type=int, default=1_000_000, help="persons generated across three municipalities")
    ap.add_argument(
        "--reconcile-residents",
        type=int,
        default=1_000_000,
        help="persons generated across three municipalities whose 宛名 are reconciled with their 住基",
    )
    ap.add_argument(
        "--only",
        choices=["generate", "validation", "reconcile", "ledger", "deliver", "national", "s3"],
        help="run one benchmark",
    )
    ap.add_argument(
        "--kpi-residents",
        type=int,
        default=1_000_000,
        help="persons generated across the KPI's municipalities, staged, reconciled and delivered",
    )
    ap.add_argument("--kpi-municipalities", type=int, default=50, help="municipalities of the KPI's lake")
    ap.add_argument(
        "--validate-residents",
        type=int,
        default=650_000,
        help="persons of the one municipality whose atena file (~1M rows) is validated",
    )
    ap.add_argument(
        "--national-sizes",
        type=int,
        nargs=3,
        default=list(SIZES),
        help="residents of the three municipalities whose stages the national plan is fitted on",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="jumin-bench-"))
    from jumin.apps.bench_deliver import bench_deliver
    from jumin.apps.bench_ledger import bench_ledger
    from jumin.apps.bench_national import bench_national
    from jumin.apps.bench_reconcile import bench_reconcile
    from jumin.apps.bench_s3 import bench_s3

    try:
        if args.only in (None, "generate"):
            bench_generate(work, args.residents)
        if args.only in (None, "validation"):
            bench_validation(work, args.validate_residents)
        if args.only in (None, "reconcile"):
            bench_reconcile(work, args.reconcile_residents)
        if args.only in (None, "ledger"):
            bench_ledger(work)
        if args.only in (None, "deliver"):
            bench_deliver(work, args.kpi_residents, args.kpi_municipalities)
        if args.only in (None, "national"):
            bench_national(work, args.national_sizes)
        if args.only in (None, "s3"):
            bench_s3(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
