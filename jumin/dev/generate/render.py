"""Turn the population model into the string columns of the four layouts.

Columns are Arrow arrays built with C++ kernels (take, join, if_else), so a million rows
render in about a second. String pools are prepared per output encoding: a CP932 file gets
names and addresses without IVS and with CP932-encodable characters only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jumin.dev.generate.addresses import (
    AddressStrings,
    Towns,
    address_strings,
    render_addresses,
)
from jumin.dev.generate.dates import iso_dates, wareki_year, year_of
from jumin.dev.generate.households import ZOKUGARA
from jumin.dev.generate.names import NamePools, to_cp932_safe
from jumin.dev.generate.persons import Persons
from jumin.dev.generate.population import Population
from jumin.dev.generate.records import OWN_BIRTH
from jumin.dev.generate.teikyoteishi import CLERKS, NO_DAY, TARGETS

_DIGITS = pa.array([str(i) for i in range(10)])
_CODES = pa.array([f"{i:02d}" for i in range(100)])


def _take(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """``pool[idx]`` element-wise (strings are pooled once and gathered per row)."""
    return pool.take(pa.array(idx))


def _join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation; plain strings broadcast."""
    return pc.binary_join_element_wise(*parts, sep)


def _when(mask: np.ndarray, yes: pa.Array | str, no: pa.Array | str = "") -> pa.Array:
    """``yes`` where ``mask``, else ``no`` (empty string = absent value in the files)."""
    return pc.if_else(pa.array(mask), yes, no)


def zero_padded(numbers: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers as decimal strings left-padded with zeros to ``width``."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")


def _decimal(numbers: np.ndarray) -> pa.Array:
    """Integers as decimal strings (履歴番号 and other type 9 items)."""
    return pc.cast(pa.array(numbers), pa.string())


@dataclass(frozen=True)
class Strings:
    """Name and address string pools for one output encoding."""

    uji_kanji: pa.Array
    given_kanji: pa.Array
    kana: pa.Array
    foreign_alpha: pa.Array
    foreign_kana: pa.Array
    foreign_kanji: pa.Array
    address: AddressStrings


def strings_for(encoding: str, pools: NamePools, towns: Towns, buildings: list[str]) -> Strings:
    """String pools as a file in ``encoding`` carries them."""
    f: Callable[[str], str] = to_cp932_safe if encoding == "cp932" else (lambda s: s)
    alpha, kana, kanji, _ = pools.foreign_strings()
    return Strings(
        uji_kanji=pa.array([f(s) for s in pools.uji_kanji]),
        given_kanji=pa.array([f(s) for s in pools.given_kanji]),
        kana=pa.array(list(pools.kana.strings)),
        foreign_alpha=pa.array(alpha),
        foreign_kana=pa.array(kana),
        foreign_kanji=pa.array([f(s) for s in kanji]),
        address=address_strings(towns, buildings, f),
    )


@dataclass(frozen=True)
class PersonStrings:
    """Per-person items that do not depend on the encoding or the row."""

    juminhyokodo: pa.Array
    kojinbango: pa.Array
    seibetsu: pa.Array
    seinengappi: pa.Array
    fushofuragu: pa.Array
    fushohyoki: pa.Array


def _fusho_texts(birth: np.ndarray, style: np.ndarray) -> tuple[list[str], list[str]]:
    """(生年月日 text, 不詳表記) of 不詳 persons.

    Style 0: year only known (empty date, "昭和２５年頃"); 1: a date the calendar does not
    have, as an old register wrote it ("1950-02-29", "昭和２５年２月２９日"); 2: nothing
    known ("年月日不詳").
    """
    dates, notes = [], []
    for year, st in zip(year_of(birth).tolist(), style.tolist(), strict=True):
        if st == 1:
            while year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
                year -= 1  # 2/29 must not exist that year
            dates.append(f"{year}-02-29")
            notes.append(f"{wareki_year(year)}２月２９日")
        elif st == 0:
            dates.append("")
            notes.append(f"{wareki_year(year)}頃")
        else:
            dates.append("")
            notes.append("年月日不詳")
    return dates, notes


def person_strings(p: Persons) -> PersonStrings:
    """Identifiers, sex and birth date of every person as text."""
    fusho = p.fusho >= 0
    birth = iso_dates(p.birth)
    notes: pa.Array = pa.array(np.full(len(p), "", dtype=object), pa.string())
    if fusho.any():
        dates, texts = _fusho_texts(p.birth[fusho], p.fusho[fusho])
        birth = pc.replace_with_mask(birth, pa.array(fusho), pa.array(dates, pa.string()))
        notes = pc.replace_with_mask(notes, pa.array(fusho), pa.array(texts, pa.string()))
    return PersonStrings(
        juminhyokodo=zero_padded(p.juminhyokodo, 11),
        kojinbango=_when(p.kojinbango >= 0, zero_padded(np.maximum(p.kojinbango, 0), 12)),
        seibetsu=_take(_DIGITS, p.sex),
        seinengappi=birth,
        fushofuragu=_when(fusho, "1", "0"),
        fushohyoki=notes,
    )


