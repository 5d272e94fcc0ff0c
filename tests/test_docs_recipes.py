"""The SQL recipes of docs/saas.md, run as written against a staged month: a SaaS team that
loads the first day and applies the daily deltas ends with the last day's snapshot."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import duckdb
import pytest

from expectations.main import validate_municipality
from extract.main import ingest_municipality
from load.main import delta_municipality, snapshot_municipality
from tests.conftest import REPO
from tests.test_pipeline import LG_CODES, deliver
from transform.main import day_range

pytestmark = [pytest.mark.integration]

FIRST, LAST = "2026-10-01", "2026-10-31"


def recipes() -> list[str]:
    text = (REPO / "docs" / "saas.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def test_first_load_then_daily_deltas_give_the_last_snapshot(tmp_path: Path) -> None:
    landing, lake = deliver(tmp_path / "landing"), tmp_path / "lake"
    for code in LG_CODES:
        ingest_municipality(landing, lake, code)
        validate_municipality(lake, code)
        snapshot_municipality(lake, code, FIRST, until=LAST)
        delta_municipality(lake, code, FIRST, until=LAST)
    first_load, apply_delta = recipes()
    assert "2026-10-01" in first_load and "from=2026-10-01/to=2026-10-02" in apply_delta
    con = duckdb.connect()
    con.execute(first_load.replace("<lake>", str(lake)))
    days = day_range(FIRST, LAST)
    changes = 0
    for old, new in itertools.pairwise(days):
        sql = apply_delta.replace("<lake>", str(lake)).replace("from=2026-10-01/to=2026-10-02", f"from={old}/to={new}")
        changes += con.execute(
            f"SELECT count(*) FROM read_parquet('{lake}/delta/atena/from={old}/to={new}/*/*.parquet')"
        ).fetchall()[0][0]
        con.execute(sql)
        con.execute("DROP TABLE d")
    assert changes > 0  # the sample month has changes, so the recipe did real work
    got = con.execute("SELECT * EXCLUDE (set_id, _file, _line) FROM atena ORDER BY lg_code, atenabango").fetchall()
    want = con.execute(
        f"SELECT * EXCLUDE (set_id, _file, _line, kijunbi, known_at) FROM read_parquet("
        f"'{lake}/snapshot/atena/kijunbi={LAST}/known_at={LAST}/*/*.parquet', "
        f"hive_partitioning = true, hive_types = {{'lg_code': VARCHAR}}) "
        f"ORDER BY lg_code, atenabango"
    ).fetchall()
    assert got == want and len(got) > 100
