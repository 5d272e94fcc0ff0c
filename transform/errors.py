"""Errors of the transform stage (a failed query is :class:`jumin.core.duck.QueryFailed`)."""

from __future__ import annotations

from jumin.core.errors import TerminalError


class DateRangeInvalid(TerminalError, ValueError):
    """A range of 基準日 that ends before it starts."""