def name_columns(
    p: Persons,
    person: np.ndarray,
    uji: np.ndarray,
    given: np.ndarray,
    kana: tuple[np.ndarray, np.ndarray, np.ndarray],
    s: Strings,
) -> dict[str, pa.Array]:
    """Name items of rows (person, surname form and given-name form written on the row,
    reading as (氏 reading, 名 reading, shown) indices into the reading pool).

    氏名 is 氏 + U+3000 + 名 for Japanese; for foreign residents it is the full-width
    alphabet name, which also fills 氏名_外国人アルファベット.
    """
    japanese = p.foreign[person] < 0
    foreign = np.maximum(p.foreign[person], 0)
    kana_uji, kana_given, shown = kana
    uji_k, na_k = _take(s.uji_kanji, uji), _take(s.given_kanji, given)
    alpha = _take(s.foreign_alpha, foreign)
    reading = _when(
        japanese,
        _join(_take(s.kana, kana_uji), _take(s.kana, kana_given), sep="\u3000"),
        _take(s.foreign_kana, foreign),
    )
    t_uji, t_given = p.tsusho_uji[person], p.tsusho_given[person]
    tsusho = _when(
        t_uji >= 0,
        _join(_take(s.uji_kanji, np.maximum(t_uji, 0)), _take(s.given_kanji, np.maximum(t_given, 0)), sep="\u3000"),
    )
    return {
        "shimei": _when(japanese, _join(uji_k, na_k, sep="\u3000"), alpha),
        "uji_nihonjin": _when(japanese, uji_k),
        "na_nihonjin": _when(japanese, na_k),
        "shimei_gaikokujinromaji": _when(~japanese, alpha),
        "shimei_gaikokujinkanji": _when(~japanese, _take(s.foreign_kanji, foreign)),
        "tsusho": tsusho,
        "shimei_furigana": _when(shown, reading),
    }


def juki_names(pools: NamePools, p: Persons, person: np.ndarray, uji: np.ndarray, s: Strings) -> dict[str, pa.Array]:
    """Name items of 住基 rows: the person's own forms and reading (when 住基 has one)."""
    given = p.given[person]
    kana = (pools.uji_kana_id[uji], pools.given_kana_id[given], p.kana_juki[person])
    return name_columns(p, person, uji, given, kana, s)


def _person_columns(
    ps: PersonStrings, person: np.ndarray, sex: np.ndarray | None = None, birth: np.ndarray | None = None
) -> dict[str, pa.Array]:
    """性別 and 生年月日 items of rows belonging to ``person``; ``sex`` / ``birth`` (days)
    replace the person's where not -1 / ``OWN_BIRTH``."""
    idx = pa.array(person)
    seibetsu = ps.seibetsu.take(idx)
    seinengappi = ps.seinengappi.take(idx)
    if sex is not None and (sex >= 0).any():
        seibetsu = pc.replace_with_mask(seibetsu, pa.array(sex >= 0), _take(_DIGITS, sex[sex >= 0]))
    if birth is not None and (birth != OWN_BIRTH).any():
        other = birth != OWN_BIRTH
        seinengappi = pc.replace_with_mask(seinengappi, pa.array(other), iso_dates(birth[other]))
    return {
        "seibetsu": seibetsu,
        "seinengappi": seinengappi,
        "seinengappi_fushofuragu": ps.fushofuragu.take(idx),
        "seinengappi_fushohyoki": ps.fushohyoki.take(idx),
    }


def _ido_columns(code: np.ndarray, idobi: np.ndarray, shoribi: np.ndarray) -> dict[str, pa.Array]:
    """異動事由, 異動日 and 処理日 items."""
    return {"idojiyu": _take(_CODES, code), "idobi": iso_dates(idobi), "shoribi": iso_dates(shoribi)}


def atenabango(number: np.ndarray) -> pa.Array:
    """宛名番号 text: 10 digits, zero-padded (legacy-style numbers without check digit)."""
    return zero_padded(number, 10)


