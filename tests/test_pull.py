"""Publishing deliveries to a SaaS's read-only outbox and ``jumin pull`` on the consumer side:
a pull followed by N deltas equals a full pull, downloads resume and are verified, the SaaS can
only read its own outbox."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import duckdb
import paramiko
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.saas_outbox import open_saas_outbox
from extract.sftp import SftpSettings
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree
from jumin.apps.pull import Published, PullFailed, Step, delta_sql, full_sql, plan, pull
from jumin.core.contract import PERSON_ID
from jumin.core.lake import PART_FILE, Lake
from jumin.core.landing import SERVICE_USER, saas_user
from load.deliver.contract import example_contracts, load_contract
from load.deliver.publish import NothingToPublish, publish, publish_contract
from tests.sftp_client import pinned_sftp
from tests.test_pipeline import reconciled_sample

AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
DAYS = ("2026-11-01", "2027-05-01", "2027-11-01")
CONTRACT = "vaccination_65plus"


# --------------------------------------------------------------------------- the plan (unit)


def _pub(days: tuple[str, ...], deltas: tuple[tuple[str, str], ...]) -> Published:
    return Published("c", days, deltas)


@pytest.mark.unit
def test_plan_follows_the_delta_chain_from_the_local_day() -> None:
    pub = _pub(DAYS, ((DAYS[0], DAYS[1]), (DAYS[1], DAYS[2])))
    assert plan(pub, None) == [Step("full", DAYS[2])]
    assert plan(pub, DAYS[0]) == [Step("delta", DAYS[1], DAYS[0]), Step("delta", DAYS[2], DAYS[1])]
    assert plan(pub, DAYS[2]) == []
    assert plan(pub, DAYS[0], full=True) == [Step("full", DAYS[2])]


@pytest.mark.unit
def test_plan_loads_the_latest_full_delivery_where_the_chain_breaks() -> None:
    # the delta into DAYS[1] is not published (yet): no way from DAYS[0] but a full load
    assert plan(_pub(DAYS, ((DAYS[1], DAYS[2]),)), DAYS[0]) == [Step("full", DAYS[2])]
    # a delta into a day whose full delivery is not complete is not followed
    assert plan(_pub(DAYS[:2], ((DAYS[0], DAYS[1]), (DAYS[1], DAYS[2]))), DAYS[0]) == [Step("delta", DAYS[1], DAYS[0])]
    with pytest.raises(PullFailed, match="later than the latest published"):
        plan(_pub(DAYS[:1], ()), DAYS[1])
    assert plan(_pub((), ()), None) == []


# --------------------------------------------------------------------------- applying (unit)


def _write(path: Path, rows: Sequence[Mapping[str, object]], delta: bool = False) -> str:
    fields = [(PERSON_ID, pa.string()), ("shimei", pa.string())]
    if delta:
        fields = [("change", pa.string()), ("changed_items", pa.list_(pa.string())), *fields]
    pq.write_table(pa.Table.from_pylist(list(rows), pa.schema(fields)), path)
    return str(path)


@pytest.mark.unit
def test_a_delta_applied_in_sql_is_the_python_reference(tmp_path: Path) -> None:
    old = {"p1": "山田 太郎", "p2": "佐藤 花子", "p3": "鈴木 一郎"}
    delta = [
        {"change": "added", "changed_items": [], PERSON_ID: "p4", "shimei": "高橋 次郎"},
        {"change": "removed", "changed_items": [], PERSON_ID: "p2", "shimei": "佐藤 花子"},
        {"change": "changed", "changed_items": ["shimei"], PERSON_ID: "p3", "shimei": "鈴木 一朗"},
    ]
    expected = dict(old)
    for row in delta:
        expected.pop(str(row[PERSON_ID]), None)
        if row["change"] != "removed":
            expected[str(row[PERSON_ID])] = str(row["shimei"])
    con = duckdb.connect()
    con.execute(full_sql("t", _write(tmp_path / "full.parquet", [{PERSON_ID: k, "shimei": v} for k, v in old.items()])))
    for sql in delta_sql("t", _write(tmp_path / "delta.parquet", delta, delta=True)):
        con.execute(sql)
    assert (
        dict(con.execute("SELECT * FROM t").fetchall())
        == expected
        == {
            "p1": "山田 太郎",
            "p3": "鈴木 一朗",
            "p4": "高橋 次郎",
        }
    )


# --------------------------------------------------------------------------- the zone (integration)


@dataclass(frozen=True)
class Zone:
    config: LandingConfig
    port: int
    keys: Path

    def settings(self, user: str) -> SftpSettings:
        kind, blob = Path(str(self.config.host_key) + ".pub").read_text().split()[:2]
        return SftpSettings("127.0.0.1", self.port, user, str(self.keys / user), f"{kind} {blob}", 15)

    def uri(self, user: str) -> str:
        return self.settings(user).to_uri()


def _keygen(folder: Path, user: str) -> str:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=user)
    fd = os.open(folder / user, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    return key.export_public_key("openssh").decode()


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    tmp = tmp_path_factory.mktemp("saas-zone")
    keys = tmp / "keys"
    keys.mkdir()
    accounts = sorted({load_contract(p).account for p in example_contracts().values()})
    users = [SERVICE_USER, *(saas_user(a) for a in accounts)]
    config = LandingConfig(root=tmp / "root", state=tmp / "state", port=0)
    prepare_tree(config, [], {u: _keygen(keys, u) for u in users}, accounts)
    with EmbeddedSftpServer(config) as server:
        yield Zone(config, server.port, keys)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample, reconciled for the first day (later days are staged by the test)."""
    return reconciled_sample(tmp_path_factory.mktemp("pull"))


