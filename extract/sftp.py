"""An inbox on the SFTP landing zone, read with paramiko as the service account.

Network and SSH failures are :class:`SftpUnavailable` (transient: the task retries); a wrong
key or an unknown host key is :class:`SftpRefused` (terminal: retrying will not help).

Links are refused by the server, and again here: every entry's kind comes from ``lstat``
attributes (``listdir_attr``), a hard link from the link count in OpenSSH's ``ls -l`` style
``longname`` (SFTP v3 attributes carry none), and a file is ``lstat``-ed again right before it is
opened, with the opened handle's ``fstat`` compared to it.
"""

from __future__ import annotations

import base64
import logging
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import paramiko

from extract.errors import SftpRefused, SftpUnavailable
from extract.inbox import InboxFile, archive_target, entry_kind, refused, waiting
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.files import atomic_path
from jumin.core.landing import PARTIAL_SUFFIX, remote_archive, remote_inbox, remote_outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SftpSettings:
    """How to reach the landing zone: host key pinned, key-only authentication."""

    host: str
    port: int
    username: str
    key_file: str
    #: the server's public host key, ``<type> <base64>`` (as in known_hosts without the host)
    host_key: str
    timeout_s: float = 30.0

    @classmethod
    def from_uri(cls, uri: str) -> SftpSettings:
        """Parse ``sftp://user@host:port?key_file=…&host_key=…`` (Airflow's connection URI)."""
        u = urlparse(uri)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if not (u.hostname and u.username and q.get("key_file") and q.get("host_key")):
            raise SftpRefused(f"connection URI needs user, host, key_file and host_key: {uri!r}")
        return cls(
            host=u.hostname,
            port=u.port or 22,
            username=unquote(u.username),
            key_file=q["key_file"],
            host_key=q["host_key"],
            timeout_s=float(q.get("timeout", 30)),
        )

    def to_uri(self) -> str:
        """The inverse of :meth:`from_uri` (for ``AIRFLOW_CONN_JUMIN_SFTP``)."""
        from urllib.parse import quote

        return (
            f"sftp://{quote(self.username)}@{self.host}:{self.port}"
            f"?key_file={quote(self.key_file)}&host_key={quote(self.host_key)}"
            f"&timeout={self.timeout_s:g}"
        )


