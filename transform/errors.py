"""Errors of the transform stage (a failed query is :class:`jumin.core.duck.QueryFailed`)."""

from __future__ import annotations

from jumin.core.errors import TerminalError


class DateRangeInvalid(TerminalError, ValueError):
    """A range of 基準日 that ends before it starts."""


class NothingToReconcile(TerminalError):
    """A reconciliation was asked for where the lake has no staged 宛名 or 住基 snapshot."""
