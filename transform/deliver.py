"""The persons of a delivery: one row per person of a 基準日, as SQL over staged snapshots and
reconciliation links (``load.deliver`` filters them by contract, pseudonymises and writes).

A person is the 住基 person a 宛名 is linked to (its own 住民票コード for a 住登者, the ``auto``
link of reconciliation for a 住登外者) or, unlinked, the 宛名 itself. Of a person's records the
one delivered is the 住登者 record (where they are registered), else the first by municipality
and 宛名番号; every municipality holding a record of the person is listed (``source_lg_codes``:
the ledger names them as sources).

Ages follow the 年齢計算ニ関スル法律 as administration applies it: a person reaches an age on the
day before the birthday (介護保険's 「65歳に達した日」, the school year's 早生まれ), so one born
on 1961-11-02 is 65 on the 基準日 2026-11-01, one born on 29 February reaches each age on
28 February and one born on 1 March on the last day of February. A 生年月日 that is 不詳 gives
no age (such persons never pass an age filter; the delivery counts them).
"""

from __future__ import annotations

from jumin.core.duck import quote_literal


def age_sql(birth: str, kijunbi: str) -> str:
    """Age on the 基準日 (``kijunbi`` an ISO date) of the DATE column ``birth`` (NULL if NULL):
    the full years at the day after the 基準日, as :func:`jumin.core.contract.age_on` counts
    (the one rule; a test holds the two equal)."""
    day = f"(DATE {quote_literal(kijunbi)} + INTERVAL 1 DAY)::DATE"
    return (
        f"(date_part('year', {day}) - date_part('year', {birth}) - "
        f"CASE WHEN strftime({day}, '%m%d') < strftime({birth}, '%m%d') THEN 1 ELSE 0 END)::INTEGER"
    )


def persons_sql(atena: str, links: str, kijunbi: str) -> str:
    """One row per person over the 宛名 snapshot rows ``atena`` (with ``lg_code``; one row per
    (lg_code, atenabango)) and the reconciliation ``links`` of the same 基準日 (with
    ``lg_code``): every column of the chosen record, then ``person`` (``J:<住民票コード>`` or
    ``A:<lg_code>:<宛名番号>``), ``age``, ``source_lg_codes`` (sorted) and ``records`` (how many
    宛名 records the person has). Unordered.

    The choice is made over the narrow keys alone (person, rank, municipality, 宛名番号) and
    the chosen record joined back, so the wide rows are read once and never sorted."""
    return f"""
        WITH keys AS (
            SELECT a.lg_code, a.atenabango, CASE
                    WHEN a.jutokubun = '1' AND coalesce(a.juminhyokodo, '') <> '' THEN 'J:' || a.juminhyokodo
                    WHEN l.juminhyokodo IS NOT NULL THEN 'J:' || l.juminhyokodo
                    ELSE 'A:' || a.lg_code || ':' || a.atenabango END AS person,
                -- the 住登者 record first (then any other, a NULL 住登区分 last)
                CASE WHEN a.jutokubun = '1' THEN 0 WHEN a.jutokubun IS NOT NULL THEN 1 ELSE 2 END AS _rank
            FROM {atena} a
            LEFT JOIN (SELECT lg_code, atenabango, juminhyokodo FROM {links}
                       WHERE band = 'auto' AND juminhyokodo IS NOT NULL) l
                   ON l.lg_code = a.lg_code AND l.atenabango = a.atenabango
        ), chosen AS (
            SELECT person, min(struct_pack(r := _rank, lg := lg_code, no := atenabango)) AS _pick,
                   list_sort(list_distinct(list(lg_code))) AS source_lg_codes, count(*) AS records
            FROM keys GROUP BY person
        )
        SELECT a.*, c.person, c.source_lg_codes, c.records, {age_sql("a.seinengappi", kijunbi)} AS age
        FROM chosen c JOIN {atena} a ON a.lg_code = c._pick.lg AND a.atenabango = c._pick.no
    """
