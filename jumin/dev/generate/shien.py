"""支援措置 (DV等支援措置) rows: 申出者, household members and DV victims, one-year terms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jumin.dev.generate.arrays import pick, segment_starts, uniform_days
from jumin.dev.generate.dates import YEAR, one_year_term_end
from jumin.dev.generate.history import Story
from jumin.dev.generate.persons import Persons
from jumin.dev.generate.records import JUTOSHA, AtenaModel

SHIEN_RATE = 0.003
SHIEN_HOUSEHOLD_RATE = 0.4  # 申出者 with a 併せて支援を求める者
SHIEN_EXTEND_RATE = 0.6


@dataclass(frozen=True)
class ShienRows:
    """支援措置 rows, sorted by (municipality, 宛名番号, 開始日)."""

    record: np.ndarray
    kubun: np.ndarray
    kaishi: np.ndarray
    shuryo: np.ndarray


def _terms(
    rng: np.random.Generator, record: np.ndarray, kubun: np.ndarray, start: np.ndarray, kijunbi: int
) -> ShienRows:
    """One-year terms from ``start``; an expired term is often extended by a new row."""
    recs, kubuns, starts, ends = [record], [kubun], [start], [one_year_term_end(start)]
    cur_rec, cur_kubun, cur_end = record, kubun, ends[0]
    for _ in range(2):
        extend = (cur_end < kijunbi) & (rng.random(len(cur_end)) < SHIEN_EXTEND_RATE)
        cur_rec, cur_kubun = cur_rec[extend], cur_kubun[extend]
        nxt = cur_end[extend] + 1
        cur_end = one_year_term_end(nxt)
        recs.append(cur_rec)
        kubuns.append(cur_kubun)
        starts.append(nxt)
        ends.append(cur_end)
    return ShienRows(np.concatenate(recs), np.concatenate(kubuns), np.concatenate(starts), np.concatenate(ends))


def make_shien(
    rng: np.random.Generator, atena: AtenaModel, p: Persons, s: Story, residents: int, kijunbi: int, n_gen: int
) -> ShienRows:
    """申出者 (with some household members) among living residents, and every DV victim in
    both the municipality she lives in and the one holding her 住民票."""
    rec, first_day = atena.records, atena.first_day
    person = rec.person
    alive_resident = (rec.kind == JUTOSHA) & ~s.dead[person] & (p.birth[person] <= kijunbi - int(18 * YEAR))
    alive_resident &= rec.injected == 0  # not a record the 住基 contradicts
    cand = np.flatnonzero(alive_resident)
    applicants = pick(rng, cand, SHIEN_RATE, minimum=1, base=residents)
    start = uniform_days(
        rng, np.maximum(first_day[applicants], kijunbi - int(3 * YEAR)), np.full(len(applicants), kijunbi)
    )

    # 併せて支援を求める者: another resident of the same municipality
    by_muni = cand[np.argsort(rec.muni[cand], kind="stable")]
    lo = np.searchsorted(rec.muni[by_muni], rec.muni[applicants], side="left")
    hi = np.searchsorted(rec.muni[by_muni], rec.muni[applicants], side="right")
    mate = by_muni[lo + (rng.random(len(applicants)) * (hi - lo)).astype(np.int64)]
    with_mate = (rng.random(len(applicants)) < SHIEN_HOUSEHOLD_RATE) & (mate != applicants)

    dv_person, dv_rec, dv_day = atena.dv
    at_home = atena.home_record[dv_person]
    home_known = (at_home >= 0) & (p.home[dv_person] < n_gen)
    record = np.concatenate([applicants, mate[with_mate], dv_rec, at_home[home_known]])
    kubun = np.concatenate(
        [
            np.ones(len(applicants), dtype=np.int64),
            np.full(int(with_mate.sum()), 2),
            np.ones(len(dv_rec), dtype=np.int64),
            np.ones(int(home_known.sum()), dtype=np.int64),
        ]
    )
    begin = np.concatenate([start, start[with_mate], dv_day, dv_day[home_known]])
    terms = _terms(rng, record, kubun, begin, kijunbi)
    order = np.lexsort((terms.kaishi, rec.number[terms.record], rec.muni[terms.record]))
    keep = segment_starts(terms.record[order] * (1 << 20) + terms.kaishi[order])
    order = order[keep]  # one row per (宛名番号, 開始日)
    return ShienRows(terms.record[order], terms.kubun[order], terms.kaishi[order], terms.shuryo[order])
