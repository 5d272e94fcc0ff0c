"""A SaaS's outbox on the landing zone, written by the service account: where its deliveries
are published for it to pull (read only for the SaaS, see :mod:`jumin.core.landing`).

Two kinds, as for inboxes: a local landing folder, or the zone's SFTP server (``sftp://`` URI
of the service account). Files appear whole: each is written under a hidden temporary name
in its folder and renamed, so a SaaS never reads half a file under the real name.
"""

from __future__ import annotations

import posixpath
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import paramiko

from extract.errors import InboxMissing, SftpUnavailable
from extract.sftp import SftpSettings, open_sftp
from jumin.core.files import atomic_path, remove_stale_temps
from jumin.core.landing import PARTIAL_SUFFIX, LandingTree, remote_saas_outbox


class SaasOutbox(Protocol):
    """Where deliveries go for one SaaS account."""

    account: str

    def put(self, relpath: str, source: Path) -> None:
        """Copy ``source`` to ``<outbox>/<relpath>`` (folders made as needed), atomically."""
        ...


class LocalSaasOutbox:
    """The outbox in a local landing folder."""

    def __init__(self, root: str | Path, account: str) -> None:
        self.account = account
        self.folder = LandingTree(Path(root)).saas_outbox(account)
        if not self.folder.is_dir():
            raise InboxMissing(
                f"no outbox for SaaS {account}: expected {self.folder} "
                f"(`jumin landing provision --saas {account}` makes it)"
            )

    def put(self, relpath: str, source: Path) -> None:
        target = self.folder / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target.parent)  # what a killed earlier publication left
        with atomic_path(target) as tmp, source.open("rb") as f, tmp.open("wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)  # the source may be in an object-store lake


class SftpSaasOutbox:
    """The outbox on the zone's SFTP server, as the service account sees it."""

    def __init__(self, sftp: paramiko.SFTPClient, account: str) -> None:
        self.account = account
        self.sftp = sftp
        self.folder = remote_saas_outbox(account)
        try:
            sftp.stat(self.folder)
        except FileNotFoundError as e:
            raise InboxMissing(
                f"no outbox for SaaS {account} on the landing zone: expected {self.folder} "
                f"(`jumin landing provision --saas {account}` makes it)"
            ) from e
        except (OSError, paramiko.SSHException) as e:
            raise SftpUnavailable(f"SaaS {account}: stat {self.folder}: {e}") from e

    def _makedirs(self, folder: str) -> None:
        current = self.folder
        for part in posixpath.relpath(folder, self.folder).split("/"):
            if part in ("", "."):
                continue
            current = posixpath.join(current, part)
            try:
                self.sftp.stat(current)
            except FileNotFoundError:
                self.sftp.mkdir(current, 0o750)

    def put(self, relpath: str, source: Path) -> None:
        # one temporary name per file: what a killed earlier publication left is overwritten
        target = posixpath.join(self.folder, relpath)
        folder, name = posixpath.split(target)
        tmp = posixpath.join(folder, f".{name}{PARTIAL_SUFFIX}")
        try:
            self._makedirs(folder)
            with source.open("rb") as f:
                self.sftp.putfo(f, tmp, confirm=True)
            self.sftp.posix_rename(tmp, target)
        except (OSError, paramiko.SSHException) as e:
            raise SftpUnavailable(f"SaaS {self.account}: put {target}: {e}") from e


@contextmanager
def open_saas_outbox(source: str | Path, account: str) -> Iterator[SaasOutbox]:
    """The outbox of SaaS ``account`` at ``source``: a local landing folder or an ``sftp://``
    URI of the service account; a missing outbox is an error naming where it was expected."""
    if str(source).startswith("sftp://"):
        client, sftp = open_sftp(SftpSettings.from_uri(str(source)))
        try:
            yield SftpSaasOutbox(sftp, account)
        finally:
            client.close()
    else:
        yield LocalSaasOutbox(source, account)