def _stage_day(lake: Path, day: str) -> None:
    from load.deliver.main import deliver
    from load.main import snapshot_municipality
    from load.reconcile import reconcile_day
    from tests.test_pipeline import LG_CODES

    if day != DAYS[0]:
        for code in LG_CODES:
            snapshot_municipality(lake, code, day)
        reconcile_day(lake, day)
    deliver(lake, example_contracts()[CONTRACT], day, AT)


def _table(db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {CONTRACT} ORDER BY {PERSON_ID}").fetchall()
    finally:
        con.close()


def _delivered(lake: Path, day: str) -> list[tuple[object, ...]]:
    path = Lake(lake).delivery(CONTRACT, day) / PART_FILE
    sql = f"SELECT * FROM read_parquet('{path}', hive_partitioning = false) ORDER BY {PERSON_ID}"
    return duckdb.connect().execute(sql).fetchall()


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_pull_followed_by_deltas_equals_a_full_pull(zone: Zone, lake: Path, tmp_path: Path) -> None:
    path = example_contracts()[CONTRACT]
    account = load_contract(path).account
    service, saas = zone.uri(SERVICE_USER), zone.uri(saas_user(account))
    with pytest.raises(NothingToPublish, match="jumin deliver"):
        publish_contract(service, lake, path)
    daily, weekly = tmp_path / "daily.duckdb", tmp_path / "weekly.duckdb"
    for i, day in enumerate(DAYS):
        _stage_day(lake, day)
        sent = publish_contract(service, lake, path).sent
        # the day's data file before its manifest, then the delta into the day
        full = f"contract={CONTRACT}/kijunbi={day}"
        assert sent[:2] == [f"{full}/{PART_FILE}", f"{full}/_manifest.json"]
        assert len(sent) == (2 if i == 0 else 4)  # nothing of the days before again
        (result,) = pull(saas, daily, contracts=[CONTRACT])
        assert result.steps == ([f"full {day}"] if i == 0 else [f"delta {DAYS[i - 1]}..{day}"])
        assert _table(daily) == _delivered(lake, day)
        if i != 1:  # this consumer skips a day and catches up by the chain of deltas
            (caught_up,) = pull(saas, weekly)
    assert caught_up.steps == [f"delta {DAYS[0]}..{DAYS[1]}", f"delta {DAYS[1]}..{DAYS[2]}"]
    assert publish_contract(service, lake, path).sent == []  # a rerun sends nothing
    (again,) = pull(saas, daily)
    assert again.steps == [] and again.received_bytes == 0
    once = tmp_path / "once.duckdb"
    (whole,) = pull(saas, once)
    assert whole.steps == [f"full {DAYS[-1]}"]
    assert _table(once) == _table(daily) == _table(weekly) == _delivered(lake, DAYS[-1])
    assert _delivered(lake, DAYS[0]) != _delivered(lake, DAYS[-1])  # the deltas did something
    # a copy of the outbox on a share pulls the same (the folder source)
    (local,) = pull(zone.config.saas_outbox(account), tmp_path / "local.duckdb")
    assert _table(tmp_path / "local.duckdb") == _table(once) and local.steps == whole.steps


# --------------------------------------------------------------------------- resume, verify, refuse


def _synthetic(lake: Path, rows: int = 60_000) -> None:
    """One full delivery of contract ``CONTRACT`` big enough for several SFTP reads."""
    from load.partition import write_partition

    ids = [f"{i:032x}" for i in range(rows)]
    table = pa.table({PERSON_ID: ids, "shimei": [f"氏名{i}" for i in range(rows)]})
    write_partition(table, Lake(lake).delivery(CONTRACT, DAYS[0]), table.schema, {"dataset": "test"})


@pytest.fixture
def synthetic(zone: Zone, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A lake with one synthetic delivery published to the contract's outbox (put back after)."""
    lake = tmp_path / "lake"
    _synthetic(lake)
    account = load_contract(example_contracts()[CONTRACT]).account
    outbox = zone.config.saas_outbox(account)
    saved = tmp_path / "saved-outbox"
    shutil.move(outbox, saved)  # keep what the other test published out of the way
    outbox.mkdir()
    try:
        with open_saas_outbox(zone.uri(SERVICE_USER), account) as box:
            publish(box, lake, CONTRACT)
        yield lake, zone.uri(saas_user(account))
    finally:
        shutil.rmtree(outbox)
        shutil.move(saved, outbox)


def _part(db: Path) -> Path:
    part = Path(f"{db}.files") / f"contract={CONTRACT}/kijunbi={DAYS[0]}/{PART_FILE}.part"
    part.parent.mkdir(parents=True)
    return part


@pytest.mark.integration
def test_a_download_cut_short_resumes_where_it_stopped(synthetic: tuple[Path, str], tmp_path: Path) -> None:
    lake, saas = synthetic
    data = (Lake(lake).delivery(CONTRACT, DAYS[0]) / PART_FILE).read_bytes()
    db = tmp_path / "c.duckdb"
    part = _part(db)
    part.write_bytes(data[: len(data) // 3])  # what a killed pull left
    (result,) = pull(saas, db)
    assert result.received_bytes == len(data) - len(data) // 3
    assert not part.exists() and part.with_suffix("").read_bytes() == data
    assert result.rows == 60_000


@pytest.mark.integration
def test_a_damaged_partial_download_is_fetched_again_from_the_start(
    synthetic: tuple[Path, str], tmp_path: Path
) -> None:
    lake, saas = synthetic
    data = (Lake(lake).delivery(CONTRACT, DAYS[0]) / PART_FILE).read_bytes()
    db = tmp_path / "c.duckdb"
    _part(db).write_bytes(b"\0" * (len(data) // 2))
    (result,) = pull(saas, db)
    assert result.received_bytes == len(data) - len(data) // 2 + len(data)
    assert result.rows == 60_000


@pytest.mark.integration
def test_a_file_that_does_not_match_its_manifest_is_refused(
    zone: Zone, synthetic: tuple[Path, str], tmp_path: Path
) -> None:
    _, saas = synthetic
    account = load_contract(example_contracts()[CONTRACT]).account
    published_file = zone.config.saas_outbox(account) / f"contract={CONTRACT}/kijunbi={DAYS[0]}/{PART_FILE}"
    data = bytearray(published_file.read_bytes())
    data[100] ^= 0xFF
    published_file.write_bytes(bytes(data))
    db = tmp_path / "c.duckdb"
    with pytest.raises(PullFailed, match=f"kijunbi={DAYS[0]}/part-0.parquet: the file does not match its manifest"):
        pull(saas, db)
    con = duckdb.connect(str(db))
    assert con.execute("SELECT count(*) FROM jumin_pull_state").fetchone() == (0,)  # nothing applied


@pytest.mark.integration
def test_publishing_again_sends_only_what_the_outbox_lacks(zone: Zone, synthetic: tuple[Path, str]) -> None:
    lake, _ = synthetic
    account = load_contract(example_contracts()[CONTRACT]).account
    with open_saas_outbox(zone.uri(SERVICE_USER), account) as box:
        assert publish(box, lake, CONTRACT).sent == []
        # a publication killed after the data file reached the outbox, before its marker
        Lake(lake).published_marker(account, f"contract={CONTRACT}/kijunbi={DAYS[0]}/_manifest.json").unlink()
        assert publish(box, lake, CONTRACT).sent == [f"contract={CONTRACT}/kijunbi={DAYS[0]}/_manifest.json"]


@pytest.mark.integration
def test_a_saas_reads_only_its_own_outbox(zone: Zone, synthetic: tuple[Path, str]) -> None:
    account = load_contract(example_contracts()[CONTRACT]).account
    user = saas_user(account)
    host = paramiko.Ed25519Key(filename=str(zone.config.host_key))
    with pinned_sftp(zone.port, host, user, zone.keys / user, 15) as sftp:
        assert sftp.listdir("/") == ["outbox"]
        assert sftp.listdir("/outbox") == [f"contract={CONTRACT}"]
        target = f"/outbox/contract={CONTRACT}/kijunbi={DAYS[0]}"
        with pytest.raises(PermissionError):
            sftp.open(f"{target}/x.parquet", "wb")
        with pytest.raises(PermissionError):
            sftp.remove(f"{target}/{PART_FILE}")
        with pytest.raises(PermissionError):
            sftp.rename(f"{target}/{PART_FILE}", f"{target}/y")
        with pytest.raises(PermissionError):
            sftp.mkdir("/outbox/z")
        with pytest.raises((PermissionError, FileNotFoundError)):
            sftp.listdir("/../child_benefit")
