"""Persons: identity, names, sex, birth date and identifiers, drawn in bulk.

``home`` addresses municipalities by index: ``0 .. n_gen-1`` are the generated ones (they get
files), the rest are "outside" municipalities that exist only as the home of 住登外者.

The last persons are *namesakes*: people registered outside whose 氏名 and 性別 equal those of
a resident of a generated municipality and whose birth date is a few days or one year off.
They appear only as 住登外者 and must not be linked to the resident (hard negatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jumin.dev.generate.arrays import pick, unique_numbers, with_check_digit
from jumin.dev.generate.dates import YEAR, one_year_off, year_of
from jumin.dev.generate.names import COHORTS, KANJI_CULTURES, NamePools, cohort_of

# Rates (shares of persons unless stated otherwise).
OUTSIDE_RATE = 0.015  # extra persons registered outside the set, known only as 住登外者
MIN_OUTSIDE = 10
FOREIGN_RATE = 0.02
SEX_UNKNOWN_RATE = 0.0005  # 性別 0 不明
FUSHO_RATE = 0.001  # 生年月日 不詳
VARIANT_RATE = 0.01  # surname written with a 異体字
IVS_RATE = 0.002  # surname carrying an IVS
GIVEN_VARIANT_RATE = 0.03  # of names that have one: given name written with a 異体字 (惠子, 眞由美)
NAMESAKE_RATE = 0.004  # of residents: namesakes living outside (see the module docstring)
MIN_NAMESAKES = 2
NAMESAKE_DAYS = 7  # a namesake's birth date is 1..7 days off, or (half of them) one year
KOJINBANGO_RATE = 0.90
KANA_JUKI_RATE = 0.70  # 振り仮名 recorded in 住基 (2025 law; may be absent)
KANA_ATENA_RATE = 0.95
TSUSHO_RATE = 0.30  # of Korean and Chinese residents

# Age pyramid of Japan, roughly: share of persons per age 0..100 (normalised below).
_AGE_KNOTS = np.array([0, 15, 25, 45, 55, 65, 75, 85, 95, 101])
_AGE_LEVEL = np.array([0.75, 0.9, 1.05, 1.45, 1.2, 1.35, 1.0, 0.45, 0.08, 0.0])
AGE_WEIGHTS = _AGE_LEVEL[np.searchsorted(_AGE_KNOTS, np.arange(101), side="right") - 1]
AGE_WEIGHTS = AGE_WEIGHTS / AGE_WEIGHTS.sum()


@dataclass(frozen=True)
class Persons:
    """One entry per person; ``home`` is the municipality of the first 住民票."""

    home: np.ndarray
    sex: np.ndarray
    birth: np.ndarray  # approximate for 不詳 persons
    fusho: np.ndarray  # -1, or the 不詳 style 0..2
    foreign: np.ndarray  # -1 for Japanese, else index into the foreign names
    given: np.ndarray
    uji: np.ndarray  # surname form at birth (index into NamePools.uji_*)
    tsusho_uji: np.ndarray  # -1: no 通称
    tsusho_given: np.ndarray
    juminhyokodo: np.ndarray
    kojinbango: np.ndarray  # -1: none
    kana_juki: np.ndarray
    kana_atena: np.ndarray
    namesake_of: np.ndarray  # -1, or the resident whose name a namesake shares

    def __len__(self) -> int:
        return len(self.home)


def _names(
    rng: np.random.Generator, pools: NamePools, sex: np.ndarray, birth: np.ndarray, foreign: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Given name by sex and birth cohort; surname by frequency, some as 異体字 or IVS."""
    n = len(sex)
    name_sex = np.where(sex == 0, rng.integers(1, 3, n), sex)
    cohort = cohort_of(year_of(birth))
    given = np.zeros(n, dtype=np.int64)
    for s in (1, 2):
        for c in range(len(COHORTS)):
            mask = (name_sex == s) & (cohort == c)
            pool = pools.given_by[(str(s), COHORTS[c])]
            given[mask] = pool[rng.integers(0, len(pool), int(mask.sum()))]
    uji = rng.choice(pools.n_uji_base, size=n, p=pools.uji_weights)
    japanese = np.flatnonzero(foreign < 0)
    variant = pick(rng, japanese, VARIANT_RATE)
    uji[variant] = rng.choice(pools.variant_forms, len(variant))
    plain = np.ones(n, dtype=bool)
    plain[variant] = False
    ivs = pick(rng, japanese[plain[japanese]], IVS_RATE, base=len(japanese))
    uji[ivs] = rng.choice(pools.ivs_forms, len(ivs))
    # a given name written with a 異体字: one of the forms of the drawn name
    forms = pools.given_variant_forms
    of_name = forms[np.argsort(pools.given_base[forms], kind="stable")]
    bases = pools.given_base[of_name]
    lo = np.searchsorted(bases, given, side="left")
    hi = np.searchsorted(bases, given, side="right")
    chosen = pick(rng, japanese[hi[japanese] > lo[japanese]], GIVEN_VARIANT_RATE, minimum=0)
    given[chosen] = of_name[lo[chosen] + (rng.random(len(chosen)) * (hi - lo)[chosen]).astype(np.int64)]
    return given, uji


