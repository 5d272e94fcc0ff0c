"""The one way this project runs DuckDB."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from jumin.core import store
from jumin.core.errors import TerminalError

#: query parameters: positional (``?``) or named (``$name``)
Params = Sequence[object] | Mapping[str, object] | None


def _spill_folder() -> str:
    return str(Path(tempfile.gettempdir()) / "jumin-duckdb")


@dataclass(frozen=True)
class DuckConfig:
    """DuckDB resources per task; workers run one municipality at a time."""

    threads: int = 2
    memory_limit: str = "4GB"
    #: where DuckDB spills what exceeds ``memory_limit`` (never the worker's current folder)
    temp_directory: str = field(default_factory=_spill_folder)


_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_bytes(size: str) -> int:
    """Bytes of a DuckDB size setting such as ``4GB`` or ``512MiB`` (DuckDB's units)."""
    text = size.strip().upper().replace(" ", "")
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(unit)]) * _UNITS[unit])
    raise ValueError(f"not a DuckDB size: {size!r} (e.g. 4GB, 512MiB)")


class QueryFailed(TerminalError):
    """A DuckDB statement failed; the message names the table and carries the SQL."""

    def __init__(self, table: str, sql: str, cause: Exception) -> None:
        self.table = table
        self.sql = sql
        super().__init__(f"DuckDB failed building {table}: {cause}\n--- SQL ---\n{sql}")


#: the deployment's DuckDB memory limit per task, over every stage's own (docs/operations.md):
#: a worker's memory divided by the tasks it runs at once, less what a task holds besides DuckDB
MEMORY_LIMIT_ENV = "JUMIN_DUCKDB_MEMORY_LIMIT"


def connect(config: DuckConfig | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the project's resource settings (its memory limit
    :data:`MEMORY_LIMIT_ENV` when the deployment sets one)."""
    c = config or DuckConfig()
    limit = os.environ.get(MEMORY_LIMIT_ENV) or c.memory_limit
    settings: dict[str, str | bool | int | float | list[str]] = {
        "threads": c.threads,
        "memory_limit": limit,
        "temp_directory": c.temp_directory,
    }
    con = duckdb.connect(":memory:", config=settings)
    store.register(con)  # s3:// names of an object-store lake
    return con


def run(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: Params = None) -> duckdb.DuckDBPyConnection:
    """Execute ``sql`` (building ``table``); a failure re-raises naming the table with the SQL."""
    try:
        return con.execute(sql, params) if params is not None else con.execute(sql)
    except duckdb.Error as e:
        raise QueryFailed(table, sql, e) from e


def rows(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
    """All result rows of a (small) query building ``table``, as tuples."""
    return run(con, table, sql, params).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: Params = None) -> Any:
    """The first value of the first row of a query building ``table``."""
    return rows(con, table, sql, params)[0][0]


def batches(
    con: duckdb.DuckDBPyConnection, table: str, sql: str, rows_per_batch: int, params: Params = None
) -> pa.RecordBatchReader:
    """Stream the result of a query building ``table`` as Arrow batches, so a large result is
    never whole in Python's memory (a relation's reader: an executed statement's would copy
    every row first)."""
    try:
        return con.sql(sql, params=params).to_arrow_reader(rows_per_batch)
    except duckdb.Error as e:
        raise QueryFailed(table, sql, e) from e


def quote_ident(name: str) -> str:
    """A safely quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A safely quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def arrow(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: Params = None) -> pa.Table:
    """Run a query building ``table`` and return its whole result as an Arrow table."""
    try:
        # a relation streams straight into Arrow; a DB-API result would copy the rows once more
        result = con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as e:
        raise QueryFailed(table, sql, e) from e
    return result


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104), the parameters of :func:`hmac_sha256_sql`."""
    import hashlib

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256_sql(expr: str, ipad: str = "$ipad", opad: str = "$opad") -> str:
    """HMAC-SHA256 of the VARCHAR expression ``expr`` (its UTF-8 bytes) as lowercase hex, equal
    to Python's ``hmac.new(key, expr.encode(), sha256).hexdigest()`` (tested); ``ipad`` and
    ``opad`` are the SQL (parameters) of the key's pads, :func:`hmac_pads`. NULL stays NULL."""
    return f"sha256({opad} || unhex(sha256({ipad} || encode({expr}))))"
