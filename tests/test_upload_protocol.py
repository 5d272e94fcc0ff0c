"""The upload protocol on a local inbox: complete sets only, timeouts, re-uploads, receipts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from expectations.data_docs import build_data_docs
from expectations.main import validate_municipality
from extract.main import ingest_municipality, return_municipality_receipts
from tests.conftest import REPO

pytestmark = [pytest.mark.unit]

SET = REPO / "sample_data" / "landing" / "131016"
CODE = "131016"
MANIFEST = "shien_20261101.manifest.json"
DATA = "shien_20261101.csv"
T0 = 2_000_000_000.0


def inbox(landing: Path) -> Path:
    folder = landing / CODE / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def put(landing: Path, name: str, data: bytes | None = None) -> None:
    (inbox(landing) / name).write_bytes((SET / name).read_bytes() if data is None else data)


def statuses(landing: Path, lake: Path, now: float) -> list[str]:
    return [r.status for r in ingest_municipality(landing, lake, CODE, now=now)]


def test_set_waits_for_missing_file_then_reports_then_completes(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    put(landing, MANIFEST)
    mtime = (inbox(landing) / MANIFEST).stat().st_mtime
    assert statuses(landing, lake, now=mtime + 10) == ["waiting"]
    assert not (lake / "receipts").exists()
    assert statuses(landing, lake, now=mtime + 7200) == ["incomplete"]
    return_municipality_receipts(landing, lake, CODE)
    outbox = landing / CODE / "outbox"
    [receipt] = [json.loads(p.read_text()) for p in outbox.glob("*.json")]
    assert receipt["status"] == "incomplete" and receipt["findings"][0]["code"] == "F0004"
    assert (inbox(landing) / MANIFEST).exists(), "an incomplete set is left alone"

    put(landing, DATA)  # the missing file arrives
    assert statuses(landing, lake, now=mtime + 7300) == ["parsed"]
    assert list(inbox(landing).iterdir()) == []
    assert [r.status for r in validate_municipality(lake, CODE)] == ["accepted"]
    return_municipality_receipts(landing, lake, CODE)
    [final] = [json.loads(p.read_text()) for p in outbox.glob("*.json")]
    assert final["status"] == "accepted", "the final receipt replaces the incomplete one"


def test_partial_and_short_uploads_are_not_picked_up(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    data = (SET / DATA).read_bytes()
    put(landing, DATA + ".part", data)
    put(landing, MANIFEST)
    assert statuses(landing, lake, now=T0 - 10**9) == ["waiting"]
    put(landing, DATA, data[: len(data) // 2])  # renamed too early: shorter than declared
    assert statuses(landing, lake, now=T0 - 10**9) == ["waiting"]
    put(landing, DATA, data)
    (inbox(landing) / (DATA + ".part")).unlink()
    assert statuses(landing, lake, now=T0 - 10**9) == ["parsed"]


def test_identical_reupload_is_not_processed_twice(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    for _ in range(2):
        put(landing, DATA)
        put(landing, MANIFEST)
        ingest_municipality(landing, lake, CODE)
    archive = landing / "archive" / CODE
    names = sorted(p.name for p in archive.iterdir())
    assert len(names) == 2 and names[1] == names[0] + ".2"
    assert len(list((lake / "parsed" / "shien" / f"lg_code={CODE}").glob("*.parquet"))) == 1


def test_rejected_set_is_archived_and_receipt_returned_once(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    data = bytearray((SET / DATA).read_bytes())
    data[-2] ^= 1
    put(landing, DATA, bytes(data))
    put(landing, MANIFEST)
    assert statuses(landing, lake, now=T0) == ["rejected"]
    assert list(inbox(landing).iterdir()) == []
    first = return_municipality_receipts(landing, lake, CODE)
    assert len(first) == 2 and {Path(n).suffix for n in first} == {".json", ".txt"}
    assert return_municipality_receipts(landing, lake, CODE) == []
    txt = next((landing / CODE / "outbox").glob("*.txt")).read_text()
    assert "F0005" in txt and "受付不可" in txt
    assert "→ マニフェスト作成後にファイルが変わっています" in txt, "the clerk is told what to do"


def test_unrelated_files_are_left_alone(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    put(landing, "memo.txt", b"hello")
    shutil.copyfile(SET / DATA, inbox(landing) / DATA)
    assert statuses(landing, lake, now=T0) == []
    assert sorted(p.name for p in inbox(landing).iterdir()) == ["memo.txt", DATA]


def test_validation_writes_gx_data_docs_linked_from_the_receipt(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    bad = REPO / "sample_data" / "bad" / "duplicate_key" / "landing" / "131016"
    for p in bad.iterdir():
        put(landing, p.name, p.read_bytes())
    ingest_municipality(landing, lake, CODE)
    [summary] = validate_municipality(lake, CODE)
    assert build_data_docs(lake, CODE) == [summary.data_docs]
    assert build_data_docs(lake, CODE) == [], "already built"
    receipt = json.loads(Path(summary.receipt).read_text())
    html = (lake / receipt["data_docs"]).read_text()
    assert Path(summary.data_docs) == lake / receipt["data_docs"]
    assert "Great Expectations" in html and receipt["set_id"] in html
    assert "2 unexpected values found" in html  # the duplicated key, on both rows
