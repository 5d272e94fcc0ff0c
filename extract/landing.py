"""Open the landing zone at a source: a local landing folder or the ``sftp://`` URI of the SFTP
landing zone. The only module that knows both kinds of :class:`~extract.inbox.Inbox`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from extract.errors import InboxMissing
from extract.inbox import Inbox, LocalInbox
from extract.sftp import SftpInbox, SftpSettings, list_municipalities
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.landing import INBOX, LandingTree, remote_inbox


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


def requested_municipalities(source: str | Path, only: list[str] | None = None) -> list[str]:
    """The municipalities to read at ``source``: those in ``only`` (each must have an inbox), or
    every one that has an inbox. Raises :class:`InboxMissing` naming the folder it expected,
    rather than reading nothing and reporting success."""
    found = municipalities_at(source)
    if only:
        missing = [c for c in only if c not in found]
        if missing:
            where = ", ".join(_expected_inbox(source, c) for c in missing)
            raise InboxMissing(f"no inbox for {', '.join(missing)}: expected {where}")
        return list(only)
    if not found:
        raise InboxMissing(
            f"no municipality inbox at {source}: upload sets belong in "
            f"{_expected_inbox(source, '<lg_code>')}{_misplaced(source)}"
        )
    return found


def _expected_inbox(source: str | Path, lg_code: str) -> str:
    if str(source).startswith("sftp://"):
        return f"{source} {remote_inbox(lg_code)}"
    return str(LandingTree(Path(source)).inbox(lg_code))


def _misplaced(source: str | Path) -> str:
    """A hint when a local tree has municipality folders without ``inbox/`` (as the generator
    writes ``<out>/landing/<lg_code>/``)."""
    root = Path(source)
    if str(source).startswith("sftp://") or not root.is_dir():
        return ""
    codes = sorted(p.name for p in root.iterdir() if p.is_dir() and is_valid_lg_code(p.name))
    if not codes:
        return ""
    return f" (found {', '.join(codes)} without inbox/: move the files into {LandingTree(root).inbox(codes[0])})"
