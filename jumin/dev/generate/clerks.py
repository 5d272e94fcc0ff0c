"""What a 宛名 record says of its person, as clerks really write it.

A 住登外者's 基本4情報 were typed by another office, so its record often spells the name
another way: a 異体字 of 氏 or 名 either way (髙橋 for 高橋 and back, 渡邊/渡邉/渡辺, 惠子/恵子),
an IVS added or dropped (葛󠄀西/葛西), a long vowel written another way in the フリガナ
(サトウ/サトー, オオノ/オウノ/オーノ), a lost 濁点, a mistyped kana, no フリガナ at all, or day and
month of the birth date swapped. 住登者 records (copied from the 住基 in the same office)
get fewer of these, and only those that are the same name: their 異体字/IVS spellings are the
表記ゆれ reconciliation must not report as 氏名不一致. Namesakes are written faithfully.

Every variant is drawn at an exact share of the records it can apply to (at least one where
any can), is one the record's file encoding can show (a CP932 file cannot tell 葛󠄀 from 葛
or 𠮷 from 吉, so those are not chosen there), and sets its bit of ``LABELS``. The injected
D003–D005 of ``discrepancies`` are written here too.
"""

from __future__ import annotations

import numpy as np

from jumin.dev.generate.arrays import pick
from jumin.dev.generate.dates import from_ymd, one_year_off, year_of, ymd
from jumin.dev.generate.discrepancies import D003, D004, D005
from jumin.dev.generate.history import SHUSSEI
from jumin.dev.generate.names import COHORTS, Alternatives, NamePools, cohort_of
from jumin.dev.generate.persons import Persons
from jumin.dev.generate.records import BIT, JUTOSHA, OWN_BIRTH, AtenaRows, NumberedRecords, Records, SortedRows

# 住登外者 records: shares of the records each variant can apply to
ITAIJI_RATE = 0.25  # 氏 that has another 異体字 form
ITAIJI_NA_RATE = 0.25  # 名 that has another 異体字 form
IVS_RATE = 0.3  # 氏 that has an IVS form, or carries one
KANA_LONG_VOWEL_RATE = 0.08  # readings with a long vowel
KANA_DAKUTEN_RATE = 0.03  # readings with a 濁点 or 半濁点
KANA_TYPO_RATE = 0.015
KANA_MISSING_RATE = 0.04
BIRTH_SWAP_RATE = 0.03  # birth dates whose day and month are both ≤ 12 and differ
#: of duplicate records, once more per variant: the spelling is why the clerk's search missed
DUPLICATE_SPELLING_RATE = 0.15
# 住登者 records (not those with an injected discrepancy)
JUTOSHA_ITAIJI_RATE = 0.05
JUTOSHA_ITAIJI_NA_RATE = 0.05
JUTOSHA_IVS_RATE = 0.3  # 宛名 systems often drop the IVS the 住基 holds
JUTOSHA_KANA_LONG_VOWEL_RATE = 0.01
JUTOSHA_KANA_MISSING_RATE = 0.01


def _count(tables: dict[str, Alternatives], idx: np.ndarray, cp932: np.ndarray) -> np.ndarray:
    """Alternatives of each ``idx`` that its file (CP932 or UTF-8) can show."""
    return np.where(cp932, tables["cp932"].count(idx), tables["utf-8"].count(idx))


def _pick(tables: dict[str, Alternatives], idx: np.ndarray, u: np.ndarray, cp932: np.ndarray) -> np.ndarray:
    """One alternative of each ``idx`` its file can show (``idx`` itself where none)."""
    return np.where(cp932, tables["cp932"].pick(idx, u), tables["utf-8"].pick(idx, u))


def _other_given(
    rng: np.random.Generator, pools: NamePools, p: Persons, person: np.ndarray, given: np.ndarray
) -> np.ndarray:
    """Another 名 of the person's sex and generation (a different name, not a 異体字)."""
    name_sex = np.where(p.sex[person] == 0, 1, p.sex[person])
    cohort = cohort_of(year_of(p.birth[person]))
    out = given.copy()
    for sex in (1, 2):
        for c, name in enumerate(COHORTS):
            mine = np.flatnonzero((name_sex == sex) & (cohort == c))
            pool = pools.given_by[(str(sex), name)]
            draw = rng.integers(0, len(pool), len(mine))
            for _ in range(len(pool)):
                same = pools.given_fold[pool[draw]] == pools.given_fold[given[mine]]
                if not same.any():
                    break
                draw[same] = (draw[same] + 1) % len(pool)
            out[mine] = pool[draw]
    return out


