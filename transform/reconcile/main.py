"""Reconciliation of a 基準日: what ``load.reconcile`` stages, computed in one DuckDB connection.

1. the keyed records (:mod:`transform.reconcile.frames`): 宛名 of the municipalities asked for,
   the national 住基 with its history;
2. 住登者: linked by 住民票コード, and every discrepancy with the 住基 person found by the rules
   of ``expectations.reconcile`` (:mod:`transform.reconcile.deterministic`);
3. 住登外者: candidates from probabilistic linking (:mod:`transform.reconcile.link`);
4. the clerks' decisions applied last: they always win over scores.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from jumin.core import duck, store
from jumin.core.files import atomic_path, atomic_write_text, remove_stale_temps, sha256_file
from jumin.core.lake import Lake
from jumin.core.layouts import ATENA, JUKI
from transform.config import RECONCILE_DUCK, LinkConfig
from transform.errors import NothingToReconcile
from transform.reconcile.deterministic import Engine, build_taisho, discrepancies, rule_statistics
from transform.reconcile.frames import Inputs, snapshot_files
from transform.reconcile.keyed import TABLES, KeyedMunicipality, keyed_day
from transform.reconcile.schema import DISCREPANCIES, LINKS

log = logging.getLogger(__name__)


@dataclass
class Reconciliation:
    """The computed outputs of one 基準日, each with an ``lg_code`` column to partition by."""

    inputs: Inputs
    lg_codes: list[str]
    links: pa.Table
    discrepancies: pa.Table
    #: per municipality, the rules' statistics for its Data Docs page
    rule_stats: dict[str, list[dict[str, Any]]]
    con: duckdb.DuckDBPyConnection


def with_lg_code(schema: pa.Schema) -> pa.Schema:
    """An output schema with the partition column ``lg_code`` in front."""
    return schema.insert(0, pa.field("lg_code", pa.string()))


def jumin_links(con: duckdb.DuckDBPyConnection, lg_codes: Sequence[str]) -> pa.Table:
    """Links of 住登者 by 住民票コード: every 住登者 宛名 whose code is a 住基 person resident
    anywhere on the 基準日 (a 消除済み or unknown code is a discrepancy, not a link)."""
    codes = ", ".join(duck.quote_literal(c) for c in lg_codes) or "NULL"
    sql = (
        "SELECT a.lg_code, a.atenabango, a.juminhyokodo, NULL::VARCHAR AS target_lg_code, "
        "NULL::VARCHAR AS target_atenabango, 'auto' AS band, 1.0::DOUBLE AS match_probability, "
        "NULL::DOUBLE AS match_weight, 'juminhyokodo' AS method, 1::INTEGER AS rank, "
        "[{'item': 'juminhyokodo', 'agreement': '一致', 'weight': NULL::DOUBLE}] AS reasons, "
        "NULL::VARCHAR AS decision FROM atena_keyed a "
        f"WHERE a.jutokubun = '1' AND a.lg_code IN ({codes}) AND a.juminhyokodo IN "
        "(SELECT juminhyokodo FROM juki_keyed WHERE version = 0) ORDER BY a.lg_code, a.atenabango"
    )
    return duck.arrow(con, "links by 住民票コード", sql).cast(with_lg_code(LINKS))


@dataclass(frozen=True)
class PreparedDay:
    """The national step of a 基準日 (:func:`prepare_day`): 住基 and every staged 宛名 keyed, and
    the 住登外者 candidates of every municipality, for the municipalities' tasks to read."""

    kijunbi: str
    folder: str
    #: municipalities whose 住基 / 宛名 snapshot was read
    juki_lg_codes: list[str]
    atena_lg_codes: list[str]
    #: SHA-256 of the linking model used
    model_sha256: str

    def to_dict(self) -> dict[str, str | list[str]]:
        return {
            "kijunbi": self.kijunbi,
            "folder": self.folder,
            "juki_lg_codes": self.juki_lg_codes,
            "atena_lg_codes": self.atena_lg_codes,
            "model_sha256": self.model_sha256,
        }


#: read back in this order by the municipalities (atena_keyed keeps the candidates' records)
WORK_TABLES = ("candidates", "juki_keyed", "juki_last", "atena_keyed", "shien")
#: the work tables written once per reconciling municipality (column ``for_lg_code``, the file
#: sorted by it, so a municipality's task reads its own row groups, not the nation), with the
#: columns that order their rows and identify one (:func:`for_municipalities_sql`)
PER_MUNICIPALITY = {
    "juki_keyed": ("lg_code", "juminhyokodo", "version"),
    "juki_last": ("lg_code", "juminhyokodo"),
    "atena_keyed": ("lg_code", "atenabango"),
}
#: written after the work tables: what was keyed
PREPARED = "prepared.json"


