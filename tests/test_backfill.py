"""Backfilling a month of 基準日 snapshots and deltas on the committed sample: through Airflow and
the CLI (same bytes), deltas that chain from the first day to the last, late records that appear
only once known, and reruns that replace partitions atomically with the same bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expectations.main import validate_municipality
from extract.main import ingest_municipality
from jumin.apps.cli import main as cli
from jumin.core.lake import PART_FILE, PARTITION_MANIFEST, Lake
from jumin.core.layouts import Layout, get_layout, idojiyu_group
from jumin.core.schema import PARTITION_KEYS
from load.main import delta_municipality, snapshot_municipality
from tests.test_pipeline import LG_CODES, deliver, digest, snapshot_conf
from transform.delta import compared_items
from transform.main import day_range
from transform.snapshot import identity

pytestmark = [pytest.mark.integration]

FIRST, LAST = "2026-10-01", "2026-10-31"
MONTH = day_range(FIRST, LAST)
DAY_PAIRS = list(pairwise(MONTH))
LAYOUT_NAMES = ("atena", "juki", "shien", "teikyoteishi")

Key = tuple[Any, ...]
Rows = dict[Key, dict[str, Any]]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def accepted_zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample ingested and validated once (no snapshot): the lake's accepted zone."""
    root = tmp_path_factory.mktemp("accepted")
    landing, lake = deliver(root / "landing"), root / "lake"
    for code in LG_CODES:
        assert {r.status for r in ingest_municipality(landing, lake, code)} == {"parsed"}
        assert {r.status for r in validate_municipality(lake, code)} == {"accepted"}
    for name in LAYOUT_NAMES:
        assert sorted(p.name for p in (lake / "accepted" / name).iterdir()) == [f"lg_code={c}" for c in LG_CODES]
    return lake / "accepted"


def fresh_lake(accepted: Path, root: Path) -> Path:
    """A new lake holding a copy of the accepted zone and nothing else."""
    shutil.copytree(accepted, root / "accepted")
    return root


def check_partition(folder: Path) -> dict[str, Any]:
    """A complete staged partition: its manifest names the data file's rows, size and SHA-256."""
    part, manifest_path = folder / PART_FILE, folder / PARTITION_MANIFEST
    assert part.is_file(), part
    assert manifest_path.is_file(), manifest_path
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["rows"] == pq.read_metadata(part).num_rows, folder
    assert [f["name"] for f in manifest["files"]] == [PART_FILE], folder
    assert manifest["files"][0]["sha256"] == hashlib.sha256(part.read_bytes()).hexdigest(), folder
    assert manifest["files"][0]["bytes"] == part.stat().st_size, folder
    return manifest


def keyed(rows: list[dict[str, Any]], layout: Layout) -> Rows:
    """Rows by identity, restricted to the columns a delta compares."""
    cols, ids = compared_items(layout), identity(layout)
    out: Rows = {}
    for r in rows:
        key = tuple(r[c] for c in ids)
        assert key not in out, f"{layout.name}: identity {key} twice in one snapshot"
        out[key] = {c: r[c] for c in cols}
    return out


def snapshot_rows(lake: Path, layout: Layout, kijunbi: str, code: str) -> Rows:
    folder = Lake(lake).snapshot(layout.name, kijunbi, kijunbi, code)
    check_partition(folder)
    return keyed(pq.ParquetFile(folder / PART_FILE).read(columns=compared_items(layout)).to_pylist(), layout)


def delta_rows(lake: Path, layout: Layout, from_ref: str, to_ref: str, code: str) -> list[dict[str, Any]]:
    folder = Lake(lake).delta(layout.name, from_ref, to_ref, code)
    manifest = check_partition(folder)
    assert (manifest["from"], manifest["to"], manifest["lg_code"]) == (from_ref, to_ref, code)
    rows: list[dict[str, Any]] = pq.ParquetFile(folder / PART_FILE).read().to_pylist()
    assert {r["change"] for r in rows} <= {"added", "removed", "changed"}, folder
    return rows


def hidden(root: Path) -> list[Path]:
    """Files or folders under ``root`` whose name starts with a dot (temporary names)."""
    return sorted(p for p in root.rglob("*") if p.name.startswith("."))


# --------------------------------------------------------------------------- Airflow and CLI


