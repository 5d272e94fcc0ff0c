"""One municipality's records of a 基準日 keyed for matching: the reconcile DAG's mapped ``key``
task, so that the national step only puts the nation's keyed tables together and links.

Keying is most of the national step's time (names, births and addresses of every 住基 and 宛名
record through the key functions of :mod:`transform.keys`) and is per municipality in what it
reads (:mod:`transform.reconcile.frames`). :func:`key_municipality` writes a municipality's
tables to ``Lake.reconcile_keyed`` with ``keyed.json`` last, naming the inputs they were made
from (the SHA-256 of the snapshots' manifests and the accepted 住基 sets read for history).
:func:`keyed_day` hands the national step every municipality's tables, keying now the
municipalities whose tables are missing or were made from other inputs (a new upload staged
since, a task that never ran or was killed): what the step reads is always the keying of the
lake as it is, however the tables came to be there.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from jumin.core import duck
from jumin.core.files import atomic_path, atomic_write_text, remove_stale_temps
from jumin.core.lake import PART_FILE, PARTITION_MANIFEST, Lake
from jumin.core.layouts import ATENA, JUKI
from transform.config import RECONCILE_DUCK
from transform.errors import NothingToReconcile
from transform.reconcile.frames import load_atena, load_juki, snapshot_files

log = logging.getLogger(__name__)

#: the tables of a municipality, by the layout they are keyed from
TABLES = {JUKI.name: ("juki_keyed", "juki_last"), ATENA.name: ("atena_keyed",)}
#: written after the tables: what they were keyed from
MARKER = "keyed.json"
#: raised when the key functions change what they return, so tables keyed before are keyed again
KEYING_VERSION = 1
#: manifests read at once when checking the nation's tables (an object store answers each in
#: milliseconds, and the nation has 1,741 municipalities)
CHECK_THREADS = 16


@dataclass(frozen=True)
class KeyedMunicipality:
    """A municipality's keyed tables of a 基準日: the layouts it has a snapshot of, and the
    fingerprint of the inputs they were made from."""

    kijunbi: str
    lg_code: str
    layouts: tuple[str, ...]
    inputs: str

    def to_dict(self) -> dict[str, str | list[str] | int]:
        return {
            "kijunbi": self.kijunbi,
            "lg_code": self.lg_code,
            "layouts": list(self.layouts),
            "inputs": self.inputs,
            "keying_version": KEYING_VERSION,
        }

    def files(self, lake: Lake, table: str) -> list[Path]:
        """The data file of ``table`` (none when the municipality has no snapshot it is keyed from)."""
        layout = next(k for k, tables in TABLES.items() if table in tables)
        return [lake.reconcile_keyed(self.kijunbi, self.lg_code) / f"{table}.parquet"] if layout in self.layouts else []


def staged_municipalities(lake: Lake, kijunbi: str) -> list[str]:
    """Every municipality with a staged 住基 or 宛名 snapshot of ``kijunbi``: what the national
    step reads, so what the ``key`` tasks key."""
    return sorted({c for layout in TABLES for c in snapshot_files(lake, layout, kijunbi)})


def key_inputs(lake: Lake, kijunbi: str, lg_code: str) -> KeyedMunicipality:
    """What a municipality's tables of ``kijunbi`` would be keyed from now: its staged
    snapshots (by their manifests, which name the data file's SHA-256) and the accepted 住基
    sets its history versions come from (a set, once accepted, is never rewritten otherwise)."""
    parts: dict[str, object] = {"kijunbi": kijunbi, "lg_code": lg_code, "keying_version": KEYING_VERSION}
    layouts = []
    for layout in TABLES:
        folder = lake.snapshot(layout, kijunbi, kijunbi, lg_code)
        try:
            manifest = (folder / PARTITION_MANIFEST).read_bytes()
        except FileNotFoundError:
            continue
        layouts.append(layout)
        parts[layout] = hashlib.sha256(manifest).hexdigest()
    if JUKI.name in layouts:
        parts["juki_history"] = [p.name for p in lake.accepted_files(JUKI.name, lg_code)]
    fingerprint = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return KeyedMunicipality(kijunbi, lg_code, tuple(layouts), fingerprint)


def key_municipality(lake_root: str | Path, kijunbi: str, lg_code: str) -> KeyedMunicipality:
    """Key the 住基 and 宛名 snapshots of ``kijunbi`` of one municipality (the 住基 with its
    history versions) into ``Lake.reconcile_keyed``, the tables first and ``keyed.json`` last;
    a rerun on the same inputs writes the same bytes. Raises NothingToReconcile when the
    municipality has neither snapshot staged."""
    lake = Lake.at(lake_root)
    wanted = key_inputs(lake, kijunbi, lg_code)
    if not wanted.layouts:
        raise NothingToReconcile(
            f"no staged 住基 or 宛名 snapshot of {kijunbi} for {lg_code} under "
            f"{lake.snapshot('juki', kijunbi, kijunbi, lg_code)} (or atena): nothing to key"
        )
    folder = lake.reconcile_keyed(kijunbi, lg_code)
    con = duck.connect(RECONCILE_DUCK)
    try:
        if JUKI.name in wanted.layouts:
            load_juki(con, lake, kijunbi, {lg_code: str(_data_file(lake, JUKI.name, kijunbi, lg_code))})
        if ATENA.name in wanted.layouts:
            load_atena(con, {lg_code: str(_data_file(lake, ATENA.name, kijunbi, lg_code))})
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder)
        (folder / MARKER).unlink(missing_ok=True)  # the tables change first: stale until the marker is back
        for layout in wanted.layouts:
            for table in TABLES[layout]:
                with atomic_path(folder / f"{table}.parquet") as tmp:
                    duck.run(con, table, f"COPY {table} TO {duck.quote_literal(str(tmp))} (FORMAT parquet)")
    finally:
        con.close()
    write_marker(lake, wanted)
    log.info("keyed %s of %s (%s) into %s", kijunbi, lg_code, ", ".join(wanted.layouts), folder)
    return wanted


def write_marker(lake: Lake, keyed: KeyedMunicipality) -> None:
    """Write ``keyed.json``, after the tables: they are the keying of ``keyed.inputs``."""
    text = json.dumps(keyed.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
    atomic_write_text(lake.reconcile_keyed(keyed.kijunbi, keyed.lg_code) / MARKER, text)


def _data_file(lake: Lake, layout: str, kijunbi: str, lg_code: str) -> Path:
    return lake.snapshot(layout, kijunbi, kijunbi, lg_code) / PART_FILE


def keyed_tables(lake: Lake, kijunbi: str, lg_code: str) -> KeyedMunicipality | None:
    """The municipality's keyed tables if they are there and were made from its inputs as
    they are now; None otherwise (missing, killed before ``keyed.json``, or stale)."""
    try:
        marker = json.loads((lake.reconcile_keyed(kijunbi, lg_code) / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    wanted = key_inputs(lake, kijunbi, lg_code)
    return wanted if marker.get("inputs") == wanted.inputs else None


def keyed_day(lake: Lake, kijunbi: str, lg_codes: Sequence[str]) -> list[KeyedMunicipality]:
    """The keyed tables of every municipality in ``lg_codes`` (in code order), keying now those
    whose tables are missing or stale (logged: in the DAG the ``key`` tasks made them)."""
    codes = sorted(lg_codes)
    with ThreadPoolExecutor(CHECK_THREADS) as pool:
        found = list(pool.map(lambda c: keyed_tables(lake, kijunbi, c), codes))
    late = [c for c, k in zip(codes, found, strict=True) if k is None]
    if late:
        shown = ", ".join(late[:10]) + (f" and {len(late) - 10} more" if len(late) > 10 else "")
        log.info("reconcile %s: keying %d municipalities now (no current keyed tables): %s", kijunbi, len(late), shown)
    keyed = {c: k for c, k in zip(codes, found, strict=True) if k is not None}
    keyed |= {c: key_municipality(lake.root, kijunbi, c) for c in late}
    return [keyed[c] for c in codes]
