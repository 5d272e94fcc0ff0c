"""Errors of the landing zone (provisioning, the dedicated sshd, the embedded server).

A failed system command, a malformed key or a missing privilege is a :class:`LandingError`
(terminal: retrying will not help until an operator acts). A server that did not come up or go
down within its time limit is a :class:`LandingTimeout` (transient: worth one more try).
"""

from __future__ import annotations

from jumin.core.errors import TerminalError, TransientError


class LandingError(TerminalError):
    """A landing-zone operation failed; the message names the command or file involved."""


class LandingTimeout(TransientError):
    """A server did not reach the expected state (listening, stopped) in time."""
