"""Reconciliation over a real lake: the committed sample ingested, validated and snapshotted, then
reconciled by the library, the CLI and both rule engines."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jumin.apps.cli import main as cli
from jumin.core.lake import PART_FILE, Lake
from jumin.core.layouts import ATENA, JUKI
from load.reconcile import reconcile_day
from tests.test_pipeline import KIJUNBI, LG_CODES, SAMPLE, deliver, run_library
from transform.errors import NothingToReconcile
from transform.reconcile import keyed as keyed_mod
from transform.reconcile.frames import load_atena, load_juki, snapshot_files
from transform.reconcile.schema import DISCREPANCIES, LINKS

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample, staged up to its snapshots of the 基準日 (built once for the module)."""
    root = tmp_path_factory.mktemp("reconcile")
    run_library(deliver(root / "landing"), root / "lake")
    return root / "lake"


def outputs(lake: Path) -> dict[str, str]:
    """SHA-256 of every file under reconcile/ except the work folder (rebuilt by each run)."""
    root = lake / "reconcile"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).parts[0] == "work"
    }


@pytest.mark.timeout(180)
def test_every_municipality_gets_its_outputs_and_a_rerun_the_same_bytes(lake: Path) -> None:
    results = reconcile_day(lake, KIJUNBI)
    assert [r.lg_code for r in results] == LG_CODES
    for code in LG_CODES:
        links = pq.read_table(Lake(lake).reconcile("links", KIJUNBI, code) / PART_FILE)
        found = pq.read_table(Lake(lake).reconcile("discrepancies", KIJUNBI, code) / PART_FILE)
        assert links.schema.equals(LINKS) and found.schema.equals(DISCREPANCIES)
        assert links.num_rows > 0
        page = Lake(lake).reconcile_docs(KIJUNBI, code).read_text(encoding="utf-8")
        assert "reconcile_v1" in page and "https://" not in page and "http://" not in page
    first = outputs(lake)
    reconcile_day(lake, KIJUNBI)
    assert outputs(lake) == first
    # the reference engine finds the same, so the staged files are the same bytes
    reconcile_day(lake, KIJUNBI, engine="gx")
    assert outputs(lake) == first


@pytest.mark.timeout(120)
def test_one_municipality_alone_is_reconciled_as_in_the_full_run(lake: Path) -> None:
    reconcile_day(lake, KIJUNBI)
    before = outputs(lake)
    assert [r.lg_code for r in reconcile_day(lake, KIJUNBI, [LG_CODES[1]])] == [LG_CODES[1]]
    assert outputs(lake) == before


@pytest.mark.unit
def test_a_day_without_snapshots_is_an_error_naming_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(NothingToReconcile, match=r"no staged 宛名 snapshot of 2026-11-01 for any municipality"):
        reconcile_day(tmp_path, KIJUNBI)