def prepare_day(lake_root: str | Path, kijunbi: str, config: LinkConfig | None = None) -> PreparedDay:
    """The national step of ``kijunbi``: the keyed tables of every municipality with a staged 住基
    or 宛名 snapshot of the day (made by the ``key`` tasks, :mod:`transform.reconcile.keyed`;
    keyed now where missing or stale) put together, the 住登外者 of all municipalities linked
    (to 住基 and to each other; the model trained by the first run of the day and reused
    after), and it all written to the lake's work folder. Raises NothingToReconcile when no
    住基 or no 宛名 snapshot of the day is staged. What exceeds DuckDB's memory limit spills to
    its temporary folder, so the nation's tables need disk, not memory (docs/national.md)."""
    from transform.reconcile.link import link_jutogaisha

    lake = Lake.at(lake_root)
    folder = lake.reconcile_work(kijunbi)
    model = lake.reconcile_model(kijunbi)
    juki, atena = sorted(snapshot_files(lake, JUKI.name, kijunbi)), sorted(snapshot_files(lake, ATENA.name, kijunbi))
    if not juki:
        raise NothingToReconcile(
            f"no staged 住基 snapshot of {kijunbi} under {lake.snapshot('juki', kijunbi, kijunbi, '<code>')}: "
            "nothing to reconcile against"
        )
    if not atena:
        raise NothingToReconcile(_no_atena(lake, kijunbi, []))
    keyed = keyed_day(lake, kijunbi, sorted({*juki, *atena}))
    con = duck.connect(RECONCILE_DUCK)
    try:
        with tempfile.TemporaryDirectory(prefix="jumin-keyed-") as tmp:
            load_keyed(con, lake, keyed, Path(tmp))
        load_shien(con, lake, kijunbi)
        duck.run(con, "jutogai", "CREATE TEMP VIEW jutogai AS SELECT * FROM atena_keyed WHERE jutokubun = '2'")
        duck.run(con, "jutosha", "CREATE TEMP VIEW jutosha AS SELECT * FROM atena_keyed WHERE jutokubun = '1'")
        model.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(model.parent)  # a model a killed run was writing
        candidates = link_jutogaisha(con, "jutogai", "juki_keyed", "jutosha", model, config)
        con.register("_candidates", candidates)
        duck.run(con, "candidates", "CREATE TEMP TABLE candidates AS SELECT * FROM _candidates")
        con.unregister("_candidates")
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder)
        for table in WORK_TABLES:
            sql = for_municipalities_sql(table) if table in PER_MUNICIPALITY else f"FROM {table}"
            with atomic_path(folder / f"{table}.parquet") as tmp:
                duck.run(con, table, f"COPY ({sql}) TO {duck.quote_literal(str(tmp))} (FORMAT parquet)")
    finally:
        con.close()
    prepared = PreparedDay(kijunbi, str(folder), juki, atena, sha256_file(model) if model.exists() else "")
    # written last: a task that finds it knows the tables beside it are complete
    atomic_write_text(folder / PREPARED, json.dumps(prepared.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    log.info(
        "reconcile %s: 住基 of %d and 宛名 of %d municipalities keyed, %d 住登外者 candidates, into %s",
        kijunbi, len(juki), len(atena), candidates.num_rows, folder,
    )  # fmt: skip
    return prepared


def for_municipalities_sql(table: str) -> str:
    """The rows of ``table`` each 宛名 municipality's reconciliation reads, with that
    municipality as ``for_lg_code``, sorted by it: its own rows, and those of other
    municipalities that its records name. For ``juki_keyed`` and ``juki_last``: the 住基 persons
    of its 住登者' 住民票コード and of its candidates (a person moved in or out, a 住登外者's
    match elsewhere); for ``atena_keyed``: its candidates' 宛名 in other municipalities. So a
    municipality's task reads what it compares, not the nation (reading the national tables
    in each of 1,741 tasks would cost the nation 1,741 times)."""
    order = ", ".join(("for_lg_code", *PER_MUNICIPALITY[table]))
    fors = "(SELECT DISTINCT lg_code AS for_lg_code FROM atena_keyed)"
    if table == "atena_keyed":
        named = (
            "SELECT DISTINCT lg_code AS for_lg_code, target_lg_code || ':' || target_atenabango AS rec_id "
            "FROM candidates WHERE target_atenabango IS NOT NULL"
        )
        on = "t.rec_id = n.rec_id"
    else:
        named = (
            "SELECT lg_code AS for_lg_code, juminhyokodo FROM atena_keyed WHERE jutokubun = '1' AND juminhyokodo <> '' "
            "UNION SELECT lg_code, juminhyokodo FROM candidates WHERE juminhyokodo IS NOT NULL"
        )
        on = "t.juminhyokodo = n.juminhyokodo"
    return (
        f"SELECT f.for_lg_code, t.* FROM {fors} f JOIN {table} t ON t.lg_code = f.for_lg_code UNION ALL "
        f"SELECT n.for_lg_code, t.* FROM ({named}) n JOIN {table} t ON {on} AND t.lg_code <> n.for_lg_code "
        f"ORDER BY {order}"
    )


def for_municipalities_read_sql(table: str, path: str, lg_codes: Sequence[str]) -> str:
    """``table`` as the municipalities ``lg_codes`` read it back from the work file at ``path``
    (:func:`for_municipalities_sql`): their rows, each once (a row two of them read is in the
    file twice), in the national table's order."""
    codes = ", ".join(duck.quote_literal(c) for c in lg_codes)
    keys = ", ".join(PER_MUNICIPALITY[table])
    return (
        f"SELECT * EXCLUDE (for_lg_code) FROM read_parquet({duck.quote_literal(path)}, hive_partitioning = false) "
        f"WHERE for_lg_code IN ({codes}) QUALIFY row_number() OVER (PARTITION BY {keys}) = 1 ORDER BY {keys}"
    )


def load_keyed(con: duckdb.DuckDBPyConnection, lake: Lake, keyed: Sequence[KeyedMunicipality], scratch: Path) -> None:
    """Create ``atena_keyed``, ``juki_keyed`` and ``juki_last`` from the municipalities' keyed
    tables, concatenated in code order: each is sorted by municipality first, so this is the
    order keying them together would give (the linking model's training sample depends on it).
    Every table needs one municipality with its layout (prepare_day refuses a day without).
    On an object-store lake the nation's files are downloaded into the local ``scratch``
    folder first, many at once (``store.local_copies``), and read from there."""
    for table in (t for tables in TABLES.values() for t in tables):
        files = store.local_copies([f for k in keyed for f in k.files(lake, table)], scratch / table)
        listed = ", ".join(duck.quote_literal(str(f)) for f in files)
        duck.run(con, table, f"CREATE TEMP TABLE {table} AS FROM read_parquet([{listed}], hive_partitioning = false)")


def load_prepared(lake_root: str | Path, kijunbi: str) -> PreparedDay:
    """What :func:`prepare_day` wrote for ``kijunbi``; raises NothingToReconcile if it has not
    run (or did not finish)."""
    folder = Lake.at(lake_root).reconcile_work(kijunbi)
    try:
        d = json.loads((folder / PREPARED).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NothingToReconcile(f"the national step of {kijunbi} has not run: no {folder / PREPARED}") from None
    return PreparedDay(
        str(d["kijunbi"]),
        str(folder),
        [str(c) for c in d["juki_lg_codes"]],
        [str(c) for c in d["atena_lg_codes"]],
        str(d["model_sha256"]),
    )


def _no_atena(lake: Lake, kijunbi: str, missing: Sequence[str]) -> str:
    return (
        f"no staged 宛名 snapshot of {kijunbi} for {', '.join(missing) or 'any municipality'} under "
        f"{lake.snapshot('atena', kijunbi, kijunbi, '<code>')} (stage it with `jumin snapshot --as-of "
        f"{kijunbi}` first)"
    )


def compute(
    lake_root: str | Path,
    kijunbi: str,
    lg_codes: Sequence[str] | None = None,
    engine: Engine = "duckdb",
    prepared: PreparedDay | None = None,
    config: LinkConfig | None = None,
) -> Reconciliation:
    """Reconcile the 宛名 of ``lg_codes`` (every municipality with a staged 宛名 snapshot of
    the 基準日 when None) with the national 住基 of the 基準日 (the national step runs now unless
    ``prepared``)."""
    lake = Lake.at(lake_root)
    available = prepared.atena_lg_codes if prepared else sorted(snapshot_files(lake, "atena", kijunbi))
    wanted = available if lg_codes is None else sorted(set(lg_codes))
    missing = sorted(set(wanted) - set(available))
    if not wanted or missing:
        raise NothingToReconcile(_no_atena(lake, kijunbi, missing))
    prepared = prepared or prepare_day(lake.root, kijunbi, config)
    no_juki = sorted(set(wanted) - set(prepared.juki_lg_codes))
    if no_juki:
        # its 住登者 would all be "住民票コードが住基にない" (D002): a missing upload, not findings
        raise NothingToReconcile(
            f"no staged 住基 snapshot of {kijunbi} for {', '.join(no_juki)} under "
            f"{lake.snapshot('juki', kijunbi, kijunbi, '<code>')}: its 住登者 cannot be checked "
            "(stage its 住基 upload first)"
        )
    con = duck.connect(RECONCILE_DUCK)
    codes = ", ".join(duck.quote_literal(c) for c in wanted)
    where = {"candidates": f" WHERE lg_code IN ({codes})"}
    for table in WORK_TABLES:
        path = str(store.lake_path(prepared.folder) / f"{table}.parquet")
        if table in PER_MUNICIPALITY:
            sql = for_municipalities_read_sql(table, path, wanted)
        else:
            sql = f"FROM read_parquet({duck.quote_literal(path)}, hive_partitioning = false){where.get(table, '')}"
        duck.run(con, table, f"CREATE TEMP TABLE {table} AS {sql}")
    inputs = Inputs(kijunbi, wanted, prepared.juki_lg_codes)
    build_taisho(con, wanted)
    found = discrepancies(con, engine)
    stats = {code: rule_statistics(con, found, code) for code in wanted}
    links = pa.concat_tables([jumin_links(con, wanted), candidates(con)]).sort_by(
        [("lg_code", "ascending"), ("atenabango", "ascending"), ("rank", "ascending")]
    )
    log.info("reconcile %s: %d links, %d findings", kijunbi, links.num_rows, found.num_rows)
    return Reconciliation(
        inputs, wanted, links, found.drop_columns(["_row"]).cast(with_lg_code(DISCREPANCIES)), stats, con
    )


def load_shien(con: duckdb.DuckDBPyConnection, lake: Lake, kijunbi: str) -> None:
    """Create ``shien``: the record ids (``<lg_code>:<宛名番号>`` and the 住民票コード) of every
    person under a 支援措置 in force on the 基準日 in any municipality (the 支援措置 snapshot),
    so protection follows the person to every record that names them."""
    files = snapshot_files(lake, "shien", kijunbi)
    if not files:
        duck.run(con, "shien", "CREATE TEMP TABLE shien AS SELECT NULL::VARCHAR AS rec_id LIMIT 0")
        return
    listed = ", ".join(duck.quote_literal(f) for f in files.values())
    duck.run(
        con,
        "shien",
        "CREATE TEMP TABLE shien AS SELECT DISTINCT rec_id FROM ("
        f"SELECT s.lg_code || ':' || s.atenabango AS rec_id, a.juminhyokodo FROM read_parquet([{listed}], "
        "hive_partitioning = true, hive_types = {'kijunbi': DATE, 'known_at': DATE, 'lg_code': VARCHAR}) s "
        "LEFT JOIN atena_keyed a ON a.rec_id = s.lg_code || ':' || s.atenabango) "
        "UNPIVOT (rec_id FOR k IN (rec_id, juminhyokodo)) WHERE rec_id <> '' ORDER BY rec_id",
    )


def records(con: duckdb.DuckDBPyConnection, lg_code: str) -> pa.Table:
    """KEYED rows a municipality's review file shows: its own 宛名 and every candidate's records."""
    code = duck.quote_literal(lg_code)
    return duck.arrow(
        con,
        "records",
        f"SELECT * FROM atena_keyed WHERE lg_code = {code} OR rec_id IN (SELECT target_lg_code || ':' || "
        f"target_atenabango FROM candidates WHERE lg_code = {code}) UNION ALL "
        f"SELECT * FROM juki_keyed WHERE rec_id IN (SELECT juminhyokodo FROM candidates WHERE lg_code = {code})",
    )


def protected(con: duckdb.DuckDBPyConnection, links: pa.Table) -> pa.Table:
    """``links`` with a boolean ``shien``: the candidate is a person under 支援措置."""
    con.register("_links", links)
    try:
        return duck.arrow(
            con,
            "shien flags",
            "SELECT l.*, (coalesce(l.juminhyokodo, l.target_lg_code || ':' || l.target_atenabango) IN "
            "(SELECT rec_id FROM shien)) AS shien FROM _links l",
        )
    finally:
        con.unregister("_links")


def candidates(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The probabilistic links and candidates of the municipalities read (``candidates``)."""
    return duck.arrow(con, "candidates", "SELECT * FROM candidates").cast(with_lg_code(LINKS))