@pytest.mark.airflow
@pytest.mark.timeout(300)
def test_backfill_a_month_with_airflow(airflow_db: str, accepted_zone: Path, tmp_path: Path) -> None:
    from jumin.apps.demo import load_dags, run_dag

    lake = fresh_lake(accepted_zone, tmp_path / "airflow")
    dags = load_dags()
    assert run_dag(dags["jumin_snapshot"], snapshot_conf(lake, kijunbi=FIRST, until=LAST)) == "success"

    nonempty = 0
    for code in LG_CODES:
        for name in LAYOUT_NAMES:
            staged = sorted(
                (p.parent.parent.name, p.parent.name)
                for p in (lake / "snapshot" / name).glob(f"kijunbi=*/known_at=*/lg_code={code}")
            )
            assert staged == [(f"kijunbi={d}", f"known_at={d}") for d in MONTH]
            sha = {}
            for d in MONTH:
                m = check_partition(Lake(lake).snapshot(name, d, d, code))
                assert (m["dataset"], m["layout"], m["lg_code"], m["kijunbi"], m["known_at"]) == (
                    "snapshot",
                    name,
                    code,
                    d,
                    d,
                )
                sha[d] = m["files"][0]["sha256"]
            deltas = sorted(
                (p.parent.parent.name, p.parent.name)
                for p in (lake / "delta" / name).glob(f"from=*/to=*/lg_code={code}")
            )
            assert deltas == [(f"from={a}", f"to={b}") for a, b in DAY_PAIRS]
            for a, b in DAY_PAIRS:
                m = check_partition(Lake(lake).delta(name, a, b, code))
                # a delta names the exact snapshot files it was computed from
                assert m["inputs"] == [{"snapshot": a, "sha256": sha[a]}, {"snapshot": b, "sha256": sha[b]}]
                nonempty += m["rows"] > 0
    assert nonempty > 0, "no delta over the month has a row: the backfill shows no change at all"

    # the same month through the CLI, in another lake with the same accepted data
    other = fresh_lake(accepted_zone, tmp_path / "cli")
    assert cli(["snapshot", "--lake", str(other), "--as-of", FIRST, "--until", LAST, "--delta"]) == 0
    for zone in ("snapshot", "delta"):
        airflow, by_cli = digest(lake / zone), digest(other / zone)
        expected = len(LG_CODES) * len(LAYOUT_NAMES) * (len(MONTH) - (zone == "delta")) * 2
        assert len(airflow) == expected
        assert by_cli == airflow


# --------------------------------------------------------------------------- library only


@pytest.mark.timeout(120)
def test_deltas_chain_from_first_to_last_day(accepted_zone: Path, tmp_path: Path) -> None:
    lake = fresh_lake(accepted_zone, tmp_path / "lake")
    for code in LG_CODES:
        snapshot_municipality(lake, code, FIRST, until=LAST)
        deltas = delta_municipality(lake, code, FIRST, until=LAST)
        assert sorted((d.layout, d.from_ref, d.to_ref) for d in deltas) == sorted(
            (name, a, b) for name in LAYOUT_NAMES for a, b in DAY_PAIRS
        )
    assert cli(["delta", "--lake", str(lake), "--to", LAST, "--since", FIRST]) == 0

    applied = 0
    month_changed = 0
    for code in LG_CODES:
        for name in LAYOUT_NAMES:
            layout = get_layout(name)
            cols, ids = compared_items(layout), identity(layout)
            first, last = (snapshot_rows(lake, layout, d, code) for d in (FIRST, LAST))
            state = dict(first)
            for a, b in DAY_PAIRS:
                for r in delta_rows(lake, layout, a, b, code):
                    key, values = tuple(r[c] for c in ids), {c: r[c] for c in cols}
                    where = f"{name} {code} {a}->{b} {key}"
                    if r["change"] == "added":
                        assert key not in state, where
                        assert r["changed_items"] == [], where
                        state[key] = values
                    elif r["change"] == "changed":
                        assert key in state, where
                        assert r["changed_items"] == [c for c in cols if state[key][c] != values[c]], where
                        assert r["changed_items"], where
                        state[key] = values
                    else:
                        # a removed row carries the last values seen
                        assert state.pop(key, None) == values, where
                        assert r["changed_items"] == [], where
                    applied += 1
            assert state == last, f"{name} {code}: {FIRST} + deltas != {LAST}"

            # the delta over the whole month names exactly the identities whose state differs
            expected = {
                k: "added" if k not in first else "removed" if k not in last else "changed"
                for k in first.keys() | last.keys()
                if first.get(k) != last.get(k)
            }
            month = delta_rows(lake, layout, FIRST, LAST, code)
            got = {tuple(r[c] for c in ids): r["change"] for r in month}
            assert len(got) == len(month), f"{name} {code}: an identity twice in the month's delta"
            assert got == expected, f"{name} {code}"
            month_changed += len(month)
    assert applied > 0, "every daily delta of the month is empty: the chain tests nothing"
    assert month_changed > 0, f"nothing differs between {FIRST} and {LAST}"


