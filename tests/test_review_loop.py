"""The clerk's review loop end to end: review files returned to the outbox over SFTP, decided in
the workbook, uploaded back as a nayose set over SFTP, validated with a receipt, and applied by
the next reconciliation; then undone (名寄せ解除)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from expectations.main import validate_municipality
from extract.main import ingest_municipality, return_municipality_review_files
from jumin.apps.demo import start_zone
from jumin.apps.upload import prepare, upload
from jumin.core.lake import PART_FILE, Lake
from jumin.core.landing import LandingTree
from load.main import snapshot_municipality
from load.reconcile import reconcile_day
from tests.test_pipeline import KIJUNBI, LG_CODES, deliver, run_library
from transform.config import LinkConfig

pytestmark = [pytest.mark.integration]

M = "131016"
NEXT = "2026-11-02"
#: every candidate goes to review: the loop needs candidates, whatever the scores
REVIEW_ALL = LinkConfig(auto_weight=1e9)


def review_rows(xlsx: Path) -> tuple[list[str], list[list[Any]]]:
    ws = load_workbook(xlsx).worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    return [str(h) for h in rows[0]], rows[1:]


def decide(xlsx: Path, out: Path, decisions: dict[tuple[str, str], str]) -> Path:
    """The clerk's work: 判定 chosen, 判定者 and 判定日 filled, for the (宛名番号, 候補番号) given."""
    wb = load_workbook(xlsx)
    ws = wb.worksheets[0]
    head = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    for r in range(2, ws.max_row + 1):
        key = (ws.cell(r, col["宛名番号"]).value, ws.cell(r, col["候補番号"]).value)
        if key in decisions:
            ws.cell(r, col["判定"]).value = decisions[key]
            ws.cell(r, col["判定者"]).value = "住民課　山田"
            ws.cell(r, col["判定日"]).value = KIJUNBI
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def links(lake: Path, kijunbi: str = KIJUNBI) -> list[dict[str, Any]]:
    return list(pq.read_table(Lake(lake).reconcile("links", kijunbi, M) / PART_FILE).to_pylist())


@pytest.mark.timeout(300)
def test_decisions_come_back_over_sftp_and_win_over_scores(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run_library(deliver(tmp_path / "staged"), lake)
    reconcile_day(lake, KIJUNBI, config=REVIEW_ALL)
    server, zone = start_zone(tmp_path / "zone")
    try:
        service = zone["service"].to_uri()
        returned = return_municipality_review_files(service, lake, M)
        assert sorted(returned) == ["nayose_koho_20261101.csv", "nayose_koho_20261101.xlsx"]
        outbox = LandingTree(tmp_path / "zone" / "landing").outbox(M)
        head, rows = review_rows(outbox / "nayose_koho_20261101.xlsx")
        atena, koho = head.index("宛名番号"), head.index("候補番号")
        firsts: dict[str, str] = {}
        for row in rows:
            firsts.setdefault(row[atena], row[koho])
        assert len(firsts) >= 2, "the sample gives at least two 住登外者 with candidates"
        (a1, k1), (a2, k2) = sorted(firsts.items())[:2]
        # 一致 on one pair, 不一致 on another: uploaded as a nayose set, the workbook as it is
        filled = decide(
            outbox / "nayose_koho_20261101.xlsx", tmp_path / "clerk" / "nayose_20261101.xlsx",
            {(a1, k1): "一致", (a2, k2): "不一致"},
        )  # fmt: skip
        up = prepare([filled], M, "nayose", KIJUNBI)
        upload(up, zone[M])
        ingest_municipality(service, lake, M)
        (result,) = [r for r in validate_municipality(lake, M) if r.layout == "nayose"]
        # the rows left undecided are not lost: the receipt lists each as 未判定
        assert (result.accepted, result.rejected) == (2, len(rows) - 2), result
        receipt = Lake.receipt_text(Lake(lake).receipt(M, result.set_id)).read_text(encoding="utf-8")
        assert receipt.count("判定") >= len(rows) - 2
        # the next run applies them: the 一致 pair is linked by decision, the 不一致 pair is gone
        reconcile_day(lake, KIJUNBI, config=REVIEW_ALL)
        by_pair = {(r["atenabango"], r["juminhyokodo"]): r for r in links(lake)}
        assert by_pair[(a1, k1)]["band"] == "auto" and by_pair[(a1, k1)]["method"] == "decision"
        assert by_pair[(a1, k1)]["decision"] == "一致"
        assert (a2, k2) not in by_pair
        head, rows = review_rows(Lake(lake).review_file(KIJUNBI, M, ".xlsx"))
        pairs = {(r[head.index("宛名番号")], r[head.index("候補番号")]) for r in rows}
        assert (a1, k1) not in pairs and (a2, k2) not in pairs  # decided: not proposed again
        # 名寄せ解除 the next day: the link is undone from that 基準日 on, and the 基準日 before
        # reruns as it was (decisions count from their 判定日)
        shutil.rmtree(tmp_path / "clerk")
        undo = tmp_path / "clerk" / f"nayose_{NEXT.replace('-', '')}.csv"
        undo.parent.mkdir()
        undo.write_text(
            f"宛名番号,候補番号,判定,判定者,判定日,理由\r\n{a1},{k1},解除,住民課　山田,{NEXT},別人と判明\r\n",
            encoding="utf-8",
        )
        upload(prepare([undo], M, "nayose", NEXT), zone[M])
        ingest_municipality(service, lake, M)
        validate_municipality(lake, M)
        for code in LG_CODES:
            snapshot_municipality(lake, code, NEXT)
        reconcile_day(lake, NEXT, config=REVIEW_ALL)
        assert (a1, k1) not in {(r["atenabango"], r["juminhyokodo"]) for r in links(lake, NEXT)}
        before = {(r["atenabango"], r["juminhyokodo"]): r["method"] for r in links(lake)}
        reconcile_day(lake, KIJUNBI, config=REVIEW_ALL)
        assert {(r["atenabango"], r["juminhyokodo"]): r["method"] for r in links(lake)} == before
    finally:
        server.stop()
