"""Where upload sets arrive: a municipality's inbox, on local disk or over SFTP.

Both kinds have the same tree (see :mod:`jumin.core.landing`): ``<lg_code>/inbox`` for
uploads, ``<lg_code>/outbox`` for receipts, ``archive/<lg_code>/<set_id>/`` for processed sets.
Ingest only talks to the :class:`Inbox` protocol, so the same code serves both; the SFTP kind
is in :mod:`extract.sftp`, and :mod:`extract.landing` opens either.

Ingest trusts no link: an inbox lists every entry with its :data:`EntryKind` (from ``lstat``,
never following a link), and reading anything but one plain regular file — a symlink, a hard
link (link count > 1), a folder, FIFO, socket or device — raises :class:`UploadSetRejected`
with F0014. The local kind checks again on the opened descriptor (``O_NOFOLLOW`` and
``fstat``), so an entry swapped between the listing and the open is caught too.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from extract.errors import UploadSetRejected
from jumin.core.errors import Finding
from jumin.core.files import atomic_path, atomic_write_bytes, remove_stale_temps
from jumin.core.landing import PARTIAL_SUFFIX, LandingTree

#: what an inbox entry is: one plain regular file (the only kind ingest reads), a symbolic link,
#: a regular file with more than one name (hard link), or not a regular file at all
EntryKind = Literal["file", "symlink", "hardlink", "not a regular file"]


@dataclass(frozen=True)
class InboxFile:
    """An entry waiting in an inbox."""

    name: str
    size: int
    mtime: float
    kind: EntryKind = "file"
    #: what the entry is, for a receipt or a log line ("FIFO", "link count 2" …)
    what: str = ""


def entry_kind(mode: int, nlink: int | None) -> tuple[EntryKind, str]:
    """The kind of an entry from its ``lstat`` mode and link count (None when unknown)."""
    if stat.S_ISLNK(mode):
        return "symlink", "symbolic link"
    if not stat.S_ISREG(mode):
        return "not a regular file", file_type(mode)
    if nlink is not None and nlink > 1:
        return "hardlink", f"link count {nlink}"
    return "file", ""


def file_type(mode: int) -> str:
    """A name for what a non-regular entry is."""
    for test, name in (
        (stat.S_ISDIR, "folder"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return f"file type {stat.S_IFMT(mode):o}"


def refused(name: str, kind: EntryKind, what: str) -> UploadSetRejected:
    """The F0014 rejection of a set that names (or is) an entry ingest does not read."""
    detail = kind if not what or what == kind else f"{kind}: {what}"
    return UploadSetRejected(Finding("F0014", file=name, value=kind, detail=f"{detail}; not read"))


def check_plain(entry: InboxFile) -> None:
    """Raise the F0014 rejection unless ``entry`` is one plain regular file."""
    if entry.kind != "file":
        raise refused(entry.name, entry.kind, entry.what)


class Inbox(Protocol):
    """One municipality's inbox and outbox."""

    lg_code: str

    def files(self) -> list[InboxFile]:
        """Every entry of the inbox but those still being uploaded (hidden or partial names),
        each with its kind, links and special files included (never followed)."""
        ...

    def read(self, name: str) -> bytes:
        """The whole content of a (small) inbox file; F0014 unless it is a plain file."""
        ...

    def fetch(self, name: str, dest: Path) -> None:
        """Copy an inbox file to a local path; F0014 unless it is a plain file."""
        ...

    def archive(self, names: list[str], set_id: str) -> None:
        """Move processed entries (the manifest last in ``names``) out of the inbox into the
        archive of ``set_id``, as they are (a link is moved, not followed). Restartable: an
        archive folder of ``set_id`` without the manifest was left by an interrupted move and
        is completed; names no longer in the inbox were moved already."""
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
        for name in sorted(os.listdir(self.folder)):
            if waiting(name):
                continue
            try:
                st = os.lstat(self.folder / name)
            except FileNotFoundError:  # removed while listing
                continue
            kind, what = entry_kind(st.st_mode, st.st_nlink)
            out.append(InboxFile(name, st.st_size, st.st_mtime, kind, what))
        return out

    def _open(self, name: str) -> int:
        """A descriptor of the plain file ``name``, never through a link: ``O_NOFOLLOW`` refuses
        a symlink, ``O_NONBLOCK`` keeps a FIFO from blocking, and ``fstat`` of what was opened
        must be a regular file with one name."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.folder / name, flags)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise refused(name, "symlink", "symbolic link") from e
            if e.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket cannot be opened
                raise refused(name, "not a regular file", "socket") from e
            raise
        st = os.fstat(fd)
        kind, what = entry_kind(st.st_mode, st.st_nlink)
        if kind != "file":
            os.close(fd)
            raise refused(name, kind, what)
        os.set_blocking(fd, True)
        return fd

    def read(self, name: str) -> bytes:
        with os.fdopen(self._open(name), "rb") as f:
            return f.read()

    def fetch(self, name: str, dest: Path) -> None:
        with os.fdopen(self._open(name), "rb") as src, atomic_path(dest) as tmp, tmp.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)

    def archive(self, names: list[str], set_id: str) -> None:
        base = self.tree.archive(self.lg_code)
        existing = {p.name for p in base.iterdir()} if base.is_dir() else set()
        target = base / archive_target(existing, set_id, lambda folder: os.path.lexists(base / folder / names[-1]))
        target.mkdir(parents=True, exist_ok=True)
        for n in names:
            if os.path.lexists(self.folder / n):  # else moved by an interrupted run
                os.replace(self.folder / n, target / n)

    def outbox_names(self) -> set[str]:
        outbox = self.tree.outbox(self.lg_code)
        remove_stale_temps(outbox)  # receipts a killed run was writing
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


def archive_target(existing: set[str], set_id: str, has_manifest: Callable[[str], bool]) -> str:
    """The archive folder to move a set into: the last folder of ``set_id`` when it lacks the
    manifest (an interrupted move left it; the manifest is moved last), else a new one."""
    new = archive_name(existing, set_id)
    n = int(new.rpartition(".")[2]) if new != set_id else 1
    last = None if n == 1 else set_id if n == 2 else f"{set_id}.{n - 1}"
    if last is not None and not has_manifest(last):
        return last
    return new


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