def open_sftp(settings: SftpSettings) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    """Connect and open an SFTP session; the host key must match ``settings.host_key``."""
    client = paramiko.SSHClient()
    key_type, key_data = settings.host_key.split()[:2]
    host_id = settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"
    client.get_host_keys().add(host_id, key_type, paramiko.PKey.from_type_string(key_type, base64.b64decode(key_data)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            settings.host,
            port=settings.port,
            username=settings.username,
            key_filename=settings.key_file,
            look_for_keys=False,
            allow_agent=False,
            timeout=settings.timeout_s,
            banner_timeout=settings.timeout_s,
            auth_timeout=settings.timeout_s,
        )
        return client, client.open_sftp()
    except (paramiko.AuthenticationException, paramiko.BadHostKeyException, paramiko.SSHException) as e:
        client.close()
        if isinstance(
            e, paramiko.AuthenticationException | paramiko.BadHostKeyException
        ) or "not found in known_hosts" in str(e):
            raise SftpRefused(f"{settings.username}@{settings.host}:{settings.port}: {e}") from e
        raise SftpUnavailable(f"{settings.host}:{settings.port}: {e}") from e
    except OSError as e:
        client.close()
        raise SftpUnavailable(f"{settings.host}:{settings.port}: {e}") from e


class SftpInbox:
    """One municipality's inbox, outbox and archive, seen by the service account."""

    def __init__(self, settings: SftpSettings, lg_code: str) -> None:
        self.settings = settings
        self.lg_code = lg_code
        self.inbox = remote_inbox(lg_code)
        self.outbox = remote_outbox(lg_code)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> SftpInbox:
        self._client, self._sftp = open_sftp(self.settings)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            self._client.close()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise RuntimeError("use SftpInbox as a context manager")
        return self._sftp

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except (OSError, paramiko.SSHException) as e:
            raise SftpUnavailable(f"{self.lg_code}: {what}: {e}") from e

    def files(self) -> list[InboxFile]:
        attrs = self._call("list inbox", self.sftp.listdir_attr, self.inbox)
        out = []
        for a in attrs:
            if waiting(a.filename):
                continue
            kind, what = entry_kind(a.st_mode or 0, link_count(getattr(a, "longname", None)))
            out.append(InboxFile(a.filename, a.st_size or 0, float(a.st_mtime or 0), kind, what))
        return sorted(out, key=lambda f: f.name)

    def _plain(self, name: str) -> paramiko.SFTPAttributes:
        """The ``lstat`` of ``name``; F0014 unless it is a regular file (not a link)."""
        a = self._call("lstat", self.sftp.lstat, posixpath.join(self.inbox, name))
        kind, what = entry_kind(a.st_mode or 0, None)
        if kind != "file":
            raise refused(name, kind, what)
        return a

    def _open(self, name: str) -> paramiko.SFTPFile:
        """Open a plain file; the handle's ``fstat`` must be the file ``lstat`` saw (a link put
        in its place in between would be followed by the server and show another file)."""
        before = self._plain(name)
        f = self._call("open", self.sftp.open, posixpath.join(self.inbox, name), "rb")
        after = self._call("fstat", f.stat)
        if (after.st_mode, after.st_size, after.st_mtime) != (before.st_mode, before.st_size, before.st_mtime):
            f.close()
            raise refused(name, "not a regular file", "changed while being opened")
        return f

    def read(self, name: str) -> bytes:
        with self._open(name) as f:
            return bytes(self._call("read", f.read))

    def fetch(self, name: str, dest: Path) -> None:
        with self._open(name) as f, atomic_path(dest) as tmp, tmp.open("wb") as out:
            f.prefetch()
            while block := self._call("read", f.read, 1 << 20):
                out.write(block)

    def archive(self, names: list[str], set_id: str) -> None:
        base = remote_archive(self.lg_code)
        existing = set(self._call("list archive", self.sftp.listdir, base))
        folder = archive_target(existing, set_id, lambda f: names[-1] in self._listdir(f"{base}/{f}"))
        target = f"{base}/{folder}"
        if folder not in existing:
            self._call("mkdir", self.sftp.mkdir, target)
        present = {a.filename for a in self._call("list inbox", self.sftp.listdir_attr, self.inbox)}
        for name in names:
            if name not in present:  # moved by an interrupted run
                continue
            self._call(
                "archive", self.sftp.posix_rename, posixpath.join(self.inbox, name), posixpath.join(target, name)
            )

    def _listdir(self, path: str) -> set[str]:
        return set(self._call("list archive", self.sftp.listdir, path))

    def outbox_names(self) -> set[str]:
        return set(self._call("list outbox", self.sftp.listdir, self.outbox))

    def put_outbox(self, name: str, data: bytes) -> None:
        tmp = posixpath.join(self.outbox, f".{name}{PARTIAL_SUFFIX}")
        with self._call("open", self.sftp.open, tmp, "wb") as f:
            self._call("write", f.write, data)
        self._call("rename", self.sftp.posix_rename, tmp, posixpath.join(self.outbox, name))


def link_count(longname: str | None) -> int | None:
    """The link count in an ``ls -l`` style ``longname`` (its second field), or None."""
    fields = (longname or "").split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def list_municipalities(uri: str) -> list[str]:
    """Municipality folders at the root of the landing zone (as the service account sees it)."""
    client, sftp = open_sftp(SftpSettings.from_uri(uri))
    try:
        return sorted(
            a.filename for a in sftp.listdir_attr("/") if stat.S_ISDIR(a.st_mode or 0) and is_valid_lg_code(a.filename)
        )
    except (OSError, paramiko.SSHException) as e:
        raise SftpUnavailable(f"list landing zone: {e}") from e
    finally:
        client.close()
