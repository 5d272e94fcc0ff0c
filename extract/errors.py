"""Errors of the extract stage."""

from __future__ import annotations

from jumin.core.errors import Finding, TerminalError, TransientError


class UploadSetRejected(TerminalError):
    """The whole upload set is rejected for a file-level reason (F… code)."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        super().__init__(f"{finding.code} {where} {finding.detail}".strip())


class SftpUnavailable(TransientError):
    """The SFTP server could not be reached or dropped the connection; retry."""


class SftpRefused(TerminalError):
    """The SFTP server refused us (wrong key, unknown host key): fix the connection first."""


class InboxMissing(TerminalError):
    """A municipality that was asked for has no inbox at the landing zone (or none has), or a
    SaaS no outbox: the message names the folder that was expected."""
