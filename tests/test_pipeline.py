"""The whole pipeline on the committed sample: library calls, CLI and real Airflow runs."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from expectations.main import validate_municipality
from extract.inbox import deliver_local
from extract.main import ingest_municipality, return_municipality_receipts
from jumin.apps.cli import main as cli
from jumin.core.lake import PART_FILE, PARTITION_MANIFEST, Lake
from jumin.core.landing import LandingTree
from jumin.core.layouts import idojiyu_group
from load.main import snapshot_municipality
from tests.accounting import CODECS, assert_every_row_accounted_for, source_lines
from tests.conftest import REPO

pytestmark = [pytest.mark.integration]

SAMPLE = REPO / "sample_data"
LG_CODES = sorted(p.name for p in (SAMPLE / "landing").iterdir())
KIJUNBI = "2026-11-01"


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every data file and partition manifest under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.suffix == ".parquet" or p.name == PARTITION_MANIFEST
    }


def deliver(landing: Path) -> Path:
    for code in LG_CODES:
        deliver_local(SAMPLE / "landing" / code, landing, code)
    return landing


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return deliver(tmp_path / "landing")


def run_library(landing: Path, lake: Path) -> None:
    for code in LG_CODES:
        ingest_municipality(landing, lake, code)
        validate_municipality(lake, code)
        return_municipality_receipts(landing, lake, code)
        snapshot_municipality(lake, code, KIJUNBI)


def reconciled_sample(root: Path) -> Path:
    """The committed sample ingested, validated, snapshotted and reconciled for KIJUNBI into
    ``<root>/lake`` (the landing at ``<root>/landing``); the lake."""
    from load.reconcile import reconcile_day

    run_library(deliver(root / "landing"), root / "lake")
    reconcile_day(root / "lake", KIJUNBI)
    return root / "lake"


def test_every_sample_row_is_accounted_for(landing: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    run_library(landing, lake.root)
    receipts = [json.loads(p.read_text()) for p in lake.receipts()]
    # every upload set of the sample (atena, juki, shien, teikyoteishi per municipality) got a receipt
    assert len(receipts) == len(list((SAMPLE / "landing").glob("*/*.manifest.json"))) == 4 * len(LG_CODES)
    for r in receipts:
        folder = SAMPLE / "landing" / r["lg_code"]
        # the sample's rows, counted here from the CSV files, each accepted or rejected once
        assert_every_row_accounted_for(lake, r, source_lines(folder, r["manifest"]))
        manifest = json.loads((folder / r["manifest"]).read_text())
        assert r["counts"]["input"] == sum(f["rows"] for f in manifest["files"])
        # processed sets leave the inbox for the archive; receipts reach the outbox
        assert not (landing / r["lg_code"] / "inbox" / r["manifest"]).exists()
        assert (landing / "archive" / r["lg_code"] / r["set_id"] / r["manifest"]).is_file()
        stem = r["manifest"].removesuffix(".manifest.json")
        outbox = landing / r["lg_code"] / "outbox"
        assert json.loads((outbox / f"{stem}_{r['set_id']}.receipt.json").read_text()) == r
        assert "受付結果" in (outbox / f"{stem}_{r['set_id']}.receipt.txt").read_text()


def atena_history() -> dict[tuple[str, str], list[dict[str, str]]]:
    """The sample's 宛名 history rows as sent (Japanese headers), by (lg_code, 宛名番号)."""
    rows: dict[tuple[str, str], list[dict[str, str]]] = {}
    for code in LG_CODES:
        folder = SAMPLE / "landing" / code
        manifest = json.loads((folder / f"atena_{KIJUNBI.replace('-', '')}.manifest.json").read_text())
        for f in manifest["files"]:
            with (folder / f["name"]).open(encoding=CODECS[f["encoding"]], newline="") as fh:
                for row in csv.DictReader(fh):
                    rows.setdefault((code, row["宛名番号"]), []).append(row)
    return rows


