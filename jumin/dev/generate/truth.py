"""The ground truth: who every 宛名 record is, how it differs from the 住基, and the
discrepancies of 住登者 reconciliation must report.

Everything here is derived from the final model (what the files say), not from what was meant
to be injected, so the truth cannot drift from the data: a discrepancy is listed because the
宛名 and the 住基 written really disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jumin.dev.generate.addresses import Addresses, Towns, render_addresses
from jumin.dev.generate.dates import iso_dates
from jumin.dev.generate.history import TENSHUTSU
from jumin.dev.generate.names import NamePools, to_cp932_safe
from jumin.dev.generate.population import Population
from jumin.dev.generate.records import BIT, DV, JUTOSHA, KINDS, LABELS, OWN_BIRTH
from jumin.dev.generate.render import (
    PersonStrings,
    Strings,
    _decimal,
    _take,
    atenabango,
    juki_names,
    name_columns,
    setaibango,
    zero_padded,
)

#: discrepancy kinds of ``discrepancies.csv``: D001–D007, then 表記ゆれ (not a discrepancy)
DISCREPANCY_KINDS = ("D001", "D002", "D003", "D004", "D005", "D006", "D007", "hyoki")
#: the standard item each kind is about (romaji)
ITEMS = {
    "D001": "idojiyu",
    "D002": "juminhyokodo",
    "D003": "shimei",
    "D004": "seinengappi",
    "D005": "seibetsu",
    "D006": "jusho",
    "D007": "juminhyokodo",
    "hyoki": "shimei",
}


def _same_address(addr: Addresses, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where addresses ``a`` and ``b`` are written alike (every part equal)."""
    same = np.ones(len(a), dtype=bool)
    for col in addr.fields:
        same &= col[a] == col[b]
    return same


def _text_ids(texts: tuple[str, ...], cp932: bool) -> np.ndarray:
    """Equal numbers for pool entries a file writes alike."""
    keys: dict[str, int] = {}
    return np.array([keys.setdefault(to_cp932_safe(t) if cp932 else t, len(keys)) for t in texts], dtype=np.int64)


@dataclass(frozen=True)
class Truth:
    """Per record: the complete label mask and its last row; the discrepancies found (record
    -1 for D007) with the person, the kind (index into ``DISCREPANCY_KINDS``) and, for a D007
    that a D002 leaves behind, ``caused_by_d002``."""

    labels: np.ndarray
    last_row: np.ndarray
    #: each person's latest 異動 (the 住基 state on the 基準日)
    last_event: np.ndarray
    d_muni: np.ndarray
    d_record: np.ndarray
    d_person: np.ndarray
    d_kind: np.ndarray
    d_caused_by_d002: np.ndarray


