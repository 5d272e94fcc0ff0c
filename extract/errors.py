"""Errors of the extract stage."""

from __future__ import annotations

from jumin.errors import Finding, TerminalError


class UploadSetRejected(TerminalError):
    """The whole upload set is rejected for a file-level reason (F… code)."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        super().__init__(f"{finding.code} {where} {finding.detail}".strip())
