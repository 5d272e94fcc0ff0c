"""The opt-out registry (提供停止の申出) as delivery reads it, each rule in one place.

A resident may ask a municipality to stop providing their data to a service whose contract
allows opting out (``optOut: true``): one row of the ``teikyoteishi`` layout
(:data:`jumin.core.layouts.TEIKYOTEISHI`) names their 宛名, the 提供先 (the contract id, or
``*`` for every service that allows opting out), the 申出日 and, once withdrawn, the 撤回日. An
opt-out is in force on a 基準日 when 申出日 ≤ 基準日 and the 撤回日 is empty or later (the
layout's ``period``, the one rule the snapshots apply too).

An opt-out follows the **person**, not the record: the 宛名 it was filed on is mapped to the
person delivery builds (``J:<住民票コード>`` of the 住登者 record or of a 住登外者's ``auto``
link, else ``A:<lg_code>:<宛名番号>``, as :func:`transform.deliver.persons_sql` keys them), so an
opt-out filed in one municipality covers the person's records in every other one. A 宛名 not in
the day's 宛名 snapshots (消除, or a 宛名番号 the municipality does not hold) reaches no person.
"""

from __future__ import annotations

from jumin.core.duck import quote_literal
from jumin.core.layouts import TEIKYOSAKI_ALL, TEIKYOTEISHI
from transform.snapshot import present_sql

#: the reason of a person left out of a delivery for an opt-out (the manifest's ``excluded``)
OPT_OUT = "opt_out"
#: the table of the day's registry rows (snapshot rows with ``lg_code``) that delivery registers
REGISTRY = "optouts"
#: the registry's columns delivery reads, and an empty registry (no municipality sent one)
REGISTRY_COLUMNS = (
    ("lg_code", "VARCHAR"),
    ("atenabango", "VARCHAR"),
    ("teikyosaki", "VARCHAR"),
    ("moshidebi", "DATE"),
    ("tekkaibi", "DATE"),
)
EMPTY_REGISTRY_SQL = "SELECT " + ", ".join(f"NULL::{t} AS {n}" for n, t in REGISTRY_COLUMNS) + " LIMIT 0"


def record_persons_sql(atena: str, links: str) -> str:
    """(lg_code, atenabango, person) of every 宛名 record of ``atena``: the person key of
    :func:`transform.deliver.persons_sql` (a test holds the two equal on the sample)."""
    return f"""
        SELECT a.lg_code, a.atenabango, CASE
                WHEN a.jutokubun = '1' AND coalesce(a.juminhyokodo, '') <> '' THEN 'J:' || a.juminhyokodo
                WHEN l.juminhyokodo IS NOT NULL THEN 'J:' || l.juminhyokodo
                ELSE 'A:' || a.lg_code || ':' || a.atenabango END AS person
        FROM {atena} a
        LEFT JOIN (SELECT lg_code, atenabango, juminhyokodo FROM {links}
                   WHERE band = 'auto' AND juminhyokodo IS NOT NULL) l
               ON l.lg_code = a.lg_code AND l.atenabango = a.atenabango
    """


def opted_out_sql(registry: str, atena: str, links: str, contract_id: str, kijunbi: str) -> str:
    """The ``person`` keys with an opt-out in force on ``kijunbi`` for the contract
    ``contract_id`` (or for every service, ``*``), over the registry rows ``registry`` (with
    ``lg_code``), the 宛名 snapshot rows ``atena`` and the reconciliation ``links`` of the day;
    sorted, each once."""
    in_force = present_sql(TEIKYOTEISHI, registry, kijunbi, kijunbi)
    targets = f"{quote_literal(contract_id)}, {quote_literal(TEIKYOSAKI_ALL)}"
    return f"""
        WITH filed AS (
            SELECT DISTINCT lg_code, atenabango FROM ({in_force}) WHERE teikyosaki IN ({targets})
        ), records AS (
            SELECT a.* FROM {atena} a SEMI JOIN filed f ON f.lg_code = a.lg_code AND f.atenabango = a.atenabango
        )
        SELECT DISTINCT person FROM ({record_persons_sql("records", links)}) ORDER BY person
    """