def present_in_truth() -> tuple[dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], dict[str, str]]]:
    """Every 宛名 record of the ground truth, and those that must be in the 基準日 snapshot, each
    with its last history row.

    ``ground_truth.csv`` names every 宛名 record the generator made and how many history rows it
    has (``rirekibango_max``); the record is present on the 基準日 unless that last row is a
    消除 (a death: a mover keeps the old number as 住登外者, with a later 住登外者登録 row).
    """
    with (SAMPLE / "ground_truth.csv").open(encoding="utf-8", newline="") as fh:
        truth = {(r["lg_code"], r["atenabango"]): r for r in csv.DictReader(fh)}
    history = atena_history()
    assert sorted(history) == sorted(truth), "the ground truth names exactly the 宛名 records sent"
    last = {}
    for key, t in truth.items():
        rows = history[key]
        assert sorted(int(r["履歴番号"]) for r in rows) == list(range(1, int(t["rirekibango_max"]) + 1))
        # everything in the sample took effect and was recorded by the 基準日, so the last row
        # (highest 履歴番号, latest 異動日) is the state on the 基準日
        assert all(r["異動日"] <= KIJUNBI and r["処理日"] <= KIJUNBI for r in rows)
        [last[key]] = [r for r in rows if r["履歴番号"] == t["rirekibango_max"]]
        assert last[key]["異動日"] == max(r["異動日"] for r in rows)
    present = {k: {**truth[k], **last[k]} for k in truth if idojiyu_group(last[k]["異動事由"]) != "消除"}
    return truth, present


def assert_same_persons(got: list[tuple[str, str]], expected: set[tuple[str, str]]) -> None:
    """One snapshot row per person, and exactly the ``expected`` persons."""
    assert len(got) == len(set(got)), "a person appears twice"
    diff = {"missing": sorted(expected - set(got)), "extra": sorted(set(got) - expected)}
    assert diff == {"missing": [], "extra": []}


