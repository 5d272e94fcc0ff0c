"""The delivery ledger in ``make bench``: appending one delivery of a million persons, and a
resident's query (``jumin ledger show``) over ten million entries (target ≤ 100 ms)."""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from jumin.apps.bench_common import report

ITEMS = (("shimei", "氏名"), ("shimei_furigana", "氏名_フリガナ"), ("seinengappi", "生年月日"), ("seibetsu", "性別"))
#: a resident's query is timed this many times (median, max reported)
QUERIES = 30


def bench_ledger(work: Path, persons: int = 1_000_000, deliveries: int = 10) -> None:
    """``deliveries`` deliveries of the same ``persons`` into a fresh ledger: append time of each
    (median, first), then the query of residents spread over the codes, then a verify."""
    from load.deliver import ledger

    root = work / "ledger-lake"
    codes = pa.array([f"{i:011d}" for i in range(10_000_000_000, 10_000_000_000 + persons)])
    table = pa.table(
        {"juminhyokodo": codes, "lg_code": pa.array(["131016", "141038"] * (persons // 2) + ["131016"] * (persons % 2))}
    )
    items = tuple(ledger.Item(r, j) for r, j in ITEMS)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    appends = []
    for d in range(deliveries):
        record = ledger.DeliveryRecord(
            f"bench-{d:03d}", "bench", "1.0.0", "bench-saas", "予防接種の勧奨", items, "2026-11-01"
        )
        start = time.perf_counter()
        ledger.append(root, record, table, at + timedelta(days=d))
        appends.append(time.perf_counter() - start)
    report("ledger_append_1m_entries_s", statistics.median(appends), "s")
    ledger.show(root, "10000000000")  # imports and the municipality table, once
    queries = []
    for i in range(QUERIES):
        code = f"{10_000_000_000 + (i * 7919) % persons:011d}"
        start = time.perf_counter()
        found = ledger.show(root, code)
        queries.append(time.perf_counter() - start)
        if len(found) != deliveries:
            raise RuntimeError(f"ledger show {code}: {len(found)} deliveries, expected {deliveries}")
    report("ledger_entries", persons * deliveries, "rows")
    report("ledger_resident_query_ms", statistics.median(queries) * 1000, "ms")
    report("ledger_resident_query_max_ms", max(queries) * 1000, "ms")
    start = time.perf_counter()
    if not ledger.verify(root).ok:
        raise RuntimeError("the bench's own ledger does not verify")
    report("ledger_verify_s", time.perf_counter() - start, "s")
