"""Life stories and the 異動 history they produce.

A person enters (出生, 国内転入 or 国外転入), may 転居 within the municipality, change surname
on marriage (氏名変更), move to another generated municipality (国内転出 there, 国内転入 here)
and die (死亡). Every event carries the address, surname and municipality in force after it,
and a 処理日 on or after its 異動日.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jumin.dev.generate.addresses import Addresses, Towns, draw_addresses
from jumin.dev.generate.arrays import (
    cummax_in_segment,
    forward_fill_index,
    pick,
    rank_in_segment,
    segment_starts,
    uniform_days,
)
from jumin.dev.generate.dates import FOREIGN_REGISTRATION_START, YEAR, to_days
from jumin.dev.generate.names import NamePools
from jumin.dev.generate.persons import Persons

DEATH_RATE = 0.01
MOVE_RATE = 0.03  # 国内転出 to another generated municipality
TENKYO_MEAN = 0.45  # 転居 per person (Poisson, at most 3)
MARRIAGE_RATE = 0.05  # of adult Japanese women: 氏名変更 to the spouse's surname
LATE_RATE = 0.15  # changes recorded 1–14 days after they took effect

# 異動事由 codes (jumin.core.layouts.IDOJIYU) and their order on one day
SHUSSEI, TENNYU, KOKUGAI_TENNYU, JUTOGAI_TOROKU = 10, 11, 12, 15
SHIBO, TENSHUTSU = 20, 21
TENKYO, SHIMEI_HENKO, JUTOGAI_HENKO = 30, 32, 35
# (a 転居 on the moving day happens before the 転出; death ends the day)
PRIO = np.zeros(100, dtype=np.int64)
for _code, _prio in (
    (SHUSSEI, 0),
    (KOKUGAI_TENNYU, 0),
    (TENKYO, 2),
    (SHIMEI_HENKO, 2),
    (TENSHUTSU, 3),
    (TENNYU, 4),
    (SHIBO, 9),
    (JUTOGAI_TOROKU, 10),
    (JUTOGAI_HENKO, 11),
):
    PRIO[_code] = _prio


@dataclass(frozen=True)
class Story:
    """When each person entered, moved and ended (death or the 基準日)."""

    entry: np.ndarray
    end: np.ndarray
    dead: np.ndarray
    move_date: np.ndarray  # -1: no move between generated municipalities
    move_to: np.ndarray


@dataclass(frozen=True)
class Events:
    """Every 異動 of every person, sorted by (person, 異動日, order on the day)."""

    person: np.ndarray
    date: np.ndarray
    prio: np.ndarray
    code: np.ndarray
    shoribi: np.ndarray
    addr: np.ndarray
    uji: np.ndarray
    muni: np.ndarray
    #: True on each person's first event
    first_of_person: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


def make_story(rng: np.random.Generator, p: Persons, n_gen: int, kijunbi: int) -> tuple[Story, np.ndarray]:
    """Entry (出生 or 転入), death and moves between generated municipalities.

    Returns the story and the 異動事由 of each person's entry.
    """
    n = len(p)
    kij = np.full(n, kijunbi, dtype=np.int64)
    age = (kijunbi - p.birth) / YEAR
    japanese = p.foreign < 0
    foreign_start = to_days(FOREIGN_REGISTRATION_START)
    born_p = np.where(japanese, np.where(age < 40, 0.35, 0.15), np.where(p.birth >= foreign_start, 0.3, 0.0))
    born_here = (p.fusho < 0) & (rng.random(n) < born_p)
    abroad = rng.random(n) < np.where(japanese, 0.03, 0.7)
    code = np.where(born_here, SHUSSEI, np.where(abroad, KOKUGAI_TENNYU, TENNYU))
    lo = np.maximum(p.birth + 1, kijunbi - int(60 * YEAR))
    lo = np.minimum(np.where(japanese, lo, np.maximum(lo, foreign_start)), kij)
    entry = np.where(born_here, p.birth, uniform_days(rng, lo, kij))

    end = kij.copy()
    can_die = np.flatnonzero(entry < kijunbi)
    w = np.exp(age[can_die] / 12.0)  # mortality rises steeply with age
    k = min(len(can_die), max(1, round(DEATH_RATE * n)))
    died = np.sort(rng.choice(can_die, size=k, replace=False, p=w / w.sum()))
    end[died] = uniform_days(rng, entry[died] + 1, kij[died])
    dead = np.zeros(n, dtype=bool)
    dead[died] = True

    move_date = np.full(n, -1, dtype=np.int64)
    move_to = np.full(n, -1, dtype=np.int64)
    if n_gen > 1:
        movable = np.flatnonzero((p.home < n_gen) & (end - entry >= 2))
        movers = pick(rng, movable, MOVE_RATE, base=int((p.home < n_gen).sum()))
        move_date[movers] = uniform_days(rng, entry[movers] + 1, end[movers] - 1)
        move_to[movers] = (p.home[movers] + rng.integers(1, n_gen, len(movers))) % n_gen
    return Story(entry, end, dead, move_date, move_to), code


def _event_part(
    person: np.ndarray,
    date: np.ndarray,
    code: int | np.ndarray,
    muni: np.ndarray,
    sets_addr: bool,
    uji: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Columns of one kind of event; ``muni`` matters only when the event sets an address."""
    n = len(person)
    codes = np.broadcast_to(np.asarray(code, dtype=np.int64), (n,))
    return {
        "person": person,
        "date": date,
        "code": codes,
        "prio": PRIO[codes],
        "muni": muni,
        "sets_addr": np.full(n, sets_addr),
        "uji": np.full(n, -1, dtype=np.int64) if uji is None else uji,
    }