def sample_discrepancies(kind: str) -> dict[tuple[str, str], dict[str, str]]:
    """The sample's ``discrepancies.csv`` rows of ``kind`` by (lg_code, atenabango or, for
    D007, 住民票コード)."""
    with (SAMPLE / "discrepancies.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == kind]
    return {(r["lg_code"], r["atenabango"] or r["juminhyokodo"]): r for r in rows}


def test_snapshot_agrees_with_ground_truth(landing: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    run_library(landing, lake.root)
    truth, present = present_in_truth()
    mistyped, removed, missing = (sample_discrepancies(k) for k in ("D002", "D001", "D007"))
    assert mistyped and removed and missing, "the sample has 宛名 records the 住基 contradicts"
    assert 0 < len(present) < len(truth), "the sample has both present and departed records"
    con = duckdb.connect()
    hive = "hive_partitioning = true, hive_types = {'kijunbi': DATE, 'known_at': DATE, 'lg_code': VARCHAR}"
    rows = con.execute(
        f"SELECT lg_code, atenabango, rirekibango, jutokubun, juminhyokodo FROM read_parquet(?, {hive})",
        [lake.dataset_glob("snapshot", "atena")],
    ).fetchall()
    # the same persons, none missing and none extra
    assert_same_persons([(lg_code, atenabango) for lg_code, atenabango, *_ in rows], set(present))
    for lg_code, atenabango, rirekibango, jutokubun, juminhyokodo in rows:
        t = present[(lg_code, atenabango)]
        assert (rirekibango, jutokubun) == (int(t["rirekibango_max"]), t["住登区分"]), (lg_code, atenabango)
        # 住登者 (住登区分 1) are the jutosha records and carry the person's 住民票コード (or the
        # mistyped one the 宛名 holds, D002)
        assert (jutokubun == "1") is (t["kind"] == "jutosha"), (lg_code, atenabango, t["kind"])
        if jutokubun == "1":
            wrong = mistyped.get((lg_code, atenabango))
            assert juminhyokodo == (wrong["atena_value"] if wrong else t["juminhyokodo"]), (lg_code, atenabango)
    # 住基: every present 住登者 by 住民票コード in the municipality where they live, but those the
    # 住基 has removed (D001), and the residents the 宛名 lacks (D007); nobody else
    juki = con.execute(
        f"SELECT lg_code, juminhyokodo FROM read_parquet(?, {hive})", [lake.dataset_glob("snapshot", "juki")]
    ).fetchall()
    residents = {(lg, t["juminhyokodo"]) for (lg, no), t in present.items() if t["kind"] == "jutosha"}
    removed_codes = {(lg, r["juminhyokodo"]) for (lg, _), r in removed.items()}
    assert_same_persons(juki, residents - removed_codes | set(missing))


def test_rerun_is_byte_identical(tmp_path: Path) -> None:
    run_library(deliver(tmp_path / "la"), tmp_path / "a")
    run_library(deliver(tmp_path / "lb"), tmp_path / "b")
    a, b = digest(tmp_path / "a" / "snapshot"), digest(tmp_path / "b" / "snapshot")
    assert a and a == b
    before = digest(tmp_path / "a")
    landing = deliver(tmp_path / "la")  # the same sets uploaded again
    for code in LG_CODES:  # a second run over the same lake changes nothing
        assert {r.status for r in ingest_municipality(landing, tmp_path / "a", code)} == {"already_ingested"}
        assert not list((landing / code / "inbox").iterdir())
        assert validate_municipality(tmp_path / "a", code) == []
        snapshot_municipality(tmp_path / "a", code, KIJUNBI)
    assert digest(tmp_path / "a") == before


def test_cli_exit_codes(landing: Path, tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    assert cli(["ingest", "--landing", str(landing), "--lake", lake]) == 0
    assert cli(["validate", "--lake", lake]) == 0
    assert cli(["snapshot", "--lake", lake, "--as-of", KIJUNBI]) == 0
    assert cli(["delta", "--lake", lake, "--to", KIJUNBI]) == 0  # no earlier day: nothing to do
    assert cli(["snapshot", "--lake", lake, "--as-of", "2026-10-30", "--until", "2026-10-31", "--delta"]) == 0
    assert cli(["delta", "--lake", lake, "--to", KIJUNBI, "--since", "2026-10-30"]) == 0
    assert (
        cli(["snapshot", "--lake", lake, "--as-of", KIJUNBI, "--known-at", "2026-11-05", "--delta"]) == 2
    )  # deltas chain snapshots known on their own day only
    assert Lake.is_staged(Lake.at(lake).delta("juki", "2026-10-30", KIJUNBI, LG_CODES[0]))
    deliver(landing)
    broken = landing / LG_CODES[0] / "inbox" / "atena_20261101.csv"
    data = bytearray(broken.read_bytes())
    data[-2] ^= 1  # same size, but the checksum no longer matches
    broken.write_bytes(bytes(data))
    lake2 = str(tmp_path / "lake2")
    assert cli(["ingest", "--landing", str(landing), "--lake", lake2]) == 3


def snapshot_conf(lake: Path, **kw: object) -> dict[str, object]:
    return {"lake": str(lake), "kijunbi": KIJUNBI, "until": "", "known_at": "", "delta": True, "lg_codes": [], **kw}


def accepted_events(asset: str = "jumin_accepted") -> list[dict]:
    """Extras of the ``jumin_accepted`` (or ``asset``) events recorded in Airflow's database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(
            session.scalars(
                select(AssetEvent.extra)
                .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                .where(AssetModel.name == asset)
                .order_by(AssetEvent.id)
            )
        )


def triggering(extra: dict, asset: str = "jumin_accepted", dag_id: str = "jumin_ingest") -> object:
    """The ``triggering_asset_events`` a run created by one ``jumin_accepted`` (or ``asset``)
    event receives."""
    import datetime as dt

    from airflow.sdk.api.datamodels._generated import AssetReferenceAssetEventDagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    event = AssetEventDagRunReferenceResult(
        asset=AssetReferenceAssetEventDagRun(name=asset, uri=asset, extra={}),
        extra=extra,
        source_task_id="announce",
        source_dag_id=dag_id,
        source_run_id="manual",
        source_map_index=-1,
        source_aliases=[],
        timestamp=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    return TriggeringAssetEventsAccessor.build([event])


@pytest.mark.airflow
def test_dags_run_end_to_end_with_airflow(airflow_db: str, landing: Path, tmp_path: Path) -> None:
    from jumin.apps.demo import load_dags, run_dag

    lake = tmp_path / "lake"
    dags = load_dags()
    assert (
        run_dag(dags["jumin_ingest"], {"landing": str(landing), "lake": str(lake), "lg_codes": [], "sftp_conn_id": ""})
        == "success"
    )
    # the accepted data is announced as an asset event naming what to snapshot
    events = accepted_events()
    assert events[-1] == {"lake": str(lake), "sets": [{"lg_code": c, "kijunbi": KIJUNBI} for c in LG_CODES]}
    # the snapshot DAG's plan task, handed that event as the scheduler hands it over
    plan = (
        dags["jumin_snapshot"]
        .get_task("plan")
        .python_callable(
            params={"lake": str(lake), "kijunbi": "", "lg_codes": []}, triggering_asset_events=triggering(events[-1])
        )
    )
    # every municipality once, the largest (by accepted data) first
    largest_first = sorted(LG_CODES, key=lambda c: (-Lake(lake).accepted_bytes(c), c))
    assert plan == [{"lg_code": c, "kijunbi": KIJUNBI, "until": None} for c in largest_first]
    assert run_dag(dags["jumin_snapshot"], snapshot_conf(lake)) == "success"
    for code in LG_CODES:
        for layout in ("atena", "juki", "shien"):
            assert (Lake(lake).snapshot(layout, KIJUNBI, KIJUNBI, code) / PART_FILE).is_file()
    # the staged day is announced; the reconcile DAG's plan reads it, and the DAG reconciles
    # every municipality and returns its review files to the outbox
    staged = accepted_events("jumin_snapshots")
    assert staged[-1] == {"lake": str(lake), "days": [{"kijunbi": KIJUNBI, "lg_codes": LG_CODES}]}
    plan = (
        dags["jumin_reconcile"]
        .get_task("plan")
        .python_callable(
            params={"lake": str(lake), "kijunbi": "", "lg_codes": []},
            triggering_asset_events=triggering(staged[-1], "jumin_snapshots", "jumin_snapshot"),
        )
    )
    assert plan == [{"lg_code": c, "kijunbi": KIJUNBI} for c in largest_first]
    reconcile_conf = {"lake": str(lake), "kijunbi": KIJUNBI, "lg_codes": [], "engine": "duckdb",
                      "sftp_conn_id": "", "landing": str(landing)}  # fmt: skip
    assert run_dag(dags["jumin_reconcile"], reconcile_conf) == "success"
    for code in LG_CODES:
        assert Lake(lake).is_staged(Lake(lake).reconcile("links", KIJUNBI, code))
        assert (LandingTree(landing).outbox(code) / "nayose_koho_20261101.xlsx").is_file()
    # rerun one municipality: only its partitions are rewritten, with the same bytes
    before = digest(lake / "snapshot")
    assert run_dag(dags["jumin_snapshot"], snapshot_conf(lake, lg_codes=[LG_CODES[0]])) == "success"
    assert digest(lake / "snapshot") == before
    # nothing new accepted: no event, so no snapshot run is triggered
    deliver(landing)
    assert (
        run_dag(dags["jumin_ingest"], {"landing": str(landing), "lake": str(lake), "lg_codes": [], "sftp_conn_id": ""})
        == "success"
    )
    assert len(accepted_events()) == len(events)
