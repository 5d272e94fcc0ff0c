"""How a delivery is run in production: the contract's checks by Great Expectations itself give
the same release as the DuckDB query, and the DAG takes the pseudonym and ledger secrets from
Airflow connections, writing no secret into the lake."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jumin.core.contract import PERSON_ID
from jumin.core.lake import PART_FILE, Lake
from load.deliver.contract import example_contracts, load_contract
from load.deliver.ledger import show
from load.deliver.main import deliver
from load.deliver.privacy import PSEUDONYM_SECRET, contract_key, pseudonym
from tests.test_pipeline import KIJUNBI, reconciled_sample

pytestmark = [pytest.mark.integration]

AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reconciled_sample(tmp_path_factory.mktemp("engines"))


def _fresh(reconciled: Path, to: Path) -> Path:
    """A copy of the reconciled lake without deliveries, ledger or secrets."""
    shutil.copytree(reconciled, to)
    for gone in ("deliver", "ledger", "reference/secrets", "reference/ledger_key", "published"):
        path = to / gone
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return to


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(example_contracts()))
def test_the_gx_suite_releases_what_the_duckdb_checks_release(reconciled: Path, tmp_path: Path, name: str) -> None:
    a, b = _fresh(reconciled, tmp_path / "a"), _fresh(reconciled, tmp_path / "b")
    path = example_contracts()[name]
    by_duck = deliver(a, path, KIJUNBI, AT, engine="duckdb")
    # the same secrets for both, as one deployment
    shutil.copytree(a / "reference", b / "reference", dirs_exist_ok=True)
    by_gx = deliver(b, path, KIJUNBI, AT, engine="gx")
    assert by_gx.rows == by_duck.rows > 0
    cid = load_contract(path).id
    assert _files(Lake(b).delivery(cid, KIJUNBI)) == _files(Lake(a).delivery(cid, KIJUNBI))


@pytest.mark.timeout(300)
def test_a_broken_output_is_refused_by_the_gx_suite_too(reconciled: Path, tmp_path: Path) -> None:
    from load.deliver.main import DeliveryRefused

    lake = _fresh(reconciled, tmp_path / "lake")
    text = example_contracts()["vaccination_65plus"].read_text(encoding="utf-8")
    # a contract whose own quality rule no real delivery can meet
    broken = text.replace("mustBeGreaterThan: 0", "mustBeGreaterThan: 100000000")
    assert broken != text
    path = tmp_path / "vaccination_65plus.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(DeliveryRefused, match="breaks the contract's checks"):
        deliver(lake, path, KIJUNBI, AT, engine="gx")
    assert not Lake(lake).is_staged(Lake(lake).delivery("vaccination_65plus", KIJUNBI))


@pytest.mark.airflow
@pytest.mark.timeout(300)
def test_the_dag_takes_the_secrets_from_airflow_connections(
    reconciled: Path, tmp_path: Path, airflow_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jumin.apps.demo import load_dags, run_dag
    from jumin.core.landing import LandingTree

    lake = _fresh(reconciled, tmp_path / "lake")
    landing = tmp_path / "landing"
    for p in example_contracts().values():
        LandingTree(landing).saas_outbox(load_contract(p).account).mkdir(parents=True)
    pseudonym_secret, ledger_secret = bytes(range(32)), bytes(range(32, 64))
    for conn, secret in (("JUMIN_PSEUDONYM", pseudonym_secret), ("JUMIN_LEDGER", ledger_secret)):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn}", json.dumps({"conn_type": "generic", "password": secret.hex()}))
    params = {"lake": str(lake), "kijunbi": KIJUNBI, "contracts": [], "sftp_conn_id": "", "landing": str(landing)}
    assert run_dag(load_dags()["jumin_deliver"], params) == "success"
    snap = Lake(lake)
    assert not snap.secret(PSEUDONYM_SECRET).exists() and not (snap.root / "reference" / "ledger_key").exists()
    # the ids are those of the connection's secret: HMAC of the person under the contract's key
    key = contract_key(pseudonym_secret, "vaccination_65plus")
    table = pq.read_table(snap.delivery("vaccination_65plus", KIJUNBI) / PART_FILE)
    persons = _persons(lake)
    assert set(table.column(PERSON_ID).to_pylist()) <= {pseudonym(key, p) for p in persons}
    # the ledger answers a delivered resident with the ledger connection's secret, not another
    resident = next(
        p.removeprefix("J:")
        for p in persons
        if pseudonym(key, p) in set(table.column(PERSON_ID).to_pylist()) and p.startswith("J:")
    )
    assert "vaccination_65plus" in [e.contract_id for e in show(lake, resident, key_source=lambda: ledger_secret)]
    assert show(lake, resident, key_source=lambda: pseudonym_secret) == []


def _persons(lake: Path) -> list[str]:
    """Every person key of the day (住基 person or 宛名), as the delivery makes them."""
    from jumin.core import duck
    from transform.deliver import persons_sql

    con = duck.connect()
    for name, path in (
        ("atena", Lake(lake).snapshot("atena", KIJUNBI, KIJUNBI, "*")),
        ("links", Lake(lake).reconcile("links", KIJUNBI, "*")),
    ):
        files = duck.quote_literal(str(path / PART_FILE))
        duck.run(
            con,
            name,
            f"CREATE TABLE {name} AS FROM read_parquet({files}, hive_types = {{'lg_code': VARCHAR}})",
        )
    return [r[0] for r in duck.rows(con, "persons", f"SELECT person FROM ({persons_sql('atena', 'links', KIJUNBI)})")]
