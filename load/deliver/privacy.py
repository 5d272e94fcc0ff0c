"""Privacy controls of delivery, each rule in one place.

- **Pseudonymous person ids** (分散管理): every contract gets its own id for a person, a keyed
  HMAC, so two SaaS cannot join their datasets on it; the same person keeps the same id in every
  delivery of a contract (a new contract version too). The key of a contract is derived from one
  master secret: from the deployment's secret store when the caller passes one (an Airflow
  connection in production), else a file in the lake made on first use with a warning, so a
  fresh clone delivers without set-up.
- **DV等支援措置**: a person under a measure in force on the 基準日 (申出者 and 併せて支援を求める者)
  is protected in **every** record linked to them: the 宛名 carrying the measure, the 住基
  person of its 住民票コード, every 宛名 linked to that person (a 住登外者 in another municipality,
  where a victim living away really lives) and every 宛名 linked to those. Links of both bands
  count: a victim's record elsewhere differs in its address, which is exactly what sends it to
  review, and suppressing a stranger's address is the safe mistake. Address and household items
  of protected records are suppressed unless the contract names a legal basis, and every release
  under such a basis is listed for the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from jumin.core import duck
from jumin.core.files import atomic_create_bytes
from jumin.core.lake import Lake

log = logging.getLogger(__name__)

#: the name of the master secret behind every contract's person ids
PSEUDONYM_SECRET = "pseudonym"
#: what a secret store hands over: the master secret's bytes
KeySource = Callable[[], bytes]
#: items that tell where a protected person lives (住所, 方書, 郵便番号, 町字コード and the
#: municipality itself: for a 住登外者 elsewhere the municipality is what must not be learnt)
ADDRESS_ITEMS = (
    "jusho_shikuchosonkodo",
    "jusho_choazakodo",
    "jusho_todofuken",
    "jusho_shikugunchosonmei",
    "jusho_choaza",
    "jusho_banchigohyoki",
    "jusho_katagaki",
    "jusho_yubinbango",
    "jusho",
)
#: household links (a household's members lead to its address)
HOUSEHOLD_ITEMS = ("setaibango", "zokugara")
SUPPRESSED_ITEMS = ADDRESS_ITEMS + HOUSEHOLD_ITEMS


def master_key(lake_root: str | Path, source: KeySource | None = None) -> bytes:
    """The master secret of the pseudonymous ids: from ``source`` (the deployment's secret
    store) when given, else the lake's secret file, made now (with a warning) if missing."""
    if source is not None:
        key = source()
        if len(key) < 16:
            raise ValueError("the pseudonym secret from the secret store is shorter than 16 bytes")
        return key
    import secrets

    path = Lake.at(lake_root).secret(PSEUDONYM_SECRET)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        log.warning(
            "no secret store configured: made the pseudonym secret %s (keep it, back it up: every "
            "contract's person ids derive from it; production reads it from an Airflow connection)",
            path,
        )
    return atomic_create_bytes(path, secrets.token_bytes(32))


def contract_key(master: bytes, contract_id: str) -> bytes:
    """The key of one contract's ids (not of its version: ids stay stable across versions)."""
    return hmac.new(master, b"jumin pseudonym\x00" + contract_id.encode("utf-8"), hashlib.sha256).digest()


def person_key(juminhyokodo: str | None, lg_code: str, atenabango: str) -> str:
    """What identifies a person before pseudonymisation: the 住基 person when the record is
    linked to one (住民票コード), else the 宛名 itself (全国地方公共団体コード, 宛名番号)."""
    return f"J:{juminhyokodo}" if juminhyokodo else f"A:{lg_code}:{atenabango}"


