"""The keyed records of a 基準日, built from the lake's snapshots in one DuckDB connection.

Every matcher reads the same tables (columns: ``schema.KEYED``), built for one municipality at a
time by :mod:`transform.reconcile.keyed` and put together by the national step:

- ``atena_keyed``: the 宛名 snapshot of the 基準日;
- ``juki_keyed``: the 住基 snapshot as version 0, and the older names and addresses of the same
  persons from the municipality's accepted history as versions 1, 2, … (only versions whose
  keys differ from a newer one);
- ``juki_last``: per municipality and 住民票コード, the latest 住基 row up to the 基準日 (also a
  消除), which tells a 消除済み person (D001) from an unknown code (D002).

Everything here is per municipality (a 住基 record's versions are those its own municipality
sent, numbered per ``lg_code``), so keying municipalities apart and concatenating the tables in
code order gives the tables of keying them together. Keys are computed once per distinct value
(a name part, a 町字, a 番地 tail), not per row: a million records carry far fewer distinct
values, and the key functions are plain Python.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from jumin.core import duck
from jumin.core.lake import Lake
from jumin.core.layouts import IDOJIYU, JUKI
from transform import keys
from transform.reconcile.schema import KEYED
from transform.snapshot import versions_sql

log = logging.getLogger(__name__)

HIVE = "hive_partitioning = true, hive_types = {'kijunbi': DATE, 'known_at': DATE, 'lg_code': VARCHAR}"
#: 氏 and 名 split at the first space (full- or half-width), as the standard writes 氏名
_UJI = r"regexp_extract({c}, '^([^ 　]*)', 1)"
_NA = r"trim(regexp_replace({c}, '^[^ 　]*[ 　]*', ''), ' 　')"


@dataclass(frozen=True)
class Inputs:
    """What a reconciliation run read: the municipalities with a 宛名 snapshot and those with a
    住基 snapshot on the 基準日."""

    kijunbi: str
    atena_lg_codes: list[str]
    juki_lg_codes: list[str]


def _files(paths: Sequence[object]) -> str:
    return "[" + ", ".join(duck.quote_literal(str(p)) for p in paths) + "]"


def snapshot_files(lake: Lake, layout: str, kijunbi: str) -> dict[str, str]:
    """lg_code → the staged snapshot file of the 基準日 (known at the 基準日), as text for SQL."""
    return {c: str(p) for c, p in lake.staged_snapshots(layout, kijunbi).items()}


#: distinct values from which :func:`derive` spreads a key function over worker processes
PARALLEL_MIN = 50_000
#: distinct values :func:`derive` hands to Python at a time: its memory stays bounded however
#: many distinct values the nation has (addresses grow with households)
DERIVE_CHUNK = 200_000


def _apply(fn: Callable[..., tuple[object, ...]], rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [fn(*r) for r in rows]


def _map_rows(
    fn: Callable[..., tuple[object, ...]], rows: list[tuple[object, ...]], pool: ProcessPoolExecutor | None
) -> list[Any]:
    """``fn`` of every row, in order; over the ``pool``'s worker processes (one per core: the
    key functions are pure Python) when there is one and there are many rows."""
    workers = os.cpu_count() or 1
    if pool is None or len(rows) < PARALLEL_MIN:
        return _apply(fn, rows)
    size = -(-len(rows) // workers)
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    return [r for part in pool.map(_apply, [fn] * len(chunks), chunks) for r in part]


@contextmanager
def _pool(parallel: bool) -> Iterator[ProcessPoolExecutor | None]:
    """One worker process per core for a whole :func:`derive` (spawn, not fork: the parent holds
    DuckDB's threads), or None."""
    if not parallel or (os.cpu_count() or 1) < 2:
        yield None
        return
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=mp.get_context("spawn")) as pool:
        yield pool


