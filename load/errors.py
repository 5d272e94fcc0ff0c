"""Errors of the load stage."""

from __future__ import annotations

from jumin.errors import TerminalError, TransientError


class StageWriteFailed(TransientError):
    """The lake could not be written (disk, object storage); retry."""


class SchemaMismatch(TerminalError):
    """A staged table does not have the layout's schema (a defect, not bad data)."""