def pseudonym(key: bytes, person: str) -> str:
    """A contract's id of ``person`` (:func:`person_key`): 32 hex digits of HMAC-SHA256."""
    return hmac.new(key, person.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonyms(key: bytes, persons: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`pseudonym` of every person key of a column (nulls stay null)."""
    return pa.array([None if p is None else pseudonym(key, p) for p in persons.to_pylist()], pa.string())


def pseudonym_sql(person: str) -> str:
    """:func:`pseudonym` in DuckDB SQL of the VARCHAR expression ``person`` (NULL stays NULL),
    with the query parameters :func:`pseudonym_params` of the contract's key (a test holds the
    two equal)."""
    return f"left({duck.hmac_sha256_sql(person)}, 32)"


def pseudonym_params(key: bytes) -> dict[str, object]:
    """The query parameters of :func:`pseudonym_sql` for the contract key ``key``."""
    ipad, opad = duck.hmac_pads(key)
    return {"ipad": ipad, "opad": opad}


# --- 支援措置 -------------------------------------------------------------------------------------


def protected_sql(measures: str, records: str, links: str) -> str:
    """Record ids (``A:<lg_code>:<宛名番号>``) and 住基 persons (``J:<住民票コード>``) protected on
    the day, as one ``node`` column: everything connected to a record under a measure.

    ``measures``: (lg_code, atenabango) of the measures in force; ``records``: 宛名 records
    (lg_code, atenabango, juminhyokodo — '' or NULL when none); ``links``: (lg_code, atenabango,
    juminhyokodo, target_lg_code, target_atenabango) of any band. Edges join a 宛名 to the 住基
    person of its own code and of its links, and to the other 宛名 of a 宛名↔宛名 link; the
    protected set is the connected part of the graph holding the measures (a recursive query).
    A node is a 宛名 (lg, no) or a 住基 person (j): each step probes the narrow edge lists with
    the nodes just reached, never building an id for every record.
    """
    return f"""
        WITH RECURSIVE aj(lg, no, j) AS (
            SELECT lg_code, atenabango, juminhyokodo FROM {records} WHERE coalesce(juminhyokodo, '') <> ''
            UNION ALL
            SELECT lg_code, atenabango, juminhyokodo FROM {links} WHERE juminhyokodo IS NOT NULL
        ), aa(lg, no, lg2, no2) AS (
            SELECT lg_code, atenabango, target_lg_code, target_atenabango FROM {links} WHERE target_lg_code IS NOT NULL
            UNION ALL
            SELECT target_lg_code, target_atenabango, lg_code, atenabango FROM {links} WHERE target_lg_code IS NOT NULL
        ), reached(lg, no, j) AS (
            SELECT lg_code, atenabango, NULL::VARCHAR FROM {measures}
            UNION
            SELECT n.* FROM reached r, LATERAL (
                SELECT NULL::VARCHAR, NULL::VARCHAR, aj.j FROM aj WHERE aj.lg = r.lg AND aj.no = r.no
                UNION ALL
                SELECT aj.lg, aj.no, NULL::VARCHAR FROM aj WHERE aj.j = r.j
                UNION ALL
                SELECT aa.lg2, aa.no2, NULL::VARCHAR FROM aa WHERE aa.lg = r.lg AND aa.no = r.no
            ) n
        )
        SELECT DISTINCT CASE WHEN j IS NULL THEN 'A:' || lg || ':' || no ELSE 'J:' || j END AS node
        FROM reached ORDER BY node
    """


def protected_nodes(con: duckdb.DuckDBPyConnection, measures: str, records: str, links: str) -> set[str]:
    """:func:`protected_sql` run in ``con``."""
    return {r[0] for r in duck.rows(con, "protected persons", protected_sql(measures, records, links))}


def protected_flag_sql(protected: str, lg_code: str, atenabango: str, person: str) -> str:
    """SQL true for a record (``lg_code``, ``atenabango``) of the person key ``person`` that is
    protected: the record itself or its person is a node of the table ``protected``
    (:func:`protected_sql`)."""
    return (
        f"(('A:' || {lg_code} || ':' || {atenabango}) IN (SELECT node FROM {protected}) "
        f"OR {person} IN (SELECT node FROM {protected}))"
    )


def suppressed_sql(columns: Sequence[str], protected: str, legal_basis: str | None) -> str:
    """The select list of ``columns`` with the address and household items emptied (NULL) in
    the rows where the boolean SQL expression ``protected`` holds, unless the contract names
    ``legal_basis`` for releasing them: then every column as it is (the caller counts and logs
    the release)."""

    def one(name: str) -> str:
        q = duck.quote_ident(name)
        if legal_basis or name not in SUPPRESSED_ITEMS:
            return q
        return f"CASE WHEN coalesce({protected}, false) THEN NULL ELSE {q} END AS {q}"

    return ", ".join(one(c) for c in columns)
