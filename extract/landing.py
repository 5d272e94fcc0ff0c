"""Open the landing zone at a source: a local landing folder or the ``sftp://`` URI of the SFTP
landing zone. The only module that knows both kinds of :class:`~extract.inbox.Inbox`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from extract.inbox import Inbox, LocalInbox
from extract.sftp import SftpInbox, SftpSettings, list_municipalities
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.landing import INBOX


@contextmanager
def open_inbox(source: str | Path, lg_code: str) -> Iterator[Inbox]:
    """The inbox of ``lg_code`` at ``source``: a local landing folder or an ``sftp://`` URI."""
    if str(source).startswith("sftp://"):
        with SftpInbox(SftpSettings.from_uri(str(source)), lg_code) as inbox:
            yield inbox
    else:
        yield LocalInbox(source, lg_code)


def municipalities_at(source: str | Path) -> list[str]:
    """Municipality codes that have an inbox at ``source``."""
    if str(source).startswith("sftp://"):
        return list_municipalities(str(source))
    root = Path(source)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if is_valid_lg_code(p.name) and (p / INBOX).is_dir())
