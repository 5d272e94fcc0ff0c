"""The synthetic population of one run: persons, history, 宛名 records, 支援措置 and
提供停止の申出.

Everything is numpy arrays, drawn in bulk from one seeded Generator per stage, so a million
persons take seconds and the same seed always gives the same population. Dates are integer
days since 1970-01-01; strings are made later (see ``render``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from jumin.dev.generate import clerks, discrepancies
from jumin.dev.generate.addresses import Addresses, Towns
from jumin.dev.generate.history import Events, Story, juki_rows, make_events, make_story
from jumin.dev.generate.households import Households, make_households
from jumin.dev.generate.names import NamePools
from jumin.dev.generate.persons import Persons, make_persons
from jumin.dev.generate.records import AtenaModel, AtenaRows, Records, draft_records, number_records
from jumin.dev.generate.shien import ShienRows, make_shien
from jumin.dev.generate.teikyoteishi import OptOutRows, make_optouts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Population:
    """The whole model of one run."""

    n_gen: int
    kijunbi: int
    persons: Persons
    story: Story
    events: Events
    addresses: Addresses
    #: juki rows: event indices sorted by (municipality, 住民票コード, 履歴番号), and 履歴番号
    juki_event: np.ndarray
    juki_rireki: np.ndarray
    records: Records
    atena: AtenaRows
    shien: ShienRows
    #: 世帯番号 and 続柄 of every 宛名 record (written on its 住登者 rows)
    households: Households
    #: 提供停止の申出 (opt-out registry) rows
    optouts: OptOutRows


def build_population(
    seed_seq: np.random.SeedSequence,
    pools: NamePools,
    towns: Towns,
    n_gen: int,
    residents: int,
    kijunbi: int,
    n_buildings: int,
    cp932: np.ndarray,
) -> Population:
    """The complete model; every stage draws from its own child of ``seed_seq`` so that
    changing one stage leaves the others' draws alone. ``cp932`` flags the generated
    municipalities whose files are CP932."""
    # a new stage takes the next child: the first ones (and so the earlier stages' draws) stay
    r_person, r_story, r_event, r_record, r_shien, r_disc, r_clerks, r_households, r_optouts = (
        np.random.default_rng(s) for s in seed_seq.spawn(9)
    )
    n_outside = len(towns.municipalities) - n_gen
    p = make_persons(r_person, pools, residents, n_gen, n_outside, kijunbi)
    story, entry_code = make_story(r_story, p, n_gen, kijunbi)
    ev, addresses = make_events(r_event, pools, towns, p, story, entry_code, kijunbi, n_buildings)
    juki_event, juki_rireki = juki_rows(ev, p, n_gen)
    draft, home_rec, (dv_person, dv_rec, dv_day), all_addresses = draft_records(
        r_record, pools, towns, p, story, ev, addresses, n_gen, residents, kijunbi, n_buildings
    )
    new_id = discrepancies.inject(r_disc, draft, p, story, ev, dv_person)
    numbered, sorted_rows, first_day = number_records(r_record, draft)
    records, rows = clerks.write(r_clerks, pools, p, numbered, sorted_rows, cp932, kijunbi)
    atena = AtenaModel(
        records,
        rows,
        first_day,
        np.where(home_rec >= 0, new_id[np.maximum(home_rec, 0)], -1),
        (dv_person, new_id[dv_rec], dv_day),
        all_addresses,
    )
    shien = make_shien(r_shien, atena, p, story, residents, kijunbi, n_gen)
    households = make_households(
        r_households, p, records.muni, records.person, rows.record, rows.jutokubun, rows.code, kijunbi
    )
    optouts = make_optouts(r_optouts, atena, story, kijunbi)
    log.info(
        "population: %d persons, %d events, %d 宛名 records, %d 宛名 rows, %d 支援措置 rows, %d 提供停止 rows",
        len(p),
        len(ev),
        len(atena.records.muni),
        len(atena.rows.record),
        len(shien.record),
        len(optouts.record),
    )
    return Population(
        n_gen,
        kijunbi,
        p,
        story,
        ev,
        atena.addresses,
        juki_event,
        juki_rireki,
        atena.records,
        atena.rows,
        shien,
        households,
        optouts,
    )