def _tsusho(rng: np.random.Generator, pools: NamePools, foreign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """通称 (a Japanese-style name) for some Korean and Chinese residents."""
    n = len(foreign)
    kanji_culture = np.array([f[0] in KANJI_CULTURES for f in pools.foreign])
    eligible = (foreign >= 0) & kanji_culture[np.maximum(foreign, 0)]
    has = eligible & (rng.random(n) < TSUSHO_RATE)
    given_pool = pools.given_by[("1", "mid")]
    uji = np.where(has, rng.choice(pools.n_uji_base, size=n, p=pools.uji_weights), -1)
    given = np.where(has, given_pool[rng.integers(0, len(given_pool), n)], -1)
    return uji, given


def _namesakes(
    rng: np.random.Generator, pools: NamePools, p: dict[str, np.ndarray], residents: int, first: int, kijunbi: int
) -> None:
    """Make persons ``first..`` namesakes of residents (in place on the columns ``p``): the
    resident's surname form, given name and sex, a birth date a few days or a year off."""
    n_ns = len(p["home"]) - first
    ok = (p["foreign"][:residents] < 0) & (p["fusho"][:residents] < 0) & (p["sex"][:residents] > 0)
    ok &= p["uji"][:residents] < pools.n_uji_base  # plain surname form: the same text in every file
    source = rng.choice(np.flatnonzero(ok), n_ns, replace=False)
    ns = np.arange(first, first + n_ns)
    for col in ("sex", "given", "uji"):
        p[col][ns] = p[col][source]
    p["foreign"][ns] = -1
    p["fusho"][ns] = -1
    p["tsusho_uji"][ns] = p["tsusho_given"][ns] = -1
    birth = p["birth"][source]
    off = rng.integers(1, NAMESAKE_DAYS + 1, n_ns) * np.where(rng.random(n_ns) < 0.5, 1, -1)
    off = np.where(birth + off > kijunbi, -np.abs(off), off)
    by_year = rng.random(n_ns) < 0.5
    p["birth"][ns] = np.where(by_year, one_year_off(rng, birth, kijunbi), birth + off)
    p["namesake_of"][ns] = source


def make_persons(
    rng: np.random.Generator, pools: NamePools, residents: int, n_gen: int, n_outside: int, kijunbi: int
) -> Persons:
    """``residents`` persons spread evenly over the generated municipalities, plus a few
    registered in the outside ones, the last of them namesakes of residents."""
    n_out = max(MIN_OUTSIDE, round(OUTSIDE_RATE * residents))
    n_ns = min(residents, max(MIN_NAMESAKES, round(NAMESAKE_RATE * residents)))
    n = residents + n_out + n_ns
    home = np.empty(n, dtype=np.int64)
    home[:residents] = rng.permutation(np.arange(residents) % n_gen)
    home[residents:] = n_gen + rng.integers(0, n_outside, n - residents)
    age = rng.choice(101, size=n, p=AGE_WEIGHTS)
    birth = kijunbi - (age * YEAR).astype(np.int64) - rng.integers(1, 366, n)
    sex = np.where(rng.random(n) < 0.49, 1, 2)
    sex[pick(rng, np.arange(residents), SEX_UNKNOWN_RATE)] = 0
    foreign = np.full(n, -1, dtype=np.int64)
    chosen = pick(rng, np.arange(n), FOREIGN_RATE, minimum=2)
    foreign[chosen] = rng.integers(0, len(pools.foreign), len(chosen))
    fusho = np.full(n, -1, dtype=np.int64)
    chosen = pick(rng, np.arange(residents), FUSHO_RATE)
    fusho[chosen] = np.arange(len(chosen)) % 3
    given, uji = _names(rng, pools, sex, birth, foreign)
    tsusho_uji, tsusho_given = _tsusho(rng, pools, foreign)
    juminhyokodo = with_check_digit(unique_numbers(rng, n, 10**10), 10, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    kojin = with_check_digit(unique_numbers(rng, n, 10**11), 11, (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    kojin = np.where(rng.random(n) < KOJINBANGO_RATE, kojin, -1)
    kana_juki = rng.random(n) < KANA_JUKI_RATE
    # 宛名 systems hold a reading for nearly everyone, including those 住基 lacks
    extra = (KANA_ATENA_RATE - KANA_JUKI_RATE) / (1 - KANA_JUKI_RATE)
    kana_atena = kana_juki | (rng.random(n) < extra)
    cols = {
        "home": home,
        "sex": sex,
        "birth": birth,
        "fusho": fusho,
        "foreign": foreign,
        "given": given,
        "uji": uji,
        "tsusho_uji": tsusho_uji,
        "tsusho_given": tsusho_given,
        "juminhyokodo": juminhyokodo,
        "kojinbango": kojin,
        "kana_juki": kana_juki,
        "kana_atena": kana_atena,
        "namesake_of": np.full(n, -1, dtype=np.int64),
    }
    _namesakes(rng, pools, cols, residents, residents + n_out, kijunbi)
    return Persons(**cols)
