"""The one way this project runs DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from transform.config import DuckConfig
from transform.errors import QueryFailed


def connect(config: DuckConfig | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the project's resource settings."""
    c = config or DuckConfig()
    con = duckdb.connect(":memory:", config={"threads": c.threads, "memory_limit": c.memory_limit,
                                              "temp_directory": c.temp_directory})
    return con


def run(con: duckdb.DuckDBPyConnection, table: str, sql: str,
        params: list[object] | dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute ``sql`` (building ``table``); a failure re-raises naming the table with the SQL."""
    try:
        return con.execute(sql, params) if params is not None else con.execute(sql)
    except duckdb.Error as e:
        raise QueryFailed(table, sql, e) from e


def batches(con: duckdb.DuckDBPyConnection, table: str, sql: str,
            rows_per_batch: int) -> pa.RecordBatchReader:
    """Stream the result of a query building ``table`` as Arrow batches, so a large result is
    never whole in Python's memory."""
    try:
        return con.sql(sql).to_arrow_reader(rows_per_batch)
    except duckdb.Error as e:
        raise QueryFailed(table, sql, e) from e


def quote_ident(name: str) -> str:
    """A safely quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A safely quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def arrow(con: duckdb.DuckDBPyConnection, table: str, sql: str,
          params: list[object] | dict[str, object] | None = None) -> pa.Table:
    """Run a query building ``table`` and return its whole result as an Arrow table."""
    try:
        # a relation streams straight into Arrow; a DB-API result would copy the rows once more
        result = con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as e:
        raise QueryFailed(table, sql, e) from e
    return result
