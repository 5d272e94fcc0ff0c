"""Discrepancies between 住登者 宛名 records and the 住基, injected for reconciliation to find.

Each kind is injected into its own records (never two kinds into one record), at a share of
the 住登者 present in 住基 on the 基準日 (exact counts, at least one, so a small sample
shows every kind):

- D001 住基では消除済み: the 宛名 missed a 死亡 (the row is not there) or a 国内転出 (the
  former resident's record keeps its 住登者 rows and never got its 転出 and 住登外者登録 rows);
- D002 住民票コードが住基にない: the code was mistyped, one digit wrong (the check digit then
  almost always fails) or a different code that passes the check digit, never one in 住基;
- D003 氏名不一致: another 名, or a really different 氏 (the same reading in other kanji,
  斎藤/斉藤, else a surname sharing a kanji), never a 異体字 of the name (``clerks``);
- D004 生年月日不一致: a day or two off, a year off, or day and month swapped (``clerks``);
- D005 性別不一致: 男 and 女 swapped (``clerks``);
- D006 住所不一致: the 宛名 missed the person's latest 転居 (the row is not there);
- D007 住基の住民が宛名にない: the 住登者 record was never made.

A D002 also leaves its 住基 person without a 宛名 carrying the code: reconciliation finds that
person as D007 too (the ground truth lists it, ``caused_by`` D002).
"""

from __future__ import annotations

import numpy as np

from jumin.dev.generate.arrays import pick, with_check_digit
from jumin.dev.generate.history import JUTOGAI_TOROKU, SHIBO, SHUSSEI, TENKYO, TENSHUTSU, Events, Story
from jumin.dev.generate.persons import Persons
from jumin.dev.generate.records import BIT, FORMER, JUTOSHA, Draft

#: shares of the 住登者 present in 住基 on the 基準日
D001_RATE = 0.005
D002_RATE = 0.003
D003_RATE = 0.004
D004_RATE = 0.003
D005_RATE = 0.003
D006_RATE = 0.005
D007_RATE = 0.003
#: injected-kind numbers of ``Records.injected``
D001, D002, D003, D004, D005, D006, D007 = range(1, 8)
_JUMINHYOKODO_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def mistyped_codes(rng: np.random.Generator, codes: np.ndarray, known: np.ndarray) -> np.ndarray:
    """A wrong 住民票コード for each of ``codes``: half with one digit replaced, half another
    code with a valid check digit; none in ``known`` and no two alike."""
    n = len(codes)
    out = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    known = np.sort(known)
    for _ in range(50):
        if not len(todo):
            break
        k = len(todo)
        place = 10 ** (10 - rng.integers(0, 11, k))
        digit = (codes[todo] // place) % 10
        one_digit = codes[todo] + ((digit + rng.integers(1, 10, k)) % 10 - digit) * place
        other = with_check_digit(rng.integers(0, 10**10, k), 10, _JUMINHYOKODO_WEIGHTS)
        out[todo] = np.where(rng.random(k) < 0.5, one_digit, other)
        _, first = np.unique(out, return_index=True)
        repeated = np.ones(n, dtype=bool)
        repeated[first] = False
        at = np.minimum(np.searchsorted(known, out), len(known) - 1)
        todo = np.flatnonzero((known[at] == out) | repeated)
    if len(todo):
        raise RuntimeError("could not draw distinct mistyped 住民票コード")
    return out


def inject(rng: np.random.Generator, d: Draft, p: Persons, s: Story, ev: Events, dv_person: np.ndarray) -> np.ndarray:
    """Inject D001–D007 into the draft (rows and records dropped, codes and kinds changed,
    ``injected`` and ``labels`` set); returns the old → new record id map (-1: dropped)."""
    rec, rows = d.rec, d.rows
    n_rec = d.n_records
    person = rec["person"]
    last_ev = np.searchsorted(ev.person, np.arange(len(p)), side="right") - 1
    last_code = ev.code[last_ev]
    ended = last_code // 10 == 2  # the latest 異動 is a 消除
    # the row copying each person's latest 異動, and the record holding it
    event = rows["event"]
    is_last = (event >= 0) & (event == last_ev[ev.person[np.maximum(event, 0)]])
    current = np.zeros(n_rec, dtype=bool)
    current[rows["record"][is_last]] = True
    dv = np.zeros(len(p), dtype=bool)
    dv[dv_person] = True
    current &= (rec["kind"] == JUTOSHA) & ~dv[person]
    present = current & ~ended[person]
    born_here = np.zeros(n_rec, dtype=bool)
    born_here[rows["record"][rows["code"] == SHUSSEI]] = True
    dup_source = np.zeros(n_rec, dtype=bool)
    dup_source[rec["dup_of"][rec["dup_of"] >= 0]] = True

    base = int(present.sum())
    taken = np.zeros(n_rec, dtype=bool)
    keep_rec = np.ones(n_rec, dtype=bool)
    keep_row = np.ones(len(event), dtype=bool)

    def choose(candidates: np.ndarray, rate: float, kind: int) -> np.ndarray:
        chosen = pick(rng, np.flatnonzero(candidates & ~taken), rate, minimum=1, base=base)
        taken[chosen] = True
        rec["injected"][chosen] = kind
        if kind != D007:
            rec["labels"][chosen] |= BIT[f"D00{kind}"]
        return chosen

    died = current & (last_code[person] == SHIBO)
    moved = (rec["kind"] == FORMER) & (rec["labels"] == 0) & ~dup_source
    chosen = choose(died | moved, D001_RATE, D001)
    gone = np.zeros(n_rec, dtype=bool)
    gone[chosen[died[chosen]]] = True
    keep_row &= ~(is_last & gone[rows["record"]])  # the 死亡 row never reached the 宛名
    stale = chosen[moved[chosen]]
    missed = np.zeros(n_rec, dtype=bool)
    missed[stale] = True
    keep_row &= ~(missed[rows["record"]] & np.isin(rows["code"], (TENSHUTSU, JUTOGAI_TOROKU)))
    rec["kind"][stale] = JUTOSHA  # still a 住登者 in the 宛名

    keep_rec[choose(present & (s.move_date[person] < 0), D007_RATE, D007)] = False
    tenkyo = np.zeros(n_rec, dtype=bool)
    tenkyo[choose(present & (last_code[person] == TENKYO), D006_RATE, D006)] = True
    keep_row &= ~(is_last & tenkyo[rows["record"]])  # the 転居 row never reached the 宛名
    wrong = choose(present, D002_RATE, D002)
    rec["juminhyokodo"][wrong] = mistyped_codes(rng, rec["juminhyokodo"][wrong], p.juminhyokodo)
    choose(present & (p.foreign[person] < 0), D003_RATE, D003)
    choose(present & (p.fusho[person] < 0) & ~born_here, D004_RATE, D004)
    choose(present & (p.sex[person] > 0), D005_RATE, D005)
    return d.keep(keep_rec, keep_row)
