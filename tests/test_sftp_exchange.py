"""The exchange over SFTP (embedded server): uploader → ingest as the service account →
validation → receipts in the municipality's outbox, read back by the uploader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from expectations.main import validate_municipality
from extract.errors import SftpRefused
from extract.main import IngestResult, ingest_municipality, return_municipality_receipts
from extract.sftp import SftpSettings
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree
from jumin.apps.landing.keys import generate_client_key as client_key
from jumin.apps.landing.keys import zone_settings
from jumin.apps.upload import check_locally, prepare, upload, wait_for_receipt
from jumin.core.lake import Lake
from tests.conftest import REPO

pytestmark = [pytest.mark.integration]

CODE = "131016"
SAMPLE = REPO / "sample_data" / "landing" / CODE


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("zone")
    config = LandingConfig(root=tmp / "root", state=tmp / "state", port=0)
    muni_key, muni_pub = client_key(tmp / "keys", f"lg{CODE}")
    svc_key, svc_pub = client_key(tmp / "keys", "jumin")
    prepare_tree(config, [CODE], {f"lg{CODE}": muni_pub, "jumin": svc_pub})
    with EmbeddedSftpServer(config) as server:
        yield {
            "config": config,
            "muni": zone_settings(config, server.port, f"lg{CODE}", muni_key, 10),
            "svc": zone_settings(config, server.port, "jumin", svc_key, 10),
            "tmp": tmp,
        }


def run_pipeline(svc: SftpSettings, lake: Path) -> list[IngestResult]:
    uri = svc.to_uri()
    results = ingest_municipality(uri, lake, CODE)
    validate_municipality(lake, CODE)
    return_municipality_receipts(uri, lake, CODE)
    return results


def test_upload_ingest_and_receipt_round_trip(zone: dict, tmp_path: Path) -> None:
    up = prepare([SAMPLE / "shien_20261101.csv"], CODE, "shien", "2026-11-01")
    assert check_locally(up)["status"] == "accepted"
    seen: list[tuple[str, int, int]] = []
    upload(up, zone["muni"], lambda n, d, t: seen.append((n, d, t)))
    assert seen[-1][0].endswith(".manifest.json"), "the manifest goes last"
    results = run_pipeline(zone["svc"], tmp_path / "lake")
    assert [(r.status, r.set_id) for r in results] == [("parsed", up.set_id)]
    receipt = wait_for_receipt(up, zone["muni"], timeout_s=5, interval_s=0.1)
    assert receipt is not None and receipt["status"] == "accepted"
    assert receipt["counts"]["input"] == up.manifest.files[0].rows
    assert "受付結果" in receipt["text"]
    root = zone["config"].root
    assert not list((root / CODE / "inbox").iterdir())
    assert (root / "archive" / CODE / up.set_id / up.manifest_name).is_file()


def test_interrupted_upload_resumes_and_is_processed_once_complete(zone: dict, tmp_path: Path) -> None:
    up = prepare([SAMPLE / "juki_20261101.csv"], CODE, "juki", "2026-11-01")
    data = (SAMPLE / "juki_20261101.csv").read_bytes()
    inbox = zone["config"].root / CODE / "inbox"
    (inbox / "juki_20261101.csv.part").write_bytes(data[:1000])  # a connection dropped here
    lake = tmp_path / "lake"
    assert run_pipeline(zone["svc"], lake) == []  # nothing complete: nothing picked up
    sent: list[int] = []
    upload(up, zone["muni"], lambda n, d, t: sent.append(d) if n.endswith(".csv") else None, block_size=100)
    assert sent[0] == 1100, "sending resumed after the 1000 bytes already there"
    assert sent[-1] == len(data)
    assert [r.status for r in run_pipeline(zone["svc"], lake)] == ["parsed"]
    raw = Lake(lake).raw(CODE, up.set_id) / "juki_20261101.csv"
    assert raw.read_bytes() == data


def test_broken_file_gets_japanese_receipt_and_other_sets_go_on(zone: dict, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    good = (SAMPLE / "shien_20261101.csv").read_text(encoding="utf-8")
    (folder / "shien_ok.csv").write_text(good, encoding="utf-8")
    lines = good.splitlines(keepends=True)
    lines[1] = lines[1].replace("20", "2O", 1)  # a letter O in a date
    (folder / "shien_bad.csv").write_text("".join(lines), encoding="utf-8")
    bad = prepare([folder / "shien_bad.csv"], CODE, "shien", "2026-10-01")
    ok = prepare([folder / "shien_ok.csv"], CODE, "shien", "2026-10-01")
    local = check_locally(bad)
    assert local["counts"]["rejected"] == 1 and "2O" in local["text"]
    upload(bad, zone["muni"])
    upload(ok, zone["muni"])
    run_pipeline(zone["svc"], tmp_path / "lake")
    got = wait_for_receipt(bad, zone["muni"], timeout_s=5, interval_s=0.1)
    assert got is not None
    assert {k: v for k, v in got.items() if k != "text"} == {k: v for k, v in local.items() if k != "text"}, (
        "the local check predicts the receipt"
    )
    assert "2行目" in got["text"] and "E0002" in got["text"]
    fine = wait_for_receipt(ok, zone["muni"], timeout_s=5, interval_s=0.1)
    assert fine is not None and fine["status"] == "accepted"


def test_wrong_key_is_refused(zone: dict) -> None:
    other_key, _ = client_key(zone["tmp"] / "other", f"lg{CODE}")
    bad = replace(zone["muni"], key_file=str(other_key))
    with pytest.raises(SftpRefused):
        upload(prepare([SAMPLE / "shien_20261101.csv"], CODE, "shien", "2026-11-01"), bad)


def test_unknown_host_key_is_refused(zone: dict) -> None:
    _, pub = client_key(zone["tmp"] / "fake", "host")
    wrong = replace(zone["muni"], host_key=" ".join(pub.split()[:2]))
    with pytest.raises(SftpRefused):
        wait_for_receipt(prepare([SAMPLE / "shien_20261101.csv"], CODE, "shien", "2026-11-01"), wrong, timeout_s=0)


def test_connection_uri_round_trip(zone: dict) -> None:
    assert SftpSettings.from_uri(zone["svc"].to_uri()) == zone["svc"]


@pytest.mark.airflow
def test_ingest_dag_reads_the_zone_through_an_airflow_connection(
    zone: dict, tmp_path: Path, airflow_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jumin.apps.demo import load_dags, run_dag

    up = prepare([SAMPLE / "atena_20261101.csv"], CODE, "atena", "2026-11-01")
    upload(up, zone["muni"])
    monkeypatch.setenv("AIRFLOW_CONN_JUMIN_SFTP_TEST", zone["svc"].to_uri())
    lake = tmp_path / "lake"
    state = run_dag(
        load_dags()["jumin_ingest"],
        {"sftp_conn_id": "jumin_sftp_test", "landing": "", "lake": str(lake), "lg_codes": [CODE]},
    )
    assert state == "success"
    receipt = wait_for_receipt(up, zone["muni"], timeout_s=5, interval_s=0.1)
    assert receipt is not None and receipt["counts"]["accepted"] == up.manifest.files[0].rows