def atena_columns(pop: Population, towns: Towns, s: Strings, ps: PersonStrings, rows: slice) -> dict[str, pa.Array]:
    """Items of the atena layout for the 宛名 rows ``rows``."""
    a, rec = pop.atena, pop.records
    record = a.record[rows]
    person = rec.person[record]
    n = len(record)
    resident = a.jutokubun[rows] == 1  # 住登外者 rows carry no local 住民票コード
    jhc = rec.juminhyokodo[record]
    own = jhc == pop.persons.juminhyokodo[person]
    codes = ps.juminhyokodo.take(pa.array(person))
    if not own.all():  # a mistyped code (D002)
        codes = pc.replace_with_mask(codes, pa.array(~own), zero_padded(jhc[~own], 11))
    kana = (a.kana_uji[rows], a.kana_given[rows], a.kana_shown[rows])
    return {
        "atenabango": atenabango(rec.number[record]),
        "rirekibango": _decimal(a.rireki[rows]),
        "jutokubun": _take(_DIGITS, a.jutokubun[rows]),
        "juminhyokodo": _when(resident, codes),
        "kojinbango": _when(rec.kojin_known[record], ps.kojinbango.take(pa.array(person))),
        **name_columns(pop.persons, person, a.uji[rows], rec.given[record], kana, s),
        **_person_columns(ps, person, rec.sex[record], rec.birth[record]),
        **render_addresses(pop.addresses, towns, s.address, a.addr[rows]),
        **_ido_columns(a.code[rows], a.idobi[rows], a.shoribi[rows]),
        "daihyo_atena_flag": pa.repeat("0", n),
        "nayosesakiatenabango": pa.repeat("", n),
        "tagyomusanshofukafuragu": _when(rec.sansho_fuka[record], "1", "0"),
        **household_columns(pop, record, resident),
    }


def setaibango(number: np.ndarray) -> pa.Array:
    """世帯番号 text: 10 digits, zero-padded."""
    return zero_padded(number, 10)


def household_columns(pop: Population, record: np.ndarray, resident: np.ndarray) -> dict[str, pa.Array]:
    """世帯番号 and 続柄 of rows (of ``record``): on 住登者 rows of records in a household."""
    hh = pop.households
    shown = resident & (hh.number[record] >= 0)
    return {
        "setaibango": _when(shown, setaibango(np.maximum(hh.number[record], 0))),
        "zokugara": _when(shown, _take(pa.array(ZOKUGARA), np.maximum(hh.zokugara[record], 0))),
    }


def juki_columns(
    pop: Population, pools: NamePools, towns: Towns, s: Strings, ps: PersonStrings, rows: slice
) -> dict[str, pa.Array]:
    """Items of the juki layout for the 住基 rows ``rows``."""
    ev = pop.events
    e = pop.juki_event[rows]
    person = ev.person[e]
    names = juki_names(pools, pop.persons, person, ev.uji[e], s)
    address = render_addresses(pop.addresses, towns, s.address, ev.addr[e])
    return {
        "juminhyokodo": ps.juminhyokodo.take(pa.array(person)),
        "rirekibango": _decimal(pop.juki_rireki[rows]),
        "shimei": names["shimei"],
        "shimei_furigana": names["shimei_furigana"],
        **_person_columns(ps, person),
        "jusho_shikuchosonkodo": address["jusho_shikuchosonkodo"],
        "jusho": address["jusho"],
        "kojinbango": ps.kojinbango.take(pa.array(person)),
        **_ido_columns(ev.code[e], ev.date[e], ev.shoribi[e]),
    }


def shien_columns(pop: Population, rows: slice) -> dict[str, pa.Array]:
    """Items of the shien layout for the 支援措置 rows ``rows``."""
    sh = pop.shien
    return {
        "atenabango": atenabango(pop.records.number[sh.record[rows]]),
        "kubun": _take(_DIGITS, sh.kubun[rows]),
        "kaishibi": iso_dates(sh.kaishi[rows]),
        "shuryobi": iso_dates(sh.shuryo[rows]),
    }


def teikyoteishi_columns(pop: Population, rows: slice) -> dict[str, pa.Array]:
    """Items of the teikyoteishi layout (提供停止の申出) for the opt-out rows ``rows`` (the
    受付者 names are CP932-encodable)."""
    o = pop.optouts
    tekkai = o.tekkai[rows]
    return {
        "atenabango": atenabango(pop.records.number[o.record[rows]]),
        "teikyosaki": _take(pa.array(TARGETS), o.target[rows]),
        "moshidebi": iso_dates(o.moshide[rows]),
        "tekkaibi": _when(tekkai != NO_DAY, iso_dates(np.maximum(tekkai, 0))),
        "uketsukesha": _take(pa.array(CLERKS), o.clerk[rows]),
    }