def test_the_cli_reports_a_missing_snapshot_in_one_line(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["reconcile", "--lake", str(lake), "--as-of", "2026-10-01"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no staged 宛名 snapshot of 2026-10-01" in err[0]
    assert cli(["reconcile", "--lake", str(lake), "--as-of", KIJUNBI, "--lg-code", "011002"]) == 1
    assert "011002" in capsys.readouterr().err
    assert cli(["reconcile", "--lake", str(lake), "--as-of", KIJUNBI]) == 0
    assert "reconcile" in capsys.readouterr().out


@pytest.mark.timeout(180)
def test_keys_spread_over_processes_are_the_keys_computed_in_one(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transform.reconcile.frames as frames

    reconcile_day(lake, KIJUNBI)
    alone = outputs(lake)
    keyed = pq.read_table(Lake(lake).reconcile_work(KIJUNBI) / "juki_keyed.parquet")
    monkeypatch.setattr(frames, "PARALLEL_MIN", 1)
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 2)
    shutil.rmtree(Lake(lake).reconcile_keyed(KIJUNBI, LG_CODES[0]).parent)  # keyed again, in processes
    reconcile_day(lake, KIJUNBI)
    assert pq.read_table(Lake(lake).reconcile_work(KIJUNBI) / "juki_keyed.parquet").equals(keyed)
    assert outputs(lake) == alone


@pytest.mark.timeout(120)
def test_the_report_names_every_injected_discrepancy_and_no_spelling_variant_as_d003(lake: Path) -> None:
    """Against the generator's truth (``sample_data/discrepancies.csv``, computed from what the
    files say): every injected kind found where it is, nothing else found, and every 表記ゆれ
    (異体字/IVS only) reported as H001, never as 氏名不一致."""
    import csv

    def who(row: dict[str, str | None]) -> tuple[str, str, str]:
        kind = "H001" if row["kind"] == "hyoki" else str(row["kind"])
        # D007 has no 宛名; D002's 宛名 carries a mistyped code, so the 宛名 names the finding
        return str(row["lg_code"]), str(row["juminhyokodo"] if kind == "D007" else row["atenabango"]), kind

    reconcile_day(lake, KIJUNBI)
    with (SAMPLE / "discrepancies.csv").open(encoding="utf-8") as f:
        expected = sorted(who(r) for r in csv.DictReader(f))
    found = sorted(
        who({**r, "lg_code": code})
        for code in LG_CODES
        for r in pq.read_table(Lake(lake).reconcile("discrepancies", KIJUNBI, code) / PART_FILE).to_pylist()
    )
    assert {k for _, _, k in expected} == {"D001", "D002", "D003", "D004", "D005", "D006", "D007", "H001"}
    assert found == expected


def test_return_receipts_also_returns_the_review_files(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jumin.core.landing import LandingTree

    reconcile_day(lake, KIJUNBI)
    landing = lake.parent / "landing"
    assert cli(["return-receipts", "--landing", str(landing), "--lake", str(lake)]) == 0
    for code in LG_CODES:
        outbox = LandingTree(landing).outbox(code)
        names = {p.name for p in outbox.glob("nayose_koho_*")}
        assert names == {"nayose_koho_20261101.xlsx", "nayose_koho_20261101.csv"}
    capsys.readouterr()
    # unchanged files are not returned again
    assert cli(["return-receipts", "--landing", str(landing), "--lake", str(lake)]) == 0
    assert "nayose_koho" not in capsys.readouterr().out


def test_a_municipality_without_its_juki_snapshot_is_an_error_not_a_page_of_d002(lake: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "lake"
    shutil.copytree(lake, other, ignore=shutil.ignore_patterns("reconcile"))
    shutil.rmtree(Lake(other).snapshot("juki", KIJUNBI, KIJUNBI, LG_CODES[0]))
    with pytest.raises(NothingToReconcile, match=rf"no staged 住基 snapshot of {KIJUNBI} for {LG_CODES[0]}"):
        reconcile_day(other, KIJUNBI, [LG_CODES[0]])
    # the others are reconciled as before
    assert [r.lg_code for r in reconcile_day(other, KIJUNBI, LG_CODES[1:])] == LG_CODES[1:]


@pytest.mark.timeout(120)
def test_keying_municipalities_apart_gives_the_tables_of_keying_them_together(lake: Path) -> None:
    """The national step's premise: a municipality's keyed records depend on its own snapshots
    and history only, so the key tasks' tables, concatenated in code order, are the nation's."""
    from jumin.core import duck

    the_lake = Lake(lake)
    parts = [keyed_mod.key_municipality(lake, KIJUNBI, code) for code in LG_CODES]
    con = duck.connect()
    load_juki(con, the_lake, KIJUNBI, snapshot_files(the_lake, JUKI.name, KIJUNBI))
    load_atena(con, snapshot_files(the_lake, ATENA.name, KIJUNBI))
    for table in ("juki_keyed", "juki_last", "atena_keyed"):
        together = duck.arrow(con, table, f"SELECT * FROM {table}")
        files = [f for k in parts for f in k.files(the_lake, table)]
        apart = pa.concat_tables([pq.read_table(f).cast(together.schema) for f in files])
        assert together.num_rows > 0 and apart.equals(together), table
    # the sample has 住基 history (older versions) and persons in more than one municipality
    versions = duck.scalar(con, "versions", "SELECT max(version) FROM juki_keyed")
    assert versions is not None and int(versions) >= 1


@pytest.mark.timeout(180)
def test_the_national_step_keys_again_what_is_missing_or_stale(lake: Path, caplog: pytest.LogCaptureFixture) -> None:
    reconcile_day(lake, KIJUNBI)
    before = outputs(lake)
    the_lake = Lake(lake)
    gone, stale, kept = LG_CODES
    folder = {c: the_lake.reconcile_keyed(KIJUNBI, c) for c in LG_CODES}
    kept_bytes = (folder[kept] / "atena_keyed.parquet").read_bytes()
    # a key task killed before its marker, and tables made from other inputs: neither is trusted
    (folder[gone] / keyed_mod.MARKER).unlink()
    (folder[gone] / "atena_keyed.parquet").write_bytes(b"half a file")
    marker = json.loads((folder[stale] / keyed_mod.MARKER).read_text(encoding="utf-8"))
    (folder[stale] / keyed_mod.MARKER).write_text(json.dumps({**marker, "inputs": "0" * 64}), encoding="utf-8")
    (folder[stale] / "juki_keyed.parquet").write_bytes(b"not these")
    with caplog.at_level("INFO", logger="transform.reconcile.keyed"):
        reconcile_day(lake, KIJUNBI)
    assert f"keying 2 municipalities now (no current keyed tables): {gone}, {stale}" in caplog.text
    assert outputs(lake) == before
    assert (folder[kept] / "atena_keyed.parquet").read_bytes() == kept_bytes


def test_a_key_input_changing_changes_the_fingerprint(lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(lake / "snapshot", copy / "snapshot")
    shutil.copytree(lake / "accepted", copy / "accepted")
    code = LG_CODES[0]
    first = keyed_mod.key_inputs(Lake(copy), KIJUNBI, code)
    assert first.layouts == (JUKI.name, ATENA.name)
    assert keyed_mod.key_inputs(Lake(copy), KIJUNBI, code) == first
    history = Lake(copy).accepted_files(JUKI.name, code)
    shutil.copy(history[0], history[0].with_name("set=later.parquet"))  # a new 住基 upload accepted
    second = keyed_mod.key_inputs(Lake(copy), KIJUNBI, code)
    assert second.inputs != first.inputs
    manifest = Lake(copy).snapshot(ATENA.name, KIJUNBI, KIJUNBI, code) / "_manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"rows"', '"rows" ', 1), encoding="utf-8")
    assert keyed_mod.key_inputs(Lake(copy), KIJUNBI, code).inputs not in (first.inputs, second.inputs)
    shutil.rmtree(manifest.parent)
    assert keyed_mod.key_inputs(Lake(copy), KIJUNBI, code).layouts == (JUKI.name,)
    assert keyed_mod.staged_municipalities(Lake(copy), KIJUNBI) == LG_CODES
