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
from jumin.core.lake import Lake
from tests.accounting import assert_every_row_accounted_for, source_lines

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


def run_case(case_dir: Path, lake: Lake, tmp_path: Path) -> list[dict[str, Any]]:
    """Ingest and validate a copy of the case's landing; the receipts written, by name."""
    landing = tmp_path / "landing"
    shutil.copytree(case_dir / "landing" / LG_CODE, landing / LG_CODE / "inbox")
    # far in the future: an incomplete set is reported at once instead of waited for
    ingest_municipality(landing, lake.root, LG_CODE, now=4_000_000_000.0)
    validate_municipality(lake.root, LG_CODE)
    return [json.loads(p.read_text(encoding="utf-8")) for p in lake.receipts(LG_CODE)]


@pytest.mark.unit
@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_bad_sample(case_dir: Path, tmp_path: Path) -> None:
    expected_path = case_dir / "expected.json"
    assert expected_path.is_file(), f"{case_dir.name} has no expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))

    lake = Lake(tmp_path / "lake")
    receipts = run_case(case_dir, lake, tmp_path)

    assert len(receipts) == 1, f"expected one receipt, got {len(receipts)}"
    receipt = receipts[0]
    counts = receipt["counts"]
    assert receipt["findings_total"] == len(receipt["findings"]), "receipt truncated its findings"
    assert outcome(receipt["status"], counts, receipt["findings"]) == outcome(
        expected["status"], expected["counts"], expected["findings"]
    )
    if any(f["code"].startswith("F") for f in expected["findings"]):
        # rejected (or held back) as a whole: nothing of the set reaches accepted or quarantine
        assert not lake.accepted(receipt["layout"], LG_CODE, receipt["set_id"]).exists()
        assert not lake.rejected(receipt["layout"], LG_CODE, receipt["set_id"]).exists()
    else:
        # the case's records, counted here from its CSV file, each accepted or rejected once
        source = source_lines(case_dir / "landing" / LG_CODE, receipt["manifest"])
        assert_every_row_accounted_for(lake, receipt, source)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (``None``) under ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


@pytest.mark.integration
def test_catalogue_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    subprocess.run([sys.executable, "-m", "jumin.dev.badcases", str(out)], cwd=ROOT, check=True, capture_output=True)
    fresh, committed = tree(out), tree(BAD)
    assert sorted(fresh) == sorted(committed), "run `python -m jumin.dev.badcases sample_data/bad`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date (run `python -m jumin.dev.badcases sample_data/bad`): {stale}"


@pytest.mark.unit
def test_catalogue_covers_every_code() -> None:
    """Every error code appears in the expected findings of at least one committed case (each
    code can be produced by a file: none is exempt)."""
    assert CASE_DIRS, f"no cases under {BAD}"
    seen: set[str] = set()
    for d in CASE_DIRS:
        expected = json.loads((d / "expected.json").read_text(encoding="utf-8"))
        codes = {f["code"] for f in expected["findings"]}
        assert codes, f"{d.name}: a case without an expected finding tests nothing"
        seen |= codes
    assert sorted(seen - set(CODES)) == [], "cases expect codes that do not exist"
    assert sorted(set(CODES) - seen) == [], "codes without a case"
