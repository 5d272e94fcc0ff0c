"""Households (世帯): who lives with whom, the 世帯番号 and every member's 続柄 to the 世帯主.

Households are formed once, from the 住登者 records of each municipality as they stand on the
基準日, and written on every 住登者 row of a record (the household is stable: no 世帯変更 rows).
Shapes follow Japan's census roughly (docs/generator.md has the figures): over a third of
households are single persons, then couples, couples with children, single parents, three
generations (the 世帯主's parents, or a married son with his wife and children), and now and
then a 同居人 or 縁故者.

Members attach to a *unit* (a single adult, or a married couple): children to a unit whose
younger partner is 18–45 years older (at most ``MAX_CHILDREN`` unless no other unit fits), a
父/母 to a unit whose older partner is 22–45 years younger, a young couple to the unit of the
husband's parents (子 and 子の妻, their children 子の子). A record no longer present on the
基準日 (dead, moved away) is never a 世帯主 of anyone but itself: a minor joins a family as
子, an adult keeps a household of one, so no household of the 基準日 is left without its
世帯主. 住登外者 rows carry no household.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jumin.dev.generate.arrays import rank_in_segment, segment_starts, uniform_days
from jumin.dev.generate.dates import YEAR
from jumin.dev.generate.persons import Persons

#: the 続柄 the generator writes (``Households.zokugara`` indexes this)
ZOKUGARA = ("世帯主", "妻", "夫", "子", "父", "母", "子の妻", "子の夫", "子の子", "同居人", "縁故者")
HEAD, TSUMA, OTTO, KO, CHICHI, HAHA, KO_NO_TSUMA, KO_NO_OTTO, KO_NO_KO, DOKYONIN, ENKOSHA = range(len(ZOKUGARA))

# Rates (shares of the present persons of the group named)
ADULT_CHILD_RATE = ((18, 30, 0.55), (30, 45, 0.15))  # (from age, to age, share) still living as 子
#: share married and living with the spouse, by age from
MARRIED_RATE = ((22, 0.35), (30, 0.72), (40, 0.78), (65, 0.72), (80, 0.45))
HUSBAND_HEAD_RATE = 0.85  # of couples: the husband is 世帯主 (else the wife, and he is 夫)
NESTED_COUPLE_RATE = 0.08  # of couples with a husband 25–45: living with his parents
ELDER_RATE = 0.12  # of persons 75+ not living with a spouse: 父/母 in a child's household
DOKYONIN_RATE = 0.004  # of adults
ENKOSHA_RATE = 0.002
#: where a minor joins: a couple, a single parent, a young couple living with its parents (子の子)
MINOR_TO_COUPLE, MINOR_TO_SINGLE = 0.83, 0.12
ADULT_CHILD_TO_COUPLE = 0.85
WINDOW = 3  # years around a drawn age gap within which a parent is chosen
MAX_CHILDREN = 4  # of one couple or single parent, unless no other unit fits


@dataclass(frozen=True)
class Households:
    """Per 宛名 record: its household (-1: none), the 世帯番号 (1.. inside the municipality;
    -1: none) and the 続柄 (index into ``ZOKUGARA``; -1: none)."""

    household: np.ndarray
    number: np.ndarray
    zokugara: np.ndarray


def _span(births: np.ndarray) -> int:
    return int(births.max() - births.min()) + 1 if len(births) else 1


def _attach(
    rng: np.random.Generator,
    muni: np.ndarray,
    birth: np.ndarray,
    anchor_muni: np.ndarray,
    anchor_birth: np.ndarray,
    lo: float,
    hi: float,
    lo_key: int,
    span: int,
) -> np.ndarray:
    """For every joiner, an anchor (index) of the same municipality born ``lo``..``hi`` years
    before it (negative years: after it): drawn uniformly among the anchors born within
    ``WINDOW`` years of a random day of that range, so gaps spread over the range and
    anchors share joiners evenly; -1 if none."""
    if not len(muni) or not len(anchor_muni):
        return np.full(len(muni), -1, dtype=np.int64)
    keys = anchor_muni * span + (anchor_birth - lo_key)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    low, high = np.sort([birth - int(hi * YEAR), birth - int(lo * YEAR)], axis=0)
    target = uniform_days(rng, low, high)
    w = int(WINDOW * YEAR)
    first = np.clip(np.maximum(target - w, low), lo_key, lo_key + span - 1) - lo_key
    last = np.clip(np.minimum(target + w, high), lo_key, lo_key + span - 1) - lo_key
    a = np.searchsorted(sorted_keys, muni * span + first, side="left")
    b = np.searchsorted(sorted_keys, muni * span + last, side="right")
    chosen = a + (rng.random(len(muni)) * (b - a)).astype(np.int64)
    found: np.ndarray = np.where(b > a, order[np.minimum(chosen, len(order) - 1)], -1)
    return found


def _beyond(unit: np.ndarray, cap: int) -> np.ndarray:
    """True for the members of a unit (-1: none) after its first ``cap``, in index order."""
    order = np.argsort(unit, kind="stable")
    rank = np.empty(len(unit), dtype=np.int64)
    rank[order] = rank_in_segment(segment_starts(unit[order]))
    return (unit >= 0) & (rank > cap)


def _by_age(age: np.ndarray, table: tuple[tuple[int, float], ...]) -> np.ndarray:
    """The rate of each age from a (from age, rate) table (0 below the first)."""
    froms = np.array([a for a, _ in table])
    rates = np.array([0.0, *(r for _, r in table)])
    return rates[np.searchsorted(froms, age, side="right")]


def make_households(
    rng: np.random.Generator,
    p: Persons,
    muni: np.ndarray,
    person: np.ndarray,
    row_record: np.ndarray,
    row_jutokubun: np.ndarray,
    row_code: np.ndarray,
    kijunbi: int,
) -> Households:
    """Households of the 住登者 records (``muni``, ``person`` per record; rows sorted by record
    and 履歴番号 with their 住登区分 and 異動事由)."""
    n_rec = len(muni)
    has = np.zeros(n_rec, dtype=bool)
    has[row_record[row_jutokubun == 1]] = True
    last = np.zeros(n_rec, dtype=np.int64)
    last[row_record] = np.arange(len(row_record))
    present = has & (row_jutokubun[last] == 1) & (row_code[last] // 10 != 2)
    rec = np.flatnonzero(has)
    n = len(rec)
    m, birth, sex = muni[rec], p.birth[person[rec]], p.sex[person[rec]]
    here = present[rec]
    age = (kijunbi - birth) / YEAR
    lo_key = int(birth.min()) - int(100 * YEAR) if n else 0
    span = _span(np.concatenate([birth, [lo_key, kijunbi]])) if n else 1
    role = np.full(n, HEAD, dtype=np.int64)  # HEAD: a unit's primary for now
    u = rng.random(n)
    minor = age < 18
    role[minor] = KO
    adult_child = np.zeros(n, dtype=bool)
    for a0, a1, rate in ADULT_CHILD_RATE:
        adult_child |= here & (age >= a0) & (age < a1) & (u < rate)
    role[adult_child] = KO
    free = here & ~minor & ~adult_child
    v = rng.random(n)
    role[free & (v < DOKYONIN_RATE)] = DOKYONIN
    role[free & (v >= DOKYONIN_RATE) & (v < DOKYONIN_RATE + ENKOSHA_RATE)] = ENKOSHA
    free &= role == HEAD
    married = free & (sex > 0) & (rng.random(n) < _by_age(age, MARRIED_RATE))

    # couples: married men and women of a municipality paired by rank of age
    def ranked(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.flatnonzero(mask)
        idx = idx[np.lexsort((birth[idx], m[idx]))]
        return idx, m[idx] * (n + 1) + rank_in_segment(segment_starts(m[idx]))

    men, men_key = ranked(married & (sex == 1))
    women, women_key = ranked(married & (sex == 2))
    pos = np.clip(np.searchsorted(women_key, men_key), 0, max(len(women) - 1, 0))
    paired = (pos < len(women)) & (women_key[pos] == men_key) if len(women) else np.zeros(len(men), dtype=bool)
    husband, wife = men[paired], women[pos[paired]]
    husband_head = rng.random(len(husband)) < HUSBAND_HEAD_RATE
    head = np.where(husband_head, husband, wife)
    partner = np.where(husband_head, wife, husband)
    role[partner] = np.where(husband_head, TSUMA, OTTO)
    younger = np.maximum(birth[husband], birth[wife])
    older = np.minimum(birth[husband], birth[wife])

    # young couples living with the husband's parents: 子 and 子の妻
    h_age = age[husband]
    nested = (h_age >= 25) & (h_age < 45) & (rng.random(len(husband)) < NESTED_COUPLE_RATE)
    single = np.flatnonzero(free & (role == HEAD))
    single = single[~np.isin(single, husband) & ~np.isin(single, wife)]
    elder = single[(age[single] >= 75) & (rng.random(len(single)) < ELDER_RATE)]
    single = single[~np.isin(single, elder)]

    # the unit (its primary record) each member belongs to; units of one's own: itself
    unit = np.arange(n)
    unit[partner] = head
    top_couple = ~nested
    # anchors: top couples (by the younger partner's birth for children, the older one's for
    # elders), singles, nested couples
    tc_head, tc_young, tc_old = head[top_couple], younger[top_couple], older[top_couple]
    nc_head, nc_young, nc_old = head[nested], younger[nested], older[nested]

    def attach(joiners: np.ndarray, heads: np.ndarray, anchor: np.ndarray, lo: float, hi: float) -> np.ndarray:
        found = _attach(rng, m[joiners], birth[joiners], m[heads], anchor, lo, hi, lo_key, span)
        if not len(heads):
            return found
        return np.where(found >= 0, heads[np.maximum(found, 0)], -1)

    # nested couples join the household of the husband's parents (their older partner is
    # 20–45 years younger than the parents' younger one)
    nest_parent = _attach(rng, m[nc_head], nc_old, m[tc_head], tc_young, 20, 45, lo_key, span)
    nest_parent[_beyond(nest_parent, 1)] = -1  # one married child living with the parents
    ok = nest_parent >= 0
    nested_heads = nc_head[ok]
    nc_young = nc_young[ok]
    nested_husband = husband[nested][ok]
    nested_wife = wife[nested][ok]
    unit[nested_husband] = tc_head[nest_parent[ok]]
    unit[nested_wife] = tc_head[nest_parent[ok]]
    role[nested_husband] = KO
    role[nested_wife] = KO_NO_TSUMA
    # a nested couple whose parents were not found stays a household of its own
    tc_head = np.concatenate([tc_head, nc_head[~ok]])
    tc_young = np.concatenate([tc_young, younger[nested][~ok]])
    tc_old = np.concatenate([tc_old, older[nested][~ok]])

    # children: adult children (present) and minors (present or not); departed adults keep a
    # household of their own (role HEAD, unit itself)
    kids = np.flatnonzero(role == KO)
    kids = kids[~np.isin(kids, nested_husband)]
    w = rng.random(len(kids))
    is_minor = minor[kids]
    to_couple = np.where(is_minor, w < MINOR_TO_COUPLE, w < ADULT_CHILD_TO_COUPLE)
    to_single = ~to_couple & np.where(is_minor, w < MINOR_TO_COUPLE + MINOR_TO_SINGLE, True)
    to_nested = ~to_couple & ~to_single
    s_heads = single  # present adults living without a spouse
    s_birth = birth[s_heads]
    lo_years = np.where(is_minor, 18, 20)
    parent = np.full(len(kids), -1, dtype=np.int64)
    for lo in (18, 20):
        sel = lo_years == lo
        for mask, heads, anchor in (
            (to_couple, tc_head, tc_young),
            (to_single, s_heads, s_birth),
            (to_nested, nested_heads, nc_young),
        ):
            j = np.flatnonzero(sel & mask)
            parent[j] = attach(kids[j], heads, anchor, lo, 45)
    # children beyond MAX_CHILDREN of one unit (where few units fit their age) and children
    # without a unit try again with any couple, then any single parent
    for heads, anchor in ((tc_head, tc_young), (tc_head, tc_young), (s_heads, s_birth)):
        j = np.flatnonzero((parent < 0) | _beyond(parent, MAX_CHILDREN))
        parent[j] = attach(kids[j], heads, anchor, 18, 50)
    grandchild = np.isin(parent, nested_heads)
    role[kids[grandchild]] = KO_NO_KO
    unit[kids] = np.where(parent >= 0, unit[np.maximum(parent, 0)], kids)
    orphan = kids[parent < 0]
    role[orphan] = HEAD

    # parents of the 世帯主 (older than both partners)
    heads_all = np.concatenate([tc_head, s_heads])
    old_all = np.concatenate([tc_old, s_birth])
    found = _attach(rng, m[elder], birth[elder], m[heads_all], old_all, -45, -22, lo_key, span)
    ok = found >= 0
    unit[elder[ok]] = heads_all[found[ok]]
    role[elder[ok]] = np.where(sex[elder[ok]] == 2, HAHA, CHICHI)
    role[elder[~ok]] = HEAD

    # 同居人 and 縁故者: any household of the municipality
    for r in (DOKYONIN, ENKOSHA):
        j = np.flatnonzero(role == r)
        if not len(heads_all):
            role[j] = HEAD
            continue
        order = np.argsort(m[heads_all], kind="stable")
        hm = m[heads_all][order]
        lo_i, hi_i = np.searchsorted(hm, m[j], "left"), np.searchsorted(hm, m[j], "right")
        has_any = hi_i > lo_i
        pick_i = lo_i + (rng.random(len(j)) * (hi_i - lo_i)).astype(np.int64)
        chosen = heads_all[order[np.minimum(pick_i, len(order) - 1)]]
        unit[j[has_any]] = chosen[has_any]
        role[j[~has_any]] = HEAD

    # the household is the unit's own unit (nested couples already point to the parents)
    household = unit[unit]
    is_head = household == np.arange(n)
    role[is_head] = HEAD
    # 世帯番号 in order of the 世帯主's record inside each municipality
    heads_rec = np.flatnonzero(is_head)
    order = heads_rec[np.lexsort((rec[heads_rec], m[heads_rec]))]
    number_of = np.zeros(n, dtype=np.int64)
    number_of[order] = rank_in_segment(segment_starts(m[order]))
    out_household = np.full(n_rec, -1, dtype=np.int64)
    out_number = np.full(n_rec, -1, dtype=np.int64)
    out_zoku = np.full(n_rec, -1, dtype=np.int64)
    out_household[rec] = rec[household]
    out_number[rec] = number_of[household]
    out_zoku[rec] = role
    return Households(out_household, out_number, out_zoku)
