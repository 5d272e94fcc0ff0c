"""Delivering the example contracts from the committed sample: only the contract's items and
persons, per-contract ids stable across runs, 支援措置 suppression, byte-identical reruns."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from jumin.core.contract import PERSON_ID, age_on
from jumin.core.lake import Lake
from load.deliver.contract import example_contracts, load_contract
from load.deliver.main import DeliveryRefused, deliver
from load.deliver.privacy import ADDRESS_ITEMS, HOUSEHOLD_ITEMS
from load.reconcile import reconcile_day
from tests.test_pipeline import KIJUNBI, reconciled_sample

pytestmark = [pytest.mark.integration]

AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reconciled_sample(tmp_path_factory.mktemp("deliver"))


def _bytes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(example_contracts()))
def test_an_example_contract_delivers_only_its_items_and_persons(lake: Path, name: str) -> None:
    path = example_contracts()[name]
    contract = load_contract(path)
    result = deliver(lake, path, KIJUNBI, AT)
    table = pq.read_table(result.path)
    assert tuple(table.column_names) == contract.columns
    assert result.rows == table.num_rows > 0
    ids = table.column(PERSON_ID).to_pylist()
    assert len(set(ids)) == len(ids)
    f = contract.row_filter
    if f.min_age is not None and not f.household_heads:
        births = table.column("seinengappi").to_pylist()
        assert all(age_on(b, dt.date.fromisoformat(KIJUNBI)) >= f.min_age for b in births)
    folder = Lake(lake).delivery(contract.id, KIJUNBI)
    first = _bytes(folder)
    deliver(lake, path, KIJUNBI, AT)
    assert _bytes(folder) == first


@pytest.mark.timeout(120)
def test_ids_differ_across_contracts(lake: Path) -> None:
    delivered = {n: pq.read_table(deliver(lake, p, KIJUNBI, AT).path) for n, p in example_contracts().items()}
    ids = [set(t.column(PERSON_ID).to_pylist()) for t in delivered.values()]
    assert len(ids) == len(example_contracts()) >= 2
    assert all(not a & b for i, a in enumerate(ids) for b in ids[i + 1 :])


@pytest.mark.timeout(120)
def test_persons_under_shien_get_no_address_anywhere(lake: Path) -> None:
    import duckdb

    result = deliver(lake, example_contracts()["vaccination_65plus"], KIJUNBI, AT)
    table = pq.read_table(result.path)
    suppressed = [c for c in table.column_names if c in ADDRESS_ITEMS + HOUSEHOLD_ITEMS]
    empty = [r for r in table.to_pylist() if all(r[c] is None for c in suppressed)]
    assert result.suppressed == len(empty) >= 1  # the sample has 支援措置 persons aged 65+
    # every measure's own 宛名 that is delivered is among them: look its name up in the snapshot
    shien = Lake(lake).staged_snapshots("shien", KIJUNBI)
    atena = Lake(lake).staged_snapshots("atena", KIJUNBI)
    con = duckdb.connect()
    protected_names = {
        r[0]
        for r in con.execute(
            "SELECT a.shimei FROM read_parquet(?, hive_partitioning = true) a JOIN "
            "read_parquet(?, hive_partitioning = true) s USING (lg_code, atenabango)",
            [[str(p) for p in atena.values()], [str(p) for p in shien.values()]],
        ).fetchall()
    }
    for row in table.to_pylist():
        if row["shimei"] in protected_names:
            assert all(row[c] is None for c in suppressed), row["shimei"]


def test_a_day_without_reconciliation_is_refused(lake: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "lake"
    shutil.copytree(lake, other, ignore=shutil.ignore_patterns("reconcile", "deliver"))
    with pytest.raises(DeliveryRefused, match="reconciliation of 2026-11-01 is not staged"):
        deliver(other, example_contracts()["vaccination_65plus"], KIJUNBI, AT)
    assert not (other / "deliver").exists()


@pytest.mark.timeout(120)
def test_the_ledger_is_complete_after_every_delivery_and_reruns_log_nothing_twice(lake: Path) -> None:
    import json

    from load.deliver.ledger import resident_answer, show, verify

    path = example_contracts()["vaccination_65plus"]
    result = deliver(lake, path, KIJUNBI, AT)
    before = verify(lake)
    assert before.ok
    manifest = json.loads((Path(result.path).parent / "_manifest.json").read_text(encoding="utf-8"))
    assert verify(lake, manifest["ledger"]["head"]).ok
    deliver(lake, path, KIJUNBI, AT)
    assert verify(lake).entries == before.entries
    # a delivered 住登者 finds the delivery, in Japanese, with the items they received
    import duckdb

    code = (
        duckdb.connect()
        .execute(
            "SELECT juminhyokodo FROM read_parquet(?) "
            "WHERE jutokubun = '1' AND seinengappi <= DATE '1950-01-01' LIMIT 1",
            [str(Lake(lake).staged_snapshots("atena", KIJUNBI)["131016"])],
        )
        .fetchone()
    )
    assert code is not None
    # (the other examples delivered to this lake before may have reached the resident too)
    entries = [e for e in show(lake, code[0]) if e.contract_id == "vaccination_65plus"]
    assert len(entries) == 1
    answer = resident_answer(entries)
    assert "予防接種" in answer and "氏名" in answer


@pytest.mark.timeout(180)
def test_the_delta_since_the_previous_delivery_turns_it_into_this_one(lake: Path) -> None:
    from load.main import snapshot_municipality
    from tests.test_pipeline import LG_CODES

    nxt = "2027-05-01"
    path = example_contracts()["vaccination_65plus"]
    first = deliver(lake, path, KIJUNBI, AT)
    for code in LG_CODES:
        snapshot_municipality(lake, code, nxt)
    reconcile_day(lake, nxt)
    second = deliver(lake, path, nxt, AT)
    assert first.delta is None or "to=2026-11-01" in first.delta
    assert second.delta is not None and f"from={KIJUNBI}/to={nxt}" in second.delta
    old = {r[PERSON_ID]: r for r in pq.read_table(first.path).to_pylist()}
    new = {r[PERSON_ID]: r for r in pq.read_table(second.path).to_pylist()}
    applied = dict(old)
    for change in pq.read_table(second.delta).to_pylist():
        kind, row = change.pop("change"), change
        row.pop("changed_items")
        if kind == "removed":
            del applied[row[PERSON_ID]]
        else:
            applied[row[PERSON_ID]] = row
    assert applied == new
    assert old != new  # people turned 65 in those six months: the delta is not empty


@pytest.mark.timeout(180)
def test_staged_in_parallel_and_sealed_one_by_one_as_in_one_process(lake: Path, tmp_path: Path) -> None:
    """The DAG's two tasks (stage_delivery in parallel, then seal_delivery one at a time in
    other processes) give the bytes and the ledger deliver() gives in one process; nothing is
    staged before the seal, nothing stays pending after it, a seal without a staged delivery is
    refused and a second seal gives the result again."""
    import shutil
    from concurrent.futures import ProcessPoolExecutor

    from load.deliver.ledger import verify
    from load.deliver.main import seal_delivery, stage_delivery

    split, whole = tmp_path / "split", tmp_path / "whole"
    for target in (split, whole):
        shutil.copytree(lake, target, ignore=shutil.ignore_patterns("deliver", "ledger", "published", "secrets"))
        for key in (Lake(target).secret("pseudonym"), Lake(target).ledger_key()):  # the same secrets
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_bytes(hashlib.sha256(key.name.encode()).digest())
    paths = [example_contracts()[n] for n in sorted(example_contracts())]
    expected = [deliver(whole, p, KIJUNBI, AT) for p in paths]
    with ProcessPoolExecutor(2) as pool:  # two workers staging at once
        list(pool.map(stage_delivery, [split] * len(paths), paths, [KIJUNBI] * len(paths)))
    lake_ = Lake(split)
    for p in paths:
        contract = load_contract(p)
        assert not lake_.is_staged(lake_.delivery(contract.id, KIJUNBI))  # written, not staged
        assert (lake_.delivery_pending(contract.id, KIJUNBI) / "pending.json").exists()
    got = [seal_delivery(split, p, KIJUNBI, AT) for p in paths]

    def shown(results: list[Any]) -> list[dict[str, Any]]:  # each in its own lake
        return [{k: v for k, v in r.to_dict().items() if k != "path"} for r in results]

    assert shown(got) == shown(expected)
    for p in paths:
        cid = load_contract(p).id
        assert _bytes(lake_.delivery(cid, KIJUNBI)) == _bytes(Lake(whole).delivery(cid, KIJUNBI))
        assert not lake_.delivery_pending(cid, KIJUNBI).exists()  # nor an empty folder
    assert (verify(split).head, verify(split).entries) == (verify(whole).head, verify(whole).entries)
    assert seal_delivery(split, paths[0], KIJUNBI, AT) == got[0]  # sealed before: the same result
    other = load_contract(paths[0]).id
    with pytest.raises(DeliveryRefused, match=f"{other} 2026-11-02: no staged delivery to seal"):
        seal_delivery(split, paths[0], "2026-11-02", AT)