def derive(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: str,
    inputs: Sequence[str],
    fn: Callable[..., tuple[object, ...]],
    outputs: Sequence[tuple[str, pa.DataType]],
    parallel: bool = False,
) -> None:
    """Create table ``name`` (the ``inputs`` columns, then ``outputs``) holding ``fn`` of every
    distinct combination of ``inputs`` in ``source``: the one place keys leave SQL for Python.
    ``parallel``: ``fn`` is a module-level function worth spreading over processes.

    The distinct values stream through Python :data:`DERIVE_CHUNK` at a time into a local
    Parquet file that the table is then read from (DuckDB keeps it within its memory limit,
    spilling beyond): no query runs on ``con`` while its result streams."""
    cols = ", ".join(duck.quote_ident(c) for c in inputs)
    reader = duck.batches(con, name, f"SELECT DISTINCT {cols} FROM {source} ORDER BY ALL", DERIVE_CHUNK)
    schema = pa.schema([reader.schema.field(c) for c in inputs] + [pa.field(out, typ) for out, typ in outputs])
    with tempfile.TemporaryDirectory(prefix="jumin-derive-") as tmp:
        path = Path(tmp) / f"{name}.parquet"
        with _pool(parallel) as pool, pq.ParquetWriter(path, schema, compression="snappy") as writer:
            for batch in _rechunked(reader, DERIVE_CHUNK):
                columns = [batch.column(c).to_pylist() for c in inputs]
                results = _map_rows(fn, list(zip(*columns, strict=True)), pool)
                arrays = [batch.column(c) for c in inputs]
                arrays += [pa.array([r[i] for r in results], type=typ) for i, (_, typ) in enumerate(outputs)]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        table, data = duck.quote_ident(name), duck.quote_literal(str(path))
        duck.run(con, name, f"CREATE OR REPLACE TEMP TABLE {table} AS FROM read_parquet({data})")