def build_truth(pop: Population, pools: NamePools, cp932_muni: np.ndarray) -> Truth:
    """Labels of every record and the discrepancies of every 住登者, from the model."""
    p, ev, rec, a = pop.persons, pop.events, pop.records, pop.atena
    n = len(rec.muni)
    last = np.zeros(n, dtype=np.int64)
    last[a.record] = np.arange(len(a.record))
    last_ev = np.searchsorted(ev.person, np.arange(len(p)), side="right") - 1
    person = rec.person
    cur = last_ev[person]
    japanese = p.foreign[person] < 0
    jutogai = rec.kind != JUTOSHA
    labels = rec.labels.copy()
    labels[japanese & ~a.kana_shown[last]] |= BIT["furigana_missing"]
    earlier = jutogai & japanese & ((labels & BIT["new_surname"]) == 0)
    labels[earlier & (pools.uji_base[a.uji_true[last]] != pools.uji_base[ev.uji[cur]])] |= BIT["old_surname"]
    moved = jutogai & (rec.kind != DV) & ~_same_address(pop.addresses, a.addr[last], ev.addr[cur])
    labels[moved] |= BIT["old_address"]

    # 住登者 records on the 基準日 and the 住基 person of their code
    present = (rec.kind == JUTOSHA) & (a.jutokubun[last] == 1) & (a.code[last] // 10 != 2)
    own = rec.juminhyokodo == p.juminhyokodo[person]
    alive = ev.code[last_ev] // 10 != 2
    in_files = p.home < pop.n_gen
    here = alive[person] & in_files[person] & (ev.muni[cur] == rec.muni)
    d002 = present & ~own
    d001 = present & own & ~here
    matched = present & own & here
    cp932 = cp932_muni[rec.muni]
    uji_w, uji_j = a.uji[last], ev.uji[cur]
    given_w, given_j = rec.given, p.given[person]
    folded = (pools.uji_fold[uji_w] != pools.uji_fold[uji_j]) | (pools.given_fold[given_w] != pools.given_fold[given_j])
    d003 = matched & japanese & folded
    uji_text = {c: _text_ids(pools.uji_kanji, c) for c in (False, True)}
    given_text = {c: _text_ids(pools.given_kanji, c) for c in (False, True)}
    differs = np.zeros(n, dtype=bool)
    for c in (False, True):
        mine = cp932 == c
        differs[mine] = (uji_text[c][uji_w[mine]] != uji_text[c][uji_j[mine]]) | (
            given_text[c][given_w[mine]] != given_text[c][given_j[mine]]
        )
    hyoki = matched & japanese & ~folded & differs
    d004 = matched & (rec.birth != OWN_BIRTH) & (rec.birth != p.birth[person])
    d005 = matched & (rec.sex >= 0) & (rec.sex != p.sex[person])
    d006 = matched & ~_same_address(pop.addresses, a.addr[last], ev.addr[cur])
    covered = np.zeros(len(p), dtype=bool)
    covered[person[matched]] = True
    d007 = np.flatnonzero(in_files & alive & ~covered)
    left_by_d002 = np.zeros(len(p), dtype=bool)
    left_by_d002[person[d002 & (ev.muni[cur] == rec.muni)]] = True

    found = [d001, d002, d003, d004, d005, d006]
    recs = [np.flatnonzero(m) for m in found] + [np.full(len(d007), -1, dtype=np.int64), np.flatnonzero(hyoki)]
    kinds = [np.full(len(x), k, dtype=np.int64) for k, x in enumerate(recs)]
    d_record = np.concatenate(recs)
    d_person = np.where(d_record >= 0, person[np.maximum(d_record, 0)], 0)
    d_person[d_record < 0] = d007
    d_muni = np.where(d_record >= 0, rec.muni[np.maximum(d_record, 0)], ev.muni[last_ev[d_person]])
    return Truth(
        labels=labels,
        last_row=last,
        last_event=last_ev,
        d_muni=d_muni,
        d_record=d_record,
        d_person=d_person,
        d_kind=np.concatenate(kinds),
        d_caused_by_d002=(d_record < 0) & left_by_d002[d_person],
    )


def _label_texts(masks: np.ndarray) -> pa.Array:
    """``;``-joined label names of every bit mask (in ``LABELS`` order)."""
    values, inverse = np.unique(masks, return_inverse=True)
    texts = [";".join(name for i, name in enumerate(LABELS) if int(v) >> i & 1) for v in values]
    return _take(pa.array(texts, pa.string()), inverse.reshape(-1))


def ground_truth_columns(pop: Population, lg_codes: list[str], ps: PersonStrings, truth: Truth) -> dict[str, pa.Array]:
    """Who every 宛名 record is, sorted by (lg_code, 宛名番号) (see the package docstring)."""
    rec, p = pop.records, pop.persons
    order = np.lexsort((rec.number, rec.muni))
    person = rec.person[order]
    rireki_max = np.bincount(pop.atena.record, minlength=len(rec.muni))
    codes = pa.array(lg_codes)
    dup = rec.dup_of[order]
    src = np.maximum(dup, 0)
    dup_text = pc.binary_join_element_wise(_take(codes, rec.muni[src]), atenabango(rec.number[src]), ":")
    namesake = p.namesake_of[person]
    in_files = p.home[person] < pop.n_gen
    jhc = ps.juminhyokodo.take(pa.array(person))
    hh_number = pop.households.number[order]
    return {
        "lg_code": _take(codes, rec.muni[order]),
        "atenabango": atenabango(rec.number[order]),
        "rirekibango_max": _decimal(rireki_max[order]),
        "juminhyokodo": jhc,
        "kind": _take(pa.array(list(KINDS)), rec.kind[order]),
        "person_id": _decimal(person),
        "juki_juminhyokodo": pc.if_else(pa.array(in_files), jhc, ""),
        "corruptions": _label_texts(truth.labels[order]),
        "duplicate_of": pc.if_else(pa.array(dup >= 0), dup_text, ""),
        "namesake_of": pc.if_else(pa.array(namesake >= 0), ps.juminhyokodo.take(pa.array(np.maximum(namesake, 0))), ""),
        "setaibango": pc.if_else(pa.array(hh_number >= 0), setaibango(np.maximum(hh_number, 0)), ""),
    }


DISCREPANCY_COLUMNS = (
    "lg_code",
    "atenabango",
    "juminhyokodo",
    "kind",
    "item",
    "atena_value",
    "juki_value",
    "caused_by",
)


def discrepancy_columns(
    pop: Population, pools: NamePools, towns: Towns, s: Strings, ps: PersonStrings, truth: Truth, m: int, lg_code: str
) -> dict[str, pa.Array]:
    """The discrepancies of municipality ``m`` with the values its files show (``s``: the
    strings of its encoding), ordered by kind, 宛名番号 and 住民票コード."""
    rec, p, a, ev = pop.records, pop.persons, pop.atena, pop.events
    sel = np.flatnonzero(truth.d_muni == m)
    record, person, kind = truth.d_record[sel], truth.d_person[sel], truth.d_kind[sel]
    has = record >= 0
    r = np.maximum(record, 0)
    row = truth.last_row[r]
    cur = truth.last_event[person]
    kana = (a.kana_uji[row], a.kana_given[row], a.kana_shown[row])
    a_name = name_columns(p, person, a.uji[row], rec.given[r], kana, s)["shimei"]
    j_name = juki_names(pools, p, person, ev.uji[cur], s)["shimei"]
    a_addr = render_addresses(pop.addresses, towns, s.address, a.addr[row])["jusho"]
    j_addr = render_addresses(pop.addresses, towns, s.address, ev.addr[cur])["jusho"]
    other = rec.birth[r] != OWN_BIRTH
    birth = pc.replace_with_mask(ps.seinengappi.take(pa.array(person)), pa.array(other), iso_dates(rec.birth[r][other]))
    sex = np.where(rec.sex[r] >= 0, rec.sex[r], p.sex[person])
    # the 住基's 消除: the 死亡 here, or the 転出 from here of a person now registered elsewhere
    tenshutsu = np.full(len(p), 0, dtype=np.int64)
    tenshutsu[ev.person[ev.code == TENSHUTSU]] = TENSHUTSU
    shojo = np.where(ev.muni[cur] == m, ev.code[cur], tenshutsu[person])
    empty = pa.repeat("", len(sel))
    true_code = ps.juminhyokodo.take(pa.array(person))
    values = {
        0: (_decimal(a.code[row]), _decimal(shojo)),
        1: (zero_padded(rec.juminhyokodo[r], 11), empty),
        2: (a_name, j_name),
        3: (birth, ps.seinengappi.take(pa.array(person))),
        4: (_decimal(sex), ps.seibetsu.take(pa.array(person))),
        5: (a_addr, j_addr),
        6: (empty, true_code),
        7: (a_name, j_name),
    }
    a_value, j_value = empty, empty
    for k, (av, jv) in values.items():
        mask = pa.array(kind == k)
        a_value = pc.if_else(mask, av, a_value)
        j_value = pc.if_else(mask, jv, j_value)
    # 表記ゆれ only where the file really writes the names differently
    keep = ~((kind == 7) & np.asarray(pc.equal(a_name, j_name).to_numpy(zero_copy_only=False), dtype=bool))
    order = np.lexsort((p.juminhyokodo[person], np.where(has, rec.number[r], np.iinfo(np.int64).max), kind))
    order = order[keep[order]]
    take = pa.array(order)
    kinds = pa.array(list(DISCREPANCY_KINDS))
    return {
        "lg_code": pa.repeat(lg_code, len(order)),
        "atenabango": pc.if_else(pa.array(has), atenabango(rec.number[r]), "").take(take),
        "juminhyokodo": true_code.take(take),
        "kind": _take(kinds, kind[order]),
        "item": _take(pa.array([ITEMS[k] for k in DISCREPANCY_KINDS]), kind[order]),
        "atena_value": a_value.take(take),
        "juki_value": j_value.take(take),
        "caused_by": pc.if_else(pa.array(truth.d_caused_by_d002[sel][order]), "D002", ""),
    }