def _wrong_birth(rng: np.random.Generator, birth: np.ndarray, kijunbi: int, first_ido: np.ndarray) -> np.ndarray:
    """Another 生年月日: a day or two off (half), a year off (three in ten) or day and month
    swapped where both are ≤ 12 and differ; never after ``kijunbi`` nor after the record's
    first 異動日 (``first_ido``), where validation would refuse the row (生年月日が異動日より後)
    and the discrepancy would never reach reconciliation: then the date is as far before."""
    n = len(birth)
    step = rng.integers(1, 3, n)
    near = np.where(birth + step > kijunbi, birth - step, birth + np.where(rng.random(n) < 0.5, step, -step))
    y, m, d = ymd(birth)
    swapped = from_ymd(y, d, m)
    can_swap = (d <= 12) & (d != m) & (swapped <= kijunbi)
    mode = rng.random(n)
    year = one_year_off(rng, birth, kijunbi)
    wrong = np.where(mode < 0.5, near, np.where((mode < 0.8) | ~can_swap, np.where(mode < 0.8, year, near), swapped))
    return np.where(wrong > first_ido, 2 * birth - wrong, wrong)


def write(
    rng: np.random.Generator,
    pools: NamePools,
    p: Persons,
    rec: NumberedRecords,
    rows: SortedRows,
    cp932_muni: np.ndarray,
    kijunbi: int,
) -> tuple[Records, AtenaRows]:
    """The records and rows as written: surname forms per row, 名, 性別, 生年月日, readings."""
    n = len(rec.muni)
    person = rec.person
    r = rows.record
    last = np.zeros(n, dtype=np.int64)
    last[r] = np.arange(len(r))  # rows are grouped by record in 履歴番号 order: the last wins
    cp932 = cp932_muni[rec.muni]
    row_cp932 = cp932[r]
    japanese = p.foreign[person] < 0
    free = japanese & (p.namesake_of[person] < 0)
    jutogai = free & (rec.kind != JUTOSHA)
    jutosha = free & (rec.kind == JUTOSHA) & (rec.injected == 0)
    dup = jutogai & (rec.dup_of >= 0)
    labels = rec.labels.copy()
    uji = rows.uji.copy()
    given = p.given[person].copy()
    sex = np.full(n, -1, dtype=np.int64)
    birth = np.full(n, OWN_BIRTH, dtype=np.int64)

    def choose(eligible: np.ndarray, label: str, rate: float, jutosha_rate: float = 0.0) -> np.ndarray:
        """Records to get variant ``label``: exact shares of the eligible 住登外者 and 住登者
        (at least one each where the rate is not 0), then of the duplicates once more."""
        chosen = np.zeros(n, dtype=bool)
        for group, share, least in ((jutogai, rate, 1), (jutosha, jutosha_rate, 1), (dup, DUPLICATE_SPELLING_RATE, 0)):
            if share:
                chosen[pick(rng, np.flatnonzero(eligible & group & ~chosen), share, minimum=least)] = True
        labels[chosen] |= BIT[label]
        return chosen

    def apply_to_rows(chosen: np.ndarray, tables: dict[str, Alternatives]) -> None:
        u = rng.random(n)
        sel = chosen[r]
        uji[sel] = _pick(tables, uji[sel], u[r[sel]], row_cp932[sel])

    # the surname: a 異体字, or an IVS added or dropped; or, for D003, another surname
    itaiji = choose(_count(pools.uji_itaiji, uji[last], cp932) > 0, "itaiji_uji", ITAIJI_RATE, JUTOSHA_ITAIJI_RATE)
    apply_to_rows(itaiji, pools.uji_itaiji)
    ivs = _count(pools.uji_ivs, uji[last], cp932) > 0
    apply_to_rows(choose(ivs & ~itaiji, "ivs", IVS_RATE, JUTOSHA_IVS_RATE), pools.uji_ivs)
    d003 = np.flatnonzero(rec.injected == D003)
    by_uji = np.zeros(n, dtype=bool)
    by_uji[d003[rng.random(len(d003)) < 0.5]] = True
    sel = by_uji[r]
    uji[sel] = pools.uji_other.pick(pools.uji_base[uji[sel]], rng.random(n)[r[sel]])
    by_given = d003[~by_uji[d003]]
    given[by_given] = _other_given(rng, pools, p, person[by_given], given[by_given])

    # the given name: a 異体字
    na = choose(_count(pools.given_itaiji, given, cp932) > 0, "itaiji_na", ITAIJI_NA_RATE, JUTOSHA_ITAIJI_NA_RATE)
    given[na] = _pick(pools.given_itaiji, given[na], rng.random(int(na.sum())), cp932[na])

    # 生年月日 and 性別
    y, m, d = ymd(p.birth[person])
    born_here = np.zeros(n, dtype=bool)
    born_here[r[rows.code == SHUSSEI]] = True  # the 出生届 gave the date: copied right
    swappable = (p.fusho[person] < 0) & ~born_here & (d <= 12) & (m != d) & (from_ymd(y, d, m) <= kijunbi)
    swap = choose(swappable, "birth_swap", BIRTH_SWAP_RATE)
    birth[swap] = from_ymd(y[swap], d[swap], m[swap])
    d004 = rec.injected == D004
    first_ido = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_ido, r, rows.idobi.astype(np.int64))
    birth[d004] = _wrong_birth(rng, p.birth[person[d004]], kijunbi, first_ido[d004])
    d005 = rec.injected == D005
    sex[d005] = 3 - p.sex[person[d005]]

    # readings follow the name as written, then a variant or none at all
    kana_uji = pools.uji_kana_id[uji]
    kana_given_rec = pools.given_kana_id[given]
    shown_rec = p.kana_atena[person].copy()
    kana_free = shown_rec & free
    busy = ~kana_free
    for kind, rate, jutosha_rate in (
        ("long_vowel", KANA_LONG_VOWEL_RATE, JUTOSHA_KANA_LONG_VOWEL_RATE),
        ("dakuten", KANA_DAKUTEN_RATE, 0.0),
        ("typo", KANA_TYPO_RATE, 0.0),
    ):
        alt = pools.kana.alternatives[kind]
        on_uji = alt.count(kana_uji[last]) > 0
        on_given = alt.count(kana_given_rec) > 0
        chosen = choose((on_uji | on_given) & ~busy, f"furigana_{kind}", rate, jutosha_rate)
        busy |= chosen
        part_uji = on_uji & (~on_given | (rng.random(n) < 0.5))
        u = rng.random(n)
        sel = (chosen & part_uji)[r]
        kana_uji[sel] = alt.pick(kana_uji[sel], u[r[sel]])
        g = chosen & ~part_uji
        kana_given_rec[g] = alt.pick(kana_given_rec[g], u[g])
    missing = choose(~busy, "furigana_missing", KANA_MISSING_RATE, JUTOSHA_KANA_MISSING_RATE)
    shown_rec &= ~missing

    records = Records(
        muni=rec.muni,
        number=rec.number,
        person=person,
        kind=rec.kind,
        kojin_known=rec.kojin_known,
        sansho_fuka=rec.sansho_fuka,
        dup_of=rec.dup_of,
        juminhyokodo=rec.juminhyokodo,
        injected=rec.injected,
        given=given,
        sex=sex,
        birth=birth,
        labels=labels,
    )
    atena_rows = AtenaRows(
        record=r,
        code=rows.code,
        idobi=rows.idobi,
        shoribi=rows.shoribi,
        jutokubun=rows.jutokubun,
        addr=rows.addr,
        uji=uji,
        rireki=rows.rireki,
        uji_true=rows.uji,
        kana_uji=kana_uji,
        kana_given=kana_given_rec[r],
        kana_shown=shown_rec[r],
    )
    return records, atena_rows