def _rechunked(reader: pa.RecordBatchReader, size: int) -> Iterator[pa.Table]:
    """The reader's rows as tables of about ``size`` rows (DuckDB's batches are smaller)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        pending.append(batch)
        count += batch.num_rows
        if count >= size:
            yield pa.Table.from_batches(pending, reader.schema)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending, reader.schema)


def _birth(text: str | None, flag: str | None, hyoki: str | None) -> tuple[int | None, int | None, int | None]:
    parts = keys.birth_parts(text, flag, hyoki)
    return parts.year, parts.month, parts.day


def _atena_address(choaza: str | None, tail: str | None) -> tuple[str, str]:
    town, numbers = keys.jusho_key(choaza, tail)
    return town or "", numbers or ""


def _juki_address(lg_code: str, jusho: str | None) -> tuple[str, str]:
    parsed = keys.parse_jusho(jusho, lg_code)
    town, numbers = keys.jusho_key(parsed.choaza, parsed.banchi)
    return town or "", numbers or ""


_STR = pa.string()
_INT = pa.int32()


def load_atena(con: duckdb.DuckDBPyConnection, files: Mapping[str, str]) -> None:
    """Create ``atena_keyed`` from the 宛名 snapshot ``files`` (lg_code → data file; one at least)."""
    duck.run(
        con,
        "atena_raw",
        f"CREATE TEMP TABLE atena_raw AS SELECT *, coalesce(uji_nihonjin, {_UJI.format(c='shimei')}) AS _uji, "
        f"coalesce(na_nihonjin, {_NA.format(c='shimei')}) AS _na, "
        f"{_UJI.format(c='shimei_furigana')} AS _uji_kana, {_NA.format(c='shimei_furigana')} AS _na_kana "
        f"FROM read_parquet({_files(list(files.values()))}, {HIVE})",
    )
    _common_keys(con, "atena_raw")
    address = [("choaza", _STR), ("banchi", _STR)]
    derive(con, "atena_addr", "atena_raw", ["jusho_choaza", "jusho_banchigohyoki"], _atena_address, address, True)
    one_line = "concat_ws('', r.jusho_todofuken, r.jusho_shikugunchosonmei, r.jusho_choaza, r.jusho_banchigohyoki)"
    duck.run(
        con,
        "atena_keyed",
        "CREATE TEMP TABLE atena_keyed AS SELECT lg_code || ':' || atenabango AS rec_id, lg_code, atenabango, "
        "coalesce(juminhyokodo, '') AS juminhyokodo, jutokubun, 0::INTEGER AS version, shimei, "
        "coalesce(shimei_furigana, '') AS shimei_furigana, n.uji_kanji, m.na_kanji, k.uji_kana, l.na_kana, "
        "seibetsu, b.birth_year, b.birth_month, b.birth_day, coalesce(r.seinengappi_text, '') AS seinengappi_text, "
        "jusho_shikuchosonkodo, ad.choaza, ad.banchi, "
        f"{one_line} || CASE WHEN r.jusho_katagaki IS NULL THEN '' ELSE '　' || r.jusho_katagaki END AS jusho "
        "FROM atena_raw r "
        + _key_joins("r")
        + " LEFT JOIN atena_addr ad ON ad.jusho_choaza IS NOT DISTINCT FROM r.jusho_choaza "
        "AND ad.jusho_banchigohyoki IS NOT DISTINCT FROM r.jusho_banchigohyoki ORDER BY lg_code, atenabango",
    )


def _common_keys(con: duckdb.DuckDBPyConnection, raw: str) -> None:
    """Name, kana and birth keys of ``raw`` (which has ``_uji``, ``_na``, ``_uji_kana``,
    ``_na_kana`` and the 生年月日 items)."""
    derive(con, "key_uji", raw, ["_uji"], lambda u: (keys.kanji_key(u) or "",), [("uji_kanji", _STR)])
    derive(con, "key_na", raw, ["_na"], lambda n: (keys.kanji_key(n) or "",), [("na_kanji", _STR)])
    derive(con, "key_uji_kana", raw, ["_uji_kana"], lambda u: (keys.kana_key(u) or "",), [("uji_kana", _STR)])
    derive(con, "key_na_kana", raw, ["_na_kana"], lambda n: (keys.kana_key(n) or "",), [("na_kana", _STR)])
    derive(
        con,
        "key_birth",
        raw,
        ["seinengappi_text", "seinengappi_fushofuragu", "seinengappi_fushohyoki"],
        _birth,
        [("birth_year", _INT), ("birth_month", _INT), ("birth_day", _INT)],
    )


def _key_joins(r: str) -> str:
    def on(table: str, alias: str, cols: Sequence[str]) -> str:
        cond = " AND ".join(f"{alias}.{c} IS NOT DISTINCT FROM {r}.{c}" for c in cols)
        return f" LEFT JOIN {table} {alias} ON {cond}"

    return (
        on("key_uji", "n", ["_uji"])
        + on("key_na", "m", ["_na"])
        + on("key_uji_kana", "k", ["_uji_kana"])
        + on("key_na_kana", "l", ["_na_kana"])
        + on("key_birth", "b", ["seinengappi_text", "seinengappi_fushofuragu", "seinengappi_fushohyoki"])
    )


def load_juki(con: duckdb.DuckDBPyConnection, lake: Lake, kijunbi: str, files: Mapping[str, str]) -> None:
    """Create ``juki_keyed`` (the 住基 snapshot ``files``, lg_code → data file, with the history
    versions of their municipalities' accepted sets; one file at least) and ``juki_last``."""
    history = [f for code in sorted(files) for f in lake.accepted_files(JUKI.name, code)]
    d = f"DATE {duck.quote_literal(kijunbi)}"
    if history:
        # per municipality: a person's 履歴番号 count inside the file of the municipality that sent it
        versions = versions_sql(JUKI, f"read_parquet({_files(history)})", kijunbi).replace(
            "PARTITION BY", "PARTITION BY lg_code, ", 1
        )
        duck.run(
            con,
            "juki_hist",
            f"CREATE TEMP TABLE juki_hist AS SELECT * FROM ({versions}) WHERE idobi <= {d} AND shoribi <= {d}",
        )
    else:
        duck.run(con, "juki_hist", f"CREATE TEMP TABLE juki_hist AS SELECT * FROM read_parquet({_files([])})")
    names = ", ".join(f"({duck.quote_literal(c)}, {duck.quote_literal(n)})" for c, n in sorted(IDOJIYU.items()))
    duck.run(
        con,
        "juki_last",
        "CREATE TEMP TABLE juki_last AS SELECT lg_code, juminhyokodo, idojiyu || ' ' || i.name AS status "
        f"FROM juki_hist JOIN (VALUES {names}) i(code, name) ON i.code = idojiyu "
        "QUALIFY row_number() OVER (PARTITION BY lg_code, juminhyokodo ORDER BY idobi DESC, rirekibango DESC) = 1 "
        "ORDER BY lg_code, juminhyokodo",
    )
    # version 0: the staged snapshot; 1..: older rows of the same persons, newest first
    duck.run(
        con,
        "juki_raw",
        "CREATE TEMP TABLE juki_raw AS SELECT *, "
        f"{_UJI.format(c='shimei')} AS _uji, {_NA.format(c='shimei')} AS _na, "
        f"{_UJI.format(c='shimei_furigana')} AS _uji_kana, {_NA.format(c='shimei_furigana')} AS _na_kana FROM ("
        f"SELECT s.*, 0 AS _v FROM read_parquet({_files(list(files.values()))}, {HIVE}) s "
        "UNION ALL BY NAME SELECT h.* EXCLUDE (kijunbi), row_number() OVER (PARTITION BY h.lg_code, "
        "h.juminhyokodo ORDER BY h.idobi DESC, h.rirekibango DESC) AS _v FROM juki_hist h "
        f"SEMI JOIN read_parquet({_files(list(files.values()))}, {HIVE}) s "
        "ON s.lg_code = h.lg_code AND s.juminhyokodo = h.juminhyokodo)",
    )
    _common_keys(con, "juki_raw")
    address = [("choaza", _STR), ("banchi", _STR)]
    derive(con, "juki_addr", "juki_raw", ["lg_code", "jusho"], _juki_address, address, parallel=True)
    compared = "r.shimei, r.shimei_furigana, r.jusho_shikuchosonkodo, r.jusho"
    keyed = ", ".join("version" if f.name == "version" else duck.quote_ident(f.name) for f in KEYED)
    duck.run(
        con,
        "juki_keyed",
        f"CREATE TEMP TABLE juki_keyed AS SELECT {keyed} FROM (SELECT *, (row_number() OVER "
        "(PARTITION BY lg_code, juminhyokodo ORDER BY _v) - 1)::INTEGER AS version FROM ("
        "SELECT juminhyokodo AS rec_id, r.lg_code, '' AS atenabango, juminhyokodo, '' AS jutokubun, "
        "_v, shimei, coalesce(shimei_furigana, '') AS shimei_furigana, n.uji_kanji, m.na_kanji, k.uji_kana, "
        "l.na_kana, seibetsu, b.birth_year, b.birth_month, b.birth_day, "
        "coalesce(r.seinengappi_text, '') AS seinengappi_text, jusho_shikuchosonkodo, ad.choaza, ad.banchi, "
        "r.jusho FROM juki_raw r"
        + _key_joins("r")
        + " LEFT JOIN juki_addr ad ON ad.lg_code = r.lg_code AND ad.jusho IS NOT DISTINCT FROM r.jusho "
        # an older version the same as a newer one in what is compared adds nothing
        f"QUALIFY row_number() OVER (PARTITION BY r.lg_code, juminhyokodo, {compared} ORDER BY _v) = 1)) "
        "ORDER BY lg_code, juminhyokodo, version",
    )
