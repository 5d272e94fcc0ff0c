"""Errors of the load stage."""

from __future__ import annotations

from jumin.core.errors import TerminalError, TransientError


class StageWriteFailed(TransientError):
    """The lake could not be written (disk, object storage); retry."""


class SchemaMismatch(TerminalError):
    """A staged table does not have the layout's schema (a defect, not bad data)."""


class SnapshotMissing(TerminalError):
    """A delta was asked for between snapshots that are not staged."""
