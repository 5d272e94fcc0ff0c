"""Errors of the validation stage."""

from __future__ import annotations

from jumin.core.errors import TerminalError


class SuiteFailed(TerminalError):
    """An expectation could not be evaluated at all (a defect, not bad data)."""
