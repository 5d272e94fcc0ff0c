"""宛名 records: 住登者, former residents, 住登外者 living elsewhere and DV victims.

Each record is one 宛名番号 in one municipality with its own history rows (履歴番号 from 1).
宛名番号 are issued per municipality in order of registration.

Besides the faithful records, the municipalities hold what clerks really produce: a 住登外者
registered a second time (in the same municipality, or in another one), a surname change the
宛名 knows of before the 住基 does, and the discrepancies of 住登者 that reconciliation
must find (``discrepancies``). Spelling variants are applied after numbering (``clerks``).
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
    SHIMEI_HENKO,
    TENNYU,
    Events,
    Story,
    state_at,
)
from jumin.dev.generate.names import NamePools
from jumin.dev.generate.persons import Persons

ELSEWHERE_RATE = 0.01  # residents also known as 住登外者 in another generated municipality
DV_RATE = 0.0005
SANSHO_FUKA_RATE = 0.01  # 他業務参照不可フラグ "1"
#: of 住登外者 records (not DV, not namesakes): the person registered again as 住登外者 by a
#: clerk who did not find the record, in the same municipality / in another generated one
DUPLICATE_RATE = 0.02
DUPLICATE_ELSEWHERE_RATE = 0.02
#: of the records of women 20–50 living elsewhere who never married in 住基: the 宛名 learnt of
#: a marriage (a 住登外者情報変更 row with the new surname) that the 住基 has not recorded yet
NEW_SURNAME_RATE = 0.03

# Ground-truth kinds of a 宛名 record
KINDS = ("jutosha", "jutogaisha_former", "jutogaisha_elsewhere", "jutogaisha_dv")
JUTOSHA, FORMER, ELSEWHERE, DV = range(4)

#: Ground-truth labels of a 宛名 record (``Records.labels`` is a bit mask, bit ``i`` is
#: ``LABELS[i]``): how it differs from what the 住基 holds of the person, or what it is
LABELS = (
    "itaiji_uji",  # 氏 written with another 異体字 (高橋/髙橋, 渡辺/渡邊)
    "itaiji_na",  # 名 written with another 異体字 (恵子/惠子)
    "ivs",  # an IVS added to a kanji of 氏 or dropped
    "furigana_long_vowel",  # long vowel written another way (サトウ/サトー, オオノ/オウノ)
    "furigana_dakuten",  # one 濁点/半濁点 lost (ヤマザキ/ヤマサキ)
    "furigana_typo",  # one kana wrong
    "furigana_missing",  # no フリガナ
    "birth_swap",  # day and month of 生年月日 swapped
    "old_surname",  # the surname before a marriage the 住基 has recorded
    "new_surname",  # a surname after a marriage the 住基 has not recorded yet
    "old_address",  # an address the person has left
    "duplicate",  # a second 住登外者 record of the person (see duplicate_of)
    "D001",
    "D002",
    "D003",
    "D004",
    "D005",
    "D006",
)
BIT = {name: 1 << i for i, name in enumerate(LABELS)}
#: ``Records.birth`` of a record that writes the person's own 生年月日 (days may be negative)
OWN_BIRTH = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Records:
    """宛名 records: one 宛名番号 in one municipality each, with what the record says of the
    person where that differs from the 住基 (``clerks``)."""

    muni: np.ndarray
    number: np.ndarray  # the 宛名番号 as an integer, unique inside its municipality
    person: np.ndarray
    kind: np.ndarray
    kojin_known: np.ndarray
    sansho_fuka: np.ndarray
    #: -1, or the record this one registers a second time
    dup_of: np.ndarray
    #: 住民票コード written on the record's 住登者 rows (a mistyped one for D002)
    juminhyokodo: np.ndarray
    #: 0, or the discrepancy (1..6 for D001..D006) injected into this 住登者 record
    injected: np.ndarray
    #: written 名 (given-name form), 性別 (-1: the person's) and 生年月日 (days; OWN_BIRTH:
    #: the person's)
    given: np.ndarray
    sex: np.ndarray
    birth: np.ndarray
    #: bit mask of ``LABELS`` set where a record was made different on purpose
    labels: np.ndarray


@dataclass(frozen=True)
class AtenaRows:
    """History rows of the 宛名 records, sorted by (municipality, 宛名番号, 履歴番号).

    ``uji`` is the surname form written (``uji_true``: the one in force for the person);
    ``kana_uji`` / ``kana_given`` index the reading pool, shown where ``kana_shown``.
    """

    record: np.ndarray
    code: np.ndarray
    idobi: np.ndarray
    shoribi: np.ndarray
    jutokubun: np.ndarray
    addr: np.ndarray
    uji: np.ndarray
    rireki: np.ndarray
    uji_true: np.ndarray
    kana_uji: np.ndarray
    kana_given: np.ndarray
    kana_shown: np.ndarray


_ROW_COLUMNS = ("record", "code", "idobi", "shoribi", "prio", "jutokubun", "addr", "uji", "event")
_RECORD_COLUMNS = ("muni", "person", "kind", "kojin_known", "dup_of", "labels", "injected", "juminhyokodo")


@dataclass
class Draft:
    """Records and rows before 宛名番号 are assigned: one array per column, appended to and
    filtered freely (record ids are positions in the record columns). Rows are added in parts
    and joined when read."""

    rec: dict[str, np.ndarray]
    row_parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, np.ndarray]:
        """The row columns (all parts joined)."""
        if len(self.row_parts) != 1:
            parts = self.row_parts
            self.row_parts = [{k: np.concatenate([part[k] for part in parts]) for k in _ROW_COLUMNS}]
        return self.row_parts[0]

    @property
    def n_records(self) -> int:
        return len(self.rec["muni"])

    def add_records(
        self,
        muni: np.ndarray,
        person: np.ndarray,
        kind: int,
        kojin_known: np.ndarray,
        jhc: np.ndarray,
        dup_of: np.ndarray | None = None,
    ) -> np.ndarray:
        """New records; returns their ids."""
        n = len(muni)
        ids = np.arange(self.n_records, self.n_records + n)
        new = {
            "muni": muni,
            "person": person,
            "kind": np.full(n, kind),
            "kojin_known": kojin_known,
            "dup_of": np.full(n, -1, dtype=np.int64) if dup_of is None else dup_of,
            "labels": np.zeros(n, dtype=np.int64),
            "injected": np.zeros(n, dtype=np.int64),
            "juminhyokodo": jhc,
        }
        self.rec = {k: np.concatenate([self.rec[k], new[k]]) for k in _RECORD_COLUMNS}
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
        event: np.ndarray | None = None,
    ) -> None:
        """History rows of existing records (``event``: the 異動 a 住登者 row copies)."""
        n = len(record)
        codes = np.broadcast_to(np.asarray(code, dtype=np.int64), (n,))
        new = {
            "record": record,
            "code": codes,
            "idobi": idobi,
            "shoribi": shoribi,
            "prio": PRIO[codes],
            "jutokubun": np.full(n, jutokubun),
            "addr": addr,
            "uji": uji,
            "event": np.full(n, -1, dtype=np.int64) if event is None else event,
        }
        self.row_parts.append({k: np.asarray(new[k], dtype=np.int64) for k in _ROW_COLUMNS})

    def last_rows(self, of: np.ndarray) -> np.ndarray:
        """Index of the last row (latest 異動日, then order on the day) of every record where
        ``of`` (-1 elsewhere)."""
        r = self.rows
        idx = np.flatnonzero(of[r["record"]])
        order = idx[np.lexsort((r["prio"][idx], r["idobi"][idx], r["record"][idx]))]
        last = np.full(self.n_records, -1, dtype=np.int64)
        last[r["record"][order]] = order  # later rows overwrite earlier ones
        return last

    def keep(self, records: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Only the records and rows marked; returns the old → new record id map (-1: gone)."""
        rows = rows & records[self.rows["record"]]
        new_id = np.full(self.n_records, -1, dtype=np.int64)
        new_id[records] = np.arange(int(records.sum()))
        self.rec = {k: v[records] for k, v in self.rec.items()}
        dup = self.rec["dup_of"]
        self.rec["dup_of"] = np.where(dup >= 0, new_id[np.maximum(dup, 0)], -1)
        kept = {k: v[rows] for k, v in self.rows.items()}
        kept["record"] = new_id[kept["record"]]
        self.row_parts = [kept]
        return new_id


