"""Where upload sets arrive: a municipality's inbox, on local disk or over SFTP.

Both kinds have the same tree (see :mod:`jumin.core.landing`): ``<lg_code>/inbox`` for
uploads, ``<lg_code>/outbox`` for receipts, ``archive/<lg_code>/<set_id>/`` for processed sets.
Ingest only talks to the :class:`Inbox` protocol, so the same code serves both; the SFTP kind
is in :mod:`extract.sftp`, and :mod:`extract.landing` opens either.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jumin.core.files import atomic_write_bytes
from jumin.core.landing import PARTIAL_SUFFIX, LandingTree


@dataclass(frozen=True)
class InboxFile:
    """A file waiting in an inbox."""

    name: str
    size: int
    mtime: float


class Inbox(Protocol):
    """One municipality's inbox and outbox."""

    lg_code: str

    def files(self) -> list[InboxFile]:
        """Files in the inbox, without folders and files still being uploaded."""
        ...

    def read(self, name: str) -> bytes:
        """The whole content of a (small) inbox file."""
        ...

    def fetch(self, name: str, dest: Path) -> None:
        """Copy an inbox file to a local path."""
        ...

    def archive(self, names: list[str], set_id: str) -> None:
        """Move processed files out of the inbox into the archive of ``set_id``."""
        ...

    def outbox_names(self) -> set[str]:
        """Names of the files in the outbox."""
        ...

    def put_outbox(self, name: str, data: bytes) -> None:
        """Write a file to the outbox atomically (temporary name, then rename)."""
        ...


def waiting(name: str) -> bool:
    """True for names ingest must not touch yet: hidden files and partial uploads."""
    return name.startswith(".") or name.endswith(PARTIAL_SUFFIX)


class LocalInbox:
    """An inbox in a local landing tree (the demo, tests, a mounted file share)."""

    def __init__(self, root: str | Path, lg_code: str) -> None:
        self.tree = LandingTree(root=Path(root))
        self.lg_code = lg_code
        self.folder = self.tree.inbox(lg_code)

    def files(self) -> list[InboxFile]:
        if not self.folder.is_dir():
            return []
        out = []
        for p in sorted(self.folder.iterdir()):
            if p.is_file() and not waiting(p.name):
                st = p.stat()
                out.append(InboxFile(p.name, st.st_size, st.st_mtime))
        return out

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def fetch(self, name: str, dest: Path) -> None:
        shutil.copyfile(self.folder / name, dest)

    def archive(self, names: list[str], set_id: str) -> None:
        base = self.tree.archive(self.lg_code)
        existing = {p.name for p in base.iterdir()} if base.is_dir() else set()
        target = base / archive_name(existing, set_id)
        target.mkdir(parents=True)
        for n in names:
            os.replace(self.folder / n, target / n)

    def outbox_names(self) -> set[str]:
        outbox = self.tree.outbox(self.lg_code)
        return {p.name for p in outbox.iterdir()} if outbox.is_dir() else set()

    def put_outbox(self, name: str, data: bytes) -> None:
        atomic_write_bytes(self.tree.outbox(self.lg_code) / name, data)


def archive_name(existing: set[str], set_id: str) -> str:
    """``<set_id>``, or ``<set_id>.2``, ``.3``… when an identical set was archived before."""
    name, n = set_id, 1
    while name in existing:
        n += 1
        name = f"{set_id}.{n}"
    return name


def deliver_local(upload_dir: Path, root: str | Path, lg_code: str) -> list[str]:
    """Put the upload sets of ``upload_dir`` into a local inbox, following the upload protocol:
    every file under a temporary name first, then renamed; manifests last."""
    inbox = LandingTree(root=Path(root)).inbox(lg_code)
    inbox.mkdir(parents=True, exist_ok=True)
    names = sorted(
        (p.name for p in upload_dir.iterdir() if p.is_file()), key=lambda n: (n.endswith(".manifest.json"), n)
    )
    for n in names:
        tmp = inbox / f"{n}{PARTIAL_SUFFIX}"
        shutil.copyfile(upload_dir / n, tmp)
        os.replace(tmp, inbox / n)
    return names
