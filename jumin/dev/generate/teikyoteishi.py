"""提供停止の申出 (opt-out registry) rows: a small share of residents, and of 住登外者 living
elsewhere, ask that their data no longer be provided to one service or to every service that
allows opting out; some withdrew (撤回日), a few of those filed again later."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jumin.dev.generate.arrays import pick, uniform_days
from jumin.dev.generate.dates import YEAR
from jumin.dev.generate.history import Story
from jumin.dev.generate.records import ELSEWHERE, JUTOSHA, AtenaModel

OPT_OUT_RATE = 0.03
#: of the 住登外者 records of persons living elsewhere (at least one): filed where they are not
#: registered
ELSEWHERE_OPT_OUT_RATE = 0.1
WITHDRAWN_RATE = 0.3
REFILED_RATE = 0.3  # of the withdrawn: a new 申出 after the 撤回
#: 提供先 written: every service that allows opting out, or the example contract that does
#: (load/deliver/contracts/kenko_annai.yaml; the generator cannot read contracts, a test holds
#: the two equal)
TARGETS = ("*", "kenko_annai")
#: staff who took the 申出 (受付者)
CLERKS = ("住民課　佐藤", "住民課　田中", "健康推進課　鈴木", "市民窓口課　高橋")
#: no 撤回日 (the item is left empty)
NO_DAY = -1


@dataclass(frozen=True)
class OptOutRows:
    """提供停止の申出 rows, sorted by (municipality, 宛名番号, 提供先, 申出日)."""

    record: np.ndarray
    #: index into TARGETS
    target: np.ndarray
    moshide: np.ndarray
    #: NO_DAY where not withdrawn
    tekkai: np.ndarray
    clerk: np.ndarray


def make_optouts(rng: np.random.Generator, atena: AtenaModel, s: Story, kijunbi: int) -> OptOutRows:
    """Opt-outs among the living persons' 住登者 records and 住登外者 records of persons living
    elsewhere (filed where they are not registered: delivery must follow them to the 住登者
    record), each filed within the last three years."""
    rec = atena.records
    alive = ~s.dead[rec.person]
    residents = pick(rng, np.flatnonzero((rec.kind == JUTOSHA) & alive), OPT_OUT_RATE, minimum=2)
    elsewhere = pick(rng, np.flatnonzero((rec.kind == ELSEWHERE) & alive), ELSEWHERE_OPT_OUT_RATE, minimum=1)
    chosen = np.sort(np.concatenate([residents, elsewhere]))
    n = len(chosen)
    target = rng.integers(0, len(TARGETS), n)
    first = np.minimum(np.maximum(atena.first_day[chosen], kijunbi - int(3 * YEAR)), kijunbi)
    moshide = uniform_days(rng, first, np.full(n, kijunbi))
    withdrawn = rng.random(n) < WITHDRAWN_RATE
    withdrawn[: min(n, 1)] = True  # at least one withdrawal in every population
    tekkai = np.where(withdrawn, uniform_days(rng, moshide, np.full(n, kijunbi)), NO_DAY)
    again = withdrawn & (tekkai < kijunbi) & (rng.random(n) < REFILED_RATE)
    refiled = uniform_days(rng, tekkai[again] + 1, np.full(int(again.sum()), kijunbi))
    record = np.concatenate([chosen, chosen[again]])
    targets = np.concatenate([target, target[again]])
    days = np.concatenate([moshide, refiled])
    ends = np.concatenate([tekkai, np.full(len(refiled), NO_DAY)])
    clerk = rng.integers(0, len(CLERKS), len(record))
    order = np.lexsort((days, targets, rec.number[record], rec.muni[record]))
    return OptOutRows(record[order], targets[order], days[order], ends[order], clerk[order])