def new_draft() -> Draft:
    """A draft without records."""
    empty = np.zeros(0, dtype=np.int64)
    return Draft({k: empty for k in _RECORD_COLUMNS}, [{k: empty for k in _ROW_COLUMNS}])


def _late(rng: np.random.Generator, day: np.ndarray, kijunbi: int, max_days: int = 14) -> np.ndarray:
    """A 処理日 for changes a municipality learns of with some delay."""
    return np.minimum(day + rng.integers(0, max_days + 1, len(day)), kijunbi)


def _resident_records(
    rng: np.random.Generator, d: Draft, p: Persons, s: Story, ev: Events, n_gen: int, kijunbi: int
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
        first_rec[who] = d.add_records(p.home[who], who, k, np.ones(len(who), dtype=bool), p.juminhyokodo[who])
    new_rec = np.full(len(p), -1, dtype=np.int64)
    new_rec[movers] = d.add_records(
        s.move_to[movers], movers, JUTOSHA, np.ones(len(movers), dtype=bool), p.juminhyokodo[movers]
    )

    # events from the 国内転入 on belong to the new record (same-day events sort by PRIO)
    md = s.move_date[ev.person]
    after_move = (md >= 0) & ((ev.date > md) | ((ev.date == md) & (ev.prio >= PRIO[TENNYU])))
    movein = (md >= 0) & (ev.date == md) & (ev.code == TENNYU)
    idx = np.flatnonzero(p.home[ev.person] < n_gen)
    rec = np.where(after_move, new_rec[ev.person], first_rec[ev.person])[idx]
    d.add_rows(rec, ev.code[idx], ev.date[idx], ev.shoribi[idx], 1, ev.addr[idx], ev.uji[idx], idx)

    # the old municipality records its former resident as 住登外者 at the new address
    j = np.flatnonzero(movein)
    person = ev.person[j]
    day = np.minimum(ev.date[j] + rng.integers(0, 15, len(j)), kijunbi)
    d.add_rows(first_rec[person], JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, ev.addr[j], ev.uji[j])
    return first_rec


def _elsewhere_records(
    rng: np.random.Generator, d: Draft, p: Persons, s: Story, ev: Events, n_gen: int, kijunbi: int
) -> None:
    """住登外者 who live elsewhere (e.g. taxpayers owning land here): every outside person,
    and some residents of another generated municipality. A namesake is known where the
    resident whose name she shares is registered."""
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
    namesake = p.namesake_of[who] >= 0
    where[namesake] = p.home[p.namesake_of[who[namesake]]]
    clash = where == ev.muni[j]
    if n_gen > 1:
        where[clash] = (where[clash] + rng.integers(1, n_gen, int(clash.sum()))) % n_gen
    else:
        who, day, j, where = who[~clash], day[~clash], j[~clash], where[~clash]
    ids = d.add_records(where, who, ELSEWHERE, rng.random(len(who)) < 0.5, np.full(len(who), -1))
    d.add_rows(ids, JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, ev.addr[j], ev.uji[j])

    # some municipalities update the record when they learn of a later move or name change
    last = np.searchsorted(ev.person, who, side="right") - 1
    changed = (ev.date[last] > day) & ((ev.addr[last] != ev.addr[j]) | (ev.uji[last] != ev.uji[j]))
    upd = np.flatnonzero(changed & (rng.random(len(who)) < 0.6))
    later = np.minimum(ev.date[last[upd]] + rng.integers(0, 61, len(upd)), kijunbi)
    d.add_rows(ids[upd], JUTOGAI_HENKO, later, _late(rng, later, kijunbi), 2, ev.addr[last[upd]], ev.uji[last[upd]])


def _dv_records(
    rng: np.random.Generator,
    d: Draft,
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
    ok &= p.namesake_of < 0
    who = pick(rng, np.flatnonzero(ok), DV_RATE, minimum=1, base=residents)
    where = rng.integers(0, n_gen, len(who))
    clash = where == p.home[who]
    if n_gen > 1:
        where[clash] = (where[clash] + rng.integers(1, n_gen, int(clash.sum()))) % n_gen
    day = uniform_days(rng, np.maximum(s.entry[who], kijunbi - int(2 * YEAR)), np.full(len(who), kijunbi))
    hidden = draw_addresses(rng, towns, where, n_buildings)
    j = state_at(ev, who, day)
    ids = d.add_records(where, who, DV, rng.random(len(who)) < 0.8, np.full(len(who), -1))
    d.add_rows(ids, JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, addr_offset + np.arange(len(who)), ev.uji[j])
    return who, ids, day, hidden


def _duplicates(rng: np.random.Generator, d: Draft, p: Persons, s: Story, ev: Events, n_gen: int, kijunbi: int) -> None:
    """住登外者 registered a second time, at least a month after the first registration: in
    the same municipality (the clerk's search missed the record) or in another generated one.
    The new record holds the person's state on its own registration day."""
    rows = d.rows
    reg = np.full(d.n_records, kijunbi + 1, dtype=np.int64)
    toroku = rows["code"] == JUTOGAI_TOROKU
    np.minimum.at(reg, rows["record"][toroku], rows["idobi"][toroku])
    person = d.rec["person"]
    kind = d.rec["kind"]
    lo = reg + 30
    hi = np.where(s.dead[person], s.end[person] - 1, kijunbi)
    ok = np.isin(kind, (FORMER, ELSEWHERE)) & (p.namesake_of[person] < 0) & (lo <= hi)
    cand = np.flatnonzero(ok)
    for same, rate in ((True, DUPLICATE_RATE), (False, DUPLICATE_ELSEWHERE_RATE)):
        if not same and n_gen < 2:
            continue
        # people in the lake's 住基 and people living outside (who can only be linked to their
        # other 住登外者 records) alike
        outside = p.home[person[cand]] >= n_gen
        src = np.concatenate([pick(rng, cand[outside], rate, minimum=1), pick(rng, cand[~outside], rate, minimum=1)])
        day = uniform_days(rng, lo[src], hi[src])
        who = person[src]
        j = state_at(ev, who, day)
        where = d.rec["muni"][src] if same else (d.rec["muni"][src] + rng.integers(1, n_gen, len(src))) % n_gen
        fine = where != ev.muni[j]  # a 住登外者 does not live in the municipality
        src, day, who, j, where = src[fine], day[fine], who[fine], j[fine], where[fine]
        ids = d.add_records(where, who, ELSEWHERE, rng.random(len(src)) < 0.5, np.full(len(src), -1), src)
        d.rec["labels"][ids] |= BIT["duplicate"]
        d.add_rows(ids, JUTOGAI_TOROKU, day, _late(rng, day, kijunbi), 2, ev.addr[j], ev.uji[j])


def _new_surnames(
    rng: np.random.Generator, d: Draft, pools: NamePools, p: Persons, s: Story, ev: Events, kijunbi: int
) -> None:
    """A 住登外者情報変更 row with a new surname on some 住登外者 records of women who never
    married in 住基: the 宛名 learnt of a marriage before the 住基 recorded it."""
    married = np.zeros(len(p), dtype=bool)
    married[ev.person[ev.code == SHIMEI_HENKO]] = True
    namesake = p.namesake_of >= 0
    namesake[p.namesake_of[namesake]] = True
    age = (kijunbi - p.birth) / YEAR
    woman = (p.sex == 2) & (p.foreign < 0) & (p.fusho < 0) & (age >= 20) & (age < 50) & ~s.dead
    woman &= ~married & ~namesake
    person = d.rec["person"]
    ok = (d.rec["kind"] == ELSEWHERE) & woman[person]
    last = d.last_rows(ok)
    last_day = np.where(ok, d.rows["idobi"][last], kijunbi)
    ok &= last_day < kijunbi - 30
    chosen = pick(rng, np.flatnonzero(ok), NEW_SURNAME_RATE, minimum=1)
    day = uniform_days(rng, np.maximum(last_day[chosen] + 1, kijunbi - 180), np.full(len(chosen), kijunbi))
    old = d.rows["uji"][last[chosen]]
    new = rng.choice(pools.n_uji_base, size=len(chosen), p=pools.uji_weights)
    same = new == pools.uji_base[old]
    new[same] = (new[same] + 1) % pools.n_uji_base
    d.add_rows(chosen, JUTOGAI_HENKO, day, _late(rng, day, kijunbi), 2, d.rows["addr"][last[chosen]], new)
    d.rec["labels"][chosen] |= BIT["new_surname"]


@dataclass(frozen=True)
class NumberedRecords:
    """Records after 宛名番号 are assigned, before the clerks' spellings (``clerks``)."""

    muni: np.ndarray
    number: np.ndarray
    person: np.ndarray
    kind: np.ndarray
    kojin_known: np.ndarray
    sansho_fuka: np.ndarray
    dup_of: np.ndarray
    juminhyokodo: np.ndarray
    injected: np.ndarray
    labels: np.ndarray


def _number_records(d: Draft, first_day: np.ndarray, rng: np.random.Generator) -> NumberedRecords:
    """宛名番号 per municipality in order of registration, as a municipality issues them."""
    muni = d.rec["muni"]
    order = np.lexsort((np.arange(len(muni)), first_day, muni))
    number = np.empty(len(muni), dtype=np.int64)
    number[order] = rank_in_segment(segment_starts(muni[order]))
    return NumberedRecords(
        muni=muni,
        number=number,
        person=d.rec["person"],
        kind=d.rec["kind"],
        kojin_known=d.rec["kojin_known"].astype(bool),
        sansho_fuka=rng.random(len(muni)) < SANSHO_FUKA_RATE,
        dup_of=d.rec["dup_of"],
        juminhyokodo=d.rec["juminhyokodo"],
        injected=d.rec["injected"],
        labels=d.rec["labels"],
    )


@dataclass(frozen=True)
class SortedRows:
    """Rows in file order, before the clerks' spellings."""

    record: np.ndarray
    code: np.ndarray
    idobi: np.ndarray
    shoribi: np.ndarray
    jutokubun: np.ndarray
    addr: np.ndarray
    uji: np.ndarray
    rireki: np.ndarray


def _sort_rows(rows: dict[str, np.ndarray], rec: NumberedRecords) -> SortedRows:
    """All 宛名 rows in file order with 履歴番号, 処理日 non-decreasing along them."""
    r = rows["record"]
    order = np.lexsort((rows["prio"], rows["idobi"], rec.number[r], rec.muni[r]))
    col = {k: v[order] for k, v in rows.items()}
    starts = segment_starts(col["record"])
    return SortedRows(
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


def draft_records(
    rng: np.random.Generator,
    pools: NamePools,
    towns: Towns,
    p: Persons,
    s: Story,
    ev: Events,
    addresses: Addresses,
    n_gen: int,
    residents: int,
    kijunbi: int,
    n_buildings: int,
) -> tuple[Draft, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], Addresses]:
    """Every 宛名 record of the generated municipalities with its history, not yet numbered.

    Returns the draft, the person → first 住登者 record map, the DV victims (person, record,
    registration day) and all addresses (the events', then the DV victims' actual ones).
    """
    d = new_draft()
    home_rec = _resident_records(rng, d, p, s, ev, n_gen, kijunbi)
    _elsewhere_records(rng, d, p, s, ev, n_gen, kijunbi)
    dv_person, dv_rec, dv_day, hidden = _dv_records(
        rng, d, towns, p, s, ev, n_gen, residents, kijunbi, n_buildings, len(addresses)
    )
    _duplicates(rng, d, p, s, ev, n_gen, kijunbi)
    _new_surnames(rng, d, pools, p, s, ev, kijunbi)
    return d, home_rec, (dv_person, dv_rec, dv_day), Addresses.concat([addresses, hidden])


def number_records(rng: np.random.Generator, d: Draft) -> tuple[NumberedRecords, SortedRows, np.ndarray]:
    """宛名番号 for the draft's records and its rows in file order; also each record's first
    異動日."""
    first_day = np.full(d.n_records, np.iinfo(np.int64).max)
    np.minimum.at(first_day, d.rows["record"], d.rows["idobi"])
    rec = _number_records(d, first_day, rng)
    return rec, _sort_rows(d.rows, rec), first_day