def _raw_events(
    rng: np.random.Generator, pools: NamePools, p: Persons, s: Story, entry_code: np.ndarray
) -> list[dict[str, np.ndarray]]:
    """All events, one dict of columns per kind, unsorted."""
    n = len(p)
    everyone = np.arange(n)
    parts = [_event_part(everyone, s.entry, entry_code, p.home, True, p.uji)]

    count = np.where(s.end > s.entry, np.minimum(rng.poisson(TENKYO_MEAN, n), 3), 0)
    who = np.repeat(everyone, count)
    date = uniform_days(rng, s.entry[who] + 1, s.end[who])
    moved = (s.move_date[who] >= 0) & (date > s.move_date[who])
    parts.append(_event_part(who, date, TENKYO, np.where(moved, s.move_to[who], p.home[who]), True))

    # marriage between 18 and 45, while registered here
    lo = np.maximum(s.entry + 1, p.birth + int(18 * YEAR))
    hi = np.minimum(s.end, p.birth + int(45 * YEAR))
    # namesakes and the residents they are namesakes of keep their names: the same 氏名
    namesake = p.namesake_of >= 0
    namesake[p.namesake_of[namesake]] = True
    brides = np.flatnonzero((p.sex == 2) & (p.foreign < 0) & (p.fusho < 0) & (lo <= hi) & ~namesake)
    brides = pick(rng, brides, MARRIAGE_RATE, minimum=1)
    date = uniform_days(rng, lo[brides], hi[brides])
    new_uji = rng.choice(pools.n_uji_base, size=len(brides), p=pools.uji_weights)
    same = new_uji == pools.uji_base[p.uji[brides]]
    new_uji[same] = (new_uji[same] + 1) % pools.n_uji_base
    parts.append(_event_part(brides, date, SHIMEI_HENKO, p.home[brides], False, new_uji))

    movers = np.flatnonzero(s.move_date >= 0)
    parts.append(_event_part(movers, s.move_date[movers], TENSHUTSU, p.home[movers], False))
    parts.append(_event_part(movers, s.move_date[movers], TENNYU, s.move_to[movers], True))

    died = np.flatnonzero(s.dead)
    parts.append(_event_part(died, s.end[died], SHIBO, p.home[died], False))
    return parts


def make_events(
    rng: np.random.Generator,
    pools: NamePools,
    towns: Towns,
    p: Persons,
    s: Story,
    entry_code: np.ndarray,
    kijunbi: int,
    n_buildings: int,
) -> tuple[Events, Addresses]:
    """Sorted events with the address, surname and municipality in force after each."""
    parts = _raw_events(rng, pools, p, s, entry_code)
    col = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    order = np.lexsort((col["prio"], col["date"], col["person"]))
    col = {k: v[order] for k, v in col.items()}
    n = len(order)

    sets = col["sets_addr"]
    addresses = draw_addresses(rng, towns, col["muni"][sets], n_buildings)
    addr_of = np.full(n, -1, dtype=np.int64)
    addr_of[sets] = np.arange(int(sets.sum()))
    # each person's first event (the entry) sets address and surname, so filling forward
    # never crosses from one person into the next
    addr = addr_of[forward_fill_index(sets)]
    uji = col["uji"][forward_fill_index(col["uji"] >= 0)]
    muni = towns.muni[addresses.town[addr]]

    first = segment_starts(col["person"])
    # 出生届 within 14 days; other changes mostly recorded the same day
    late = rng.random(n) < LATE_RATE
    delay = np.where(col["code"] == SHUSSEI, rng.integers(0, 15, n), np.where(late, rng.integers(1, 15, n), 0))
    shoribi = np.minimum(col["date"] + delay, kijunbi)
    shoribi = cummax_in_segment(shoribi, first)  # 履歴番号 follows the order of recording
    events = Events(col["person"], col["date"], col["prio"], col["code"], shoribi, addr, uji, muni, first)
    return events, addresses


def state_at(events: Events, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index of the event in force for ``person`` on ``day`` (the last one dated on or
    before it); ``day`` must not precede the person's entry."""
    lo = min(int(events.date.min()), int(day.min()) if len(day) else 0)
    span = max(int(events.date.max()), int(day.max()) if len(day) else 0) - lo + 1
    keys = events.person * span + (events.date - lo)
    found: np.ndarray = np.searchsorted(keys, person * span + (day - lo), side="right")
    return found - 1


def juki_rows(ev: Events, p: Persons, n_gen: int) -> tuple[np.ndarray, np.ndarray]:
    """住基 rows: every event of a person registered in a generated municipality, with
    履歴番号 per 住民票コード, in file order (municipality, 住民票コード, 履歴番号)."""
    rireki = rank_in_segment(ev.first_of_person)
    idx = np.flatnonzero(p.home[ev.person] < n_gen)
    order = np.lexsort((rireki[idx], p.juminhyokodo[ev.person[idx]], ev.muni[idx]))
    return idx[order], rireki[idx[order]]
