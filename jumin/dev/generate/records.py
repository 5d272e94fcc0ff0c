"""宛名 records: 住登者, former residents, 住登外者 living elsewhere and DV victims.

Each record is one 宛名番号 in one municipality with its own history rows (履歴番号 from 1).
宛名番号 are issued per municipality in order of registration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jumin.dev.generate.addresses import Addresses, Towns, draw_addresses
from jumin.dev.generate.arrays import (
    cummax_in_segment,
    pick,
    rank_in_segment,
    segment_starts,
    uniform_days,
)
from jumin.dev.generate.dates import YEAR
from jumin.dev.generate.history import (
    JUTOGAI_HENKO,
    JUTOGAI_TOROKU,
    PRIO,
    TENNYU,
    Events,
    Story,
    state_at,
)
from jumin.dev.generate.persons import Persons

ELSEWHERE_RATE = 0.01  # residents also known as 住登外者 in another generated municipality
DV_RATE = 0.0005
SANSHO_FUKA_RATE = 0.01  # 他業務参照不可フラグ "1"

# Ground-truth kinds of a 宛名 record
KINDS = ("jutosha", "jutogaisha_former", "jutogaisha_elsewhere", "jutogaisha_dv")
JUTOSHA, FORMER, ELSEWHERE, DV = range(4)


@dataclass(frozen=True)
class Records:
    """宛名 records: one 宛名番号 in one municipality each."""

    muni: np.ndarray
    number: np.ndarray  # the 宛名番号 as an integer, unique inside its municipality
    person: np.ndarray
    kind: np.ndarray
    kojin_known: np.ndarray
    sansho_fuka: np.ndarray


@dataclass(frozen=True)
class AtenaRows:
    """History rows of the 宛名 records, sorted by (municipality, 宛名番号, 履歴番号)."""

    record: np.ndarray
    code: np.ndarray
    idobi: np.ndarray
    shoribi: np.ndarray
    jutokubun: np.ndarray
    addr: np.ndarray
    uji: np.ndarray
    rireki: np.ndarray


@dataclass
class _RecordBuilder:
    """Collects records and their rows before 宛名番号 are assigned."""

    muni: list[np.ndarray] = field(default_factory=list)
    person: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    kojin_known: list[np.ndarray] = field(default_factory=list)
    rows: list[dict[str, np.ndarray]] = field(default_factory=list)
    count: int = 0

    def add_records(self, muni: np.ndarray, person: np.ndarray, kind: int, kojin_known: np.ndarray) -> np.ndarray:
        """New records; returns their ids."""
        ids = np.arange(self.count, self.count + len(muni))
        self.count += len(muni)
        self.muni.append(muni)
        self.person.append(person)
        self.kind.append(np.full(len(muni), kind))
        self.kojin_known.append(kojin_known)
        return ids

    def add_rows(
        self,
        record: np.ndarray,
        code: int | np.ndarray,
        idobi: np.ndarray,
        shoribi: np.ndarray,
        jutokubun: int,
        addr: np.ndarray,
        uji: np.ndarray,
    ) -> None:
        """History rows of existing records."""
        n = len(record)
        codes = np.broadcast_to(np.asarray(code, dtype=np.int64), (n,))
        self.rows.append(
            {
                "record": record,
                "code": codes,
                "idobi": idobi,
                "shoribi": shoribi,
                "prio": PRIO[codes],
                "jutokubun": np.full(n, jutokubun),
                "addr": addr,
                "uji": uji,
            }
        )


def _late(rng: np.random.Generator, day: np.ndarray, kijunbi: int, max_days: int = 14) -> np.ndarray:
    """A 処理日 for changes a municipality learns of with some delay."""
    return np.minimum(day + rng.integers(0, max_days + 1, len(day)), kijunbi)


def _resident_records(
    rng: np.random.Generator, b: _RecordBuilder, p: Persons, s: Story, ev: Events, n_gen: int, kijunbi: int
) -> np.ndarray:
    """住登者 records of everyone registered in a generated municipality; a mover keeps the
    old 宛名番号 as a former resident (転出, then 住登外者登録) and gets a new one.

    Returns the person → record map of the first registration.
    """
    gen = np.flatnonzero(p.home < n_gen)
    movers = np.flatnonzero(s.move_date >= 0)
    kind = np.full(len(p), JUTOSHA)
    kind[movers] = FORMER
    first_rec = np.full(len(p), -1, dtype=np.int64)
    for k in (JUTOSHA, FORMER):
        who = gen[kind[gen] == k]
        first_rec[who] = b.add_records(p.home[who], who, k, np.ones(len(who), dtype=bool))
    new_rec = np.full(len(p), -1, dtype=np.int64)
    new_rec[movers] = b.add_records(s.move_to[movers], movers, JUTOSHA, np.ones(len(movers), dtype=bool))

    # events from the 国内転入 on belong to the new record (same-day events sort by PRIO)
    md = s.move_date[ev.person]
    after_move = (md >= 0) & ((ev.date > md) | ((ev.date == md) & (ev.prio >= PRIO[TENNYU])))
    movein = (md >= 0) & (ev.date == md) & (ev.code == TENNYU)
    idx = np.flatnonzero(p.home[ev.person] < n_gen)
    rec = np.where(after_move, new_rec[ev.person], first_rec[ev.person])[idx]
    b.add_rows(rec, ev.code[idx], ev.date[idx], ev.shoribi[idx], 1, ev.addr[idx], ev.uji[idx])

    # the old municipality records its former resident as 住登外者 at the new address
    j = np.flatnonzero(movein)
    person = ev.person[j]
    day = np.minimum(ev.date[j] + rng.integers(0, 15, len(j)), kijunbi)
    b.add_rows(first_rec[person], JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, ev.addr[j], ev.uji[j])
    return first_rec


def _elsewhere_records(
    rng: np.random.Generator, b: _RecordBuilder, p: Persons, s: Story, ev: Events, n_gen: int, kijunbi: int
) -> None:
    """住登外者 who live elsewhere (e.g. taxpayers owning land here): every outside person,
    and some residents of another generated municipality."""
    outside = np.flatnonzero(p.home >= n_gen)
    inside = (
        pick(rng, np.flatnonzero(p.home < n_gen), ELSEWHERE_RATE, minimum=1)
        if n_gen > 1
        else np.array([], dtype=np.int64)
    )
    who = np.concatenate([outside, inside])
    day = uniform_days(rng, s.entry[who], s.end[who])
    j = state_at(ev, who, day)
    where = rng.integers(0, n_gen, len(who))
    clash = where == ev.muni[j]
    if n_gen > 1:
        where[clash] = (where[clash] + rng.integers(1, n_gen, int(clash.sum()))) % n_gen
    else:
        who, day, j, where = who[~clash], day[~clash], j[~clash], where[~clash]
    ids = b.add_records(where, who, ELSEWHERE, rng.random(len(who)) < 0.5)
    b.add_rows(ids, JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, ev.addr[j], ev.uji[j])

    # some municipalities update the record when they learn of a later move or name change
    last = np.searchsorted(ev.person, who, side="right") - 1
    changed = (ev.date[last] > day) & ((ev.addr[last] != ev.addr[j]) | (ev.uji[last] != ev.uji[j]))
    upd = np.flatnonzero(changed & (rng.random(len(who)) < 0.6))
    later = np.minimum(ev.date[last[upd]] + rng.integers(0, 61, len(upd)), kijunbi)
    b.add_rows(ids[upd], JUTOGAI_HENKO, later, _late(rng, later, kijunbi), 2, ev.addr[last[upd]], ev.uji[last[upd]])


def _dv_records(
    rng: np.random.Generator,
    b: _RecordBuilder,
    towns: Towns,
    p: Persons,
    s: Story,
    ev: Events,
    n_gen: int,
    residents: int,
    kijunbi: int,
    n_buildings: int,
    addr_offset: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Addresses]:
    """DV victims living away from their 住民票 address, registered as 住登外者 where they
    actually live. Returns (person, record, start day) and the addresses they live at,
    numbered from ``addr_offset``."""
    adult = p.birth <= kijunbi - int(20 * YEAR)
    ok = (p.sex == 2) & (p.foreign < 0) & adult & ~s.dead & (s.move_date < 0) & ((p.home >= n_gen) | (n_gen > 1))
    who = pick(rng, np.flatnonzero(ok), DV_RATE, minimum=1, base=residents)
    where = rng.integers(0, n_gen, len(who))
    clash = where == p.home[who]
    if n_gen > 1:
        where[clash] = (where[clash] + rng.integers(1, n_gen, int(clash.sum()))) % n_gen
    day = uniform_days(rng, np.maximum(s.entry[who], kijunbi - int(2 * YEAR)), np.full(len(who), kijunbi))
    hidden = draw_addresses(rng, towns, where, n_buildings)
    j = state_at(ev, who, day)
    ids = b.add_records(where, who, DV, rng.random(len(who)) < 0.8)
    b.add_rows(ids, JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, addr_offset + np.arange(len(who)), ev.uji[j])
    return who, ids, day, hidden


def _number_records(b: _RecordBuilder, first_day: np.ndarray, rng: np.random.Generator) -> Records:
    """宛名番号 per municipality in order of registration, as a municipality issues them."""
    muni = np.concatenate(b.muni)
    order = np.lexsort((np.arange(len(muni)), first_day, muni))
    number = np.empty(len(muni), dtype=np.int64)
    number[order] = rank_in_segment(segment_starts(muni[order]))
    return Records(
        muni=muni,
        number=number,
        person=np.concatenate(b.person),
        kind=np.concatenate(b.kind),
        kojin_known=np.concatenate(b.kojin_known),
        sansho_fuka=rng.random(len(muni)) < SANSHO_FUKA_RATE,
    )


def _sort_rows(rows: list[dict[str, np.ndarray]], rec: Records) -> AtenaRows:
    """All 宛名 rows in file order with 履歴番号, 処理日 non-decreasing along them."""
    col = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    r = col["record"]
    order = np.lexsort((col["prio"], col["idobi"], rec.number[r], rec.muni[r]))
    col = {k: v[order] for k, v in col.items()}
    starts = segment_starts(col["record"])
    return AtenaRows(
        record=col["record"],
        code=col["code"],
        idobi=col["idobi"],
        shoribi=cummax_in_segment(col["shoribi"], starts),
        jutokubun=col["jutokubun"],
        addr=col["addr"],
        uji=col["uji"],
        rireki=rank_in_segment(starts),
    )


@dataclass(frozen=True)
class AtenaModel:
    """宛名 records and rows, plus what 支援措置 needs to know about them."""

    records: Records
    rows: AtenaRows
    #: first 異動日 of each record
    first_day: np.ndarray
    #: person → record of the first registration in a generated municipality (-1: none)
    home_record: np.ndarray
    #: DV victims: person, 住登外 record where she lives, and the day it was registered
    dv: tuple[np.ndarray, np.ndarray, np.ndarray]
    #: the addresses the events use, followed by the DV victims' actual addresses
    addresses: Addresses


def make_records(
    rng: np.random.Generator,
    towns: Towns,
    p: Persons,
    s: Story,
    ev: Events,
    addresses: Addresses,
    n_gen: int,
    residents: int,
    kijunbi: int,
    n_buildings: int,
) -> AtenaModel:
    """Every 宛名 record of the generated municipalities, numbered and with its history."""
    b = _RecordBuilder()
    home_rec = _resident_records(rng, b, p, s, ev, n_gen, kijunbi)
    _elsewhere_records(rng, b, p, s, ev, n_gen, kijunbi)
    dv_person, dv_rec, dv_day, hidden = _dv_records(
        rng, b, towns, p, s, ev, n_gen, residents, kijunbi, n_buildings, len(addresses)
    )
    first_day = np.full(b.count, np.iinfo(np.int64).max)
    for r in b.rows:
        np.minimum.at(first_day, r["record"], r["idobi"])
    rec = _number_records(b, first_day, rng)
    return AtenaModel(
        rec,
        _sort_rows(b.rows, rec),
        first_day,
        home_rec,
        (dv_person, dv_rec, dv_day),
        Addresses.concat([addresses, hidden]),
    )
