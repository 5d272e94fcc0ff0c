"""Errors of the transform stage."""

from __future__ import annotations

from jumin.errors import TerminalError


class QueryFailed(TerminalError):
    """A DuckDB statement failed; the message names the table and carries the SQL."""

    def __init__(self, table: str, sql: str, cause: Exception) -> None:
        self.table = table
        self.sql = sql
        super().__init__(f"DuckDB failed building {table}: {cause}\n--- SQL ---\n{sql}")


class SnapshotMissing(TerminalError):
    """A delta was asked for between snapshots that are not staged."""