def late_records(accepted: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Accepted atena rows recorded after their 異動日 (処理日 > 異動日) that make up their
    person's snapshot as of the 異動日 once known: one whose person is absent until then
    ("new") and one whose person shows an older version until then ("update"), latest first."""
    atena = get_layout("atena")
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for code in LG_CODES:
        [accepted_file] = Lake(accepted.parent).accepted_files("atena", code)
        rows = pq.ParquetFile(accepted_file).read().to_pylist()
        for r in sorted(rows, key=lambda r: (r["idobi"], r[atena.person], r["rirekibango"]), reverse=True):
            if r["shoribi"] <= r["idobi"] or idojiyu_group(r["idojiyu"]) == "消除":
                continue
            mine = [s for s in rows if s[atena.person] == r[atena.person] and s["idobi"] <= r["idobi"]]
            visible = [s for s in mine if s["shoribi"] <= r["shoribi"]]
            if max(visible, key=lambda s: (s["idobi"], s["rirekibango"])) is not r:
                continue  # a later version hides it even once known
            before = [s for s in mine if s["shoribi"] <= r["idobi"]]
            latest = max(before, key=lambda s: (s["idobi"], s["rirekibango"]), default=None)
            kind = "update" if latest and idojiyu_group(latest["idojiyu"]) != "消除" else "new"
            if kind not in found or r["idobi"] > found[kind][1]["idobi"]:
                found[kind] = (code, r)
    return found


@pytest.mark.parametrize("kind", ["new", "update"])
def test_known_at_shows_late_records_only_when_known(accepted_zone: Path, tmp_path: Path, kind: str) -> None:
    found = late_records(accepted_zone)
    assert kind in found, f"the sample has no late-recorded atena row of kind {kind!r}"
    code, late = found[kind]
    as_of, known = late["idobi"].isoformat(), late["shoribi"].isoformat()
    person, version = late["atenabango"], (late["atenabango"], late["rirekibango"])
    lake = fresh_lake(accepted_zone, tmp_path / "lake")
    lk = Lake(lake)

    snapshot_municipality(lake, code, as_of)
    default = lk.snapshot("atena", as_of, as_of, code)
    check_partition(default)
    rows = pq.ParquetFile(default / PART_FILE).read().to_pylist()
    assert version not in {(r["atenabango"], r["rirekibango"]) for r in rows}
    mine = [r for r in rows if r["atenabango"] == person]
    if kind == "new":
        assert mine == []
    else:
        assert len(mine) == 1 and mine[0]["rirekibango"] != late["rirekibango"]
    untouched = {
        p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
        for name in LAYOUT_NAMES
        for p in lk.snapshot(name, as_of, as_of, code).iterdir()
    }
    assert len(untouched) == 2 * len(LAYOUT_NAMES)

    snapshot_municipality(lake, code, as_of, known_at=known)
    folder = lk.snapshot("atena", as_of, known, code)
    manifest = check_partition(folder)
    assert (manifest["kijunbi"], manifest["known_at"]) == (as_of, known)
    mine = [r for r in pq.ParquetFile(folder / PART_FILE).read().to_pylist() if r["atenabango"] == person]
    assert mine == [{k: v for k, v in late.items() if k not in PARTITION_KEYS}]
    # the snapshot as known on its own day is left as it was
    assert {p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in untouched} == untouched
    assert sorted(p.name for p in (lake / "snapshot" / "atena" / f"kijunbi={as_of}").iterdir()) == sorted(
        {f"known_at={as_of}", f"known_at={known}"}
    )


def test_rerun_replaces_partition_atomically_and_identically(accepted_zone: Path, tmp_path: Path) -> None:
    lake = fresh_lake(accepted_zone, tmp_path / "lake")
    code, days = LG_CODES[0], ("2026-10-30", LAST)

    def run() -> None:
        snapshot_municipality(lake, code, days[0], until=days[1])
        delta_municipality(lake, code, days[0], until=days[1])

    run()
    before = {zone: digest(lake / zone) for zone in ("snapshot", "delta")}
    assert len(before["snapshot"]) == len(LAYOUT_NAMES) * len(days) * 2
    assert len(before["delta"]) == len(LAYOUT_NAMES) * 2
    lk = Lake(lake)
    held = lk.snapshot("atena", LAST, LAST, code) / PART_FILE
    broken = lk.snapshot("juki", LAST, LAST, code) / PART_FILE
    old_bytes = held.read_bytes()
    with held.open("rb") as reader:
        os.truncate(broken, broken.stat().st_size // 2)  # a damaged file is replaced too
        run()
        # the old file was renamed over, never rewritten in place: a reader keeps the whole old file
        assert os.fstat(reader.fileno()).st_ino != held.stat().st_ino
        assert reader.read() == old_bytes
    assert {zone: digest(lake / zone) for zone in ("snapshot", "delta")} == before
    for name in LAYOUT_NAMES:
        for d in days:
            check_partition(lk.snapshot(name, d, d, code))
        check_partition(lk.delta(name, *days, code))
    assert hidden(lake / "snapshot") == []
    assert hidden(lake / "delta") == []


def test_a_later_delivery_leaves_old_snapshots_unchanged(accepted_zone: Path, tmp_path: Path) -> None:
    lake = fresh_lake(accepted_zone, tmp_path / "lake")
    code = LG_CODES[0]
    snapshot_municipality(lake, code, FIRST)
    before = digest(lake / "snapshot")
    # a later upload set: new persons whose changes take effect in November
    folder = Lake(lake).accepted_folder("atena", code)
    table = pq.read_table(next(folder.glob("*.parquet"))).slice(0, 5)
    later = table.to_pylist()
    for i, r in enumerate(later):
        r.update(
            atenabango=f"9{i:014d}",
            set_id="later",
            kijunbi=date(2026, 12, 1),
            idobi=date(2026, 11, 20),
            shoribi=date(2026, 11, 20),
            idojiyu="11",
        )
    pq.write_table(pa.Table.from_pylist(later, schema=table.schema), folder / "set=later.parquet")
    snapshot_municipality(lake, code, FIRST)
    assert digest(lake / "snapshot") == before  # data and manifest: the same bytes
    snapshot_municipality(lake, code, "2026-11-20")
    manifest = check_partition(Lake(lake).snapshot("atena", "2026-11-20", "2026-11-20", code))
    inputs = {i["set_id"]: i for i in manifest["inputs"]}
    assert inputs["later"] == {"set_id": "later", "kijunbi": "2026-12-01", "rows": 5}
    assert sum(i["rows"] for i in manifest["inputs"]) == manifest["rows"]


def test_a_set_arriving_during_a_backfill_does_not_shift_rows(
    accepted_zone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import load.main

    code = LG_CODES[0]
    clean = fresh_lake(accepted_zone, tmp_path / "clean")
    snapshot_municipality(clean, code, "2026-10-30", until=LAST)
    lake = fresh_lake(accepted_zone, tmp_path / "lake")
    folder = Lake(lake).accepted_folder("atena", code)
    sent = pq.read_table(next(folder.glob("*.parquet")))
    arriving = sent.take(list(reversed(range(sent.num_rows))))  # other rows at the same positions
    stage_day = load.main._stage_day

    def stage_then_deliver(*args: Any) -> dict[str, Any]:
        manifest = stage_day(*args)
        if not (folder / "set=0.parquet").exists():  # sorts before every set id: would shift indexes
            pq.write_table(arriving, folder / "set=0.parquet")
        return manifest

    monkeypatch.setattr(load.main, "_stage_day", stage_then_deliver)
    snapshot_municipality(lake, code, "2026-10-30", until=LAST)
    assert digest(lake / "snapshot" / "atena") == digest(clean / "snapshot" / "atena")
