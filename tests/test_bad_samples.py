"""The catalogue of malformed upload sets (``sample_data/bad/``) through ingest and validation.

Every case folder holds a landing and ``expected.json`` (see :mod:`jumin.dev.badcases`). The
receipt must have the expected status and counts, and exactly the expected findings as
(code, file, line, item): nothing missing, nothing else. Because every case changes one thing
in the same valid base, this also proves the untouched rows of the base raise nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from expectations.main import validate_municipality
from extract.main import ingest_municipality
from jumin.core.errors import CODES

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "sample_data" / "bad"
LG_CODE = "131016"
CASE_DIRS = sorted(p for p in BAD.iterdir() if p.is_dir()) if BAD.is_dir() else []

Located = tuple[str, str | None, int | None, str | None]


def located(finding: dict[str, Any]) -> Located:
    """(code, file, line, item) of a finding; an absent or empty file/item is ``None``."""
    return (finding["code"], finding.get("file") or None, finding.get("line"), finding.get("item") or None)


def _order(f: Located) -> tuple[str, str, int, str]:
    return (f[0], f[1] or "", f[2] or 0, f[3] or "")


def outcome(status: str, counts: dict[str, int], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """What is compared: status, the three counts and the set of located findings."""
    return {
        "status": status,
        "counts": {k: counts[k] for k in ("input", "accepted", "rejected")},
        "findings": sorted({located(f) for f in findings}, key=_order),
    }


def run_case(case_dir: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """Ingest and validate a copy of the case's landing; the receipts written, by name."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    shutil.copytree(case_dir / "landing" / LG_CODE, landing / LG_CODE / "inbox")
    # far in the future: an incomplete set is reported at once instead of waited for
    ingest_municipality(landing, lake, LG_CODE, now=4_000_000_000.0)
    validate_municipality(lake, LG_CODE)
    receipts = sorted((lake / "receipts" / f"lg_code={LG_CODE}").glob("*.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in receipts]


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_bad_sample(case_dir: Path, tmp_path: Path) -> None:
    expected_path = case_dir / "expected.json"
    assert expected_path.is_file(), f"{case_dir.name} has no expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))

    receipts = run_case(case_dir, tmp_path)

    assert len(receipts) == 1, f"expected one receipt, got {len(receipts)}"
    receipt = receipts[0]
    counts = receipt["counts"]
    assert counts["input"] == counts["accepted"] + counts["rejected"]
    assert receipt["findings_total"] == len(receipt["findings"]), "receipt truncated its findings"
    assert outcome(receipt["status"], counts, receipt["findings"]) == outcome(
        expected["status"], expected["counts"], expected["findings"]
    )


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (``None``) under ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def test_catalogue_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    subprocess.run([sys.executable, "-m", "jumin.dev.badcases", str(out)], cwd=ROOT, check=True, capture_output=True)
    fresh, committed = tree(out), tree(BAD)
    assert sorted(fresh) == sorted(committed), "run `python -m jumin.dev.badcases sample_data/bad`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date (run `python -m jumin.dev.badcases sample_data/bad`): {stale}"


def test_catalogue_covers_every_code() -> None:
    seen = {
        f["code"]
        for d in CASE_DIRS
        if (d / "expected.json").is_file()
        for f in json.loads((d / "expected.json").read_text(encoding="utf-8"))["findings"]
    }
    assert sorted(set(CODES) - seen) == []
