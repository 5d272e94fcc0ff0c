"""An embedded SFTP server (asyncssh) with the same view as the OpenSSH landing zone.

For ``make demo`` and local trials: no root, no system accounts, no system packages. It serves the
folders of config.py's layout from ``<root>`` and authorizes the keys in
``<state>/authorized_keys/<user>``, exactly like the dedicated sshd (so :func:`add_key` and
:func:`remove_key` of :mod:`jumin.apps.landing.provision` work on both).

The operating system does not confine anything here (one process, one OS user), so the server
enforces it itself:

- a municipality ``lg<code>`` is chrooted to ``<root>/<code>``, a SaaS ``saas_<account>`` to
  ``<root>/saas/<account>``, the service account to ``<root>``; a path whose real location leaves
  the chroot (``..``, a symlink placed on the host) is refused;
- writes (create, truncate, remove, rename, mkdir, rmdir, setstat) are allowed only *inside*
  writable folders: ``/inbox`` for a municipality, none for a SaaS (read only); every
  ``/<code>/inbox``, ``/<code>/outbox``, ``/archive/<code>`` and ``/saas/<account>/outbox`` for
  the service account. The folders themselves cannot be removed;
- symlinks and hard links cannot be created (as ``internal-sftp -P symlink,hardlink``);
- only public-key authentication; no shell, exec, or forwarding.

Use it as a context manager; it runs its own event loop in a background thread::

    with EmbeddedSftpServer(LandingConfig(root=..., state=..., port=0)) as server:
        upload_to("127.0.0.1", server.port)
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import asyncssh
from asyncssh.sftp import FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_WRITE

from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.errors import LandingError, LandingTimeout
from jumin.apps.landing.provision import add_key
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.landing import (
    ARCHIVE,
    INBOX,
    OUTBOX,
    lg_code_of_user,
    municipality_user,
    remote_saas_outbox,
    saas_account_of_user,
    saas_user,
)

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
_WRITE_FLAGS = FXF_WRITE | FXF_CREAT | FXF_TRUNC | FXF_APPEND


# --------------------------------------------------------------------------- folders and keys


def prepare_tree(
    config: LandingConfig,
    lg_codes: Iterable[str],
    keys: dict[str, str] | None = None,
    saas_accounts: Iterable[str] = (),
) -> None:
    """Create the landing folders (municipalities and SaaS outboxes) and authorize ``keys``
    (user → public key), without accounts.

    The unprivileged counterpart of :func:`jumin.apps.landing.provision.provision`: same layout, no
    chown (everything belongs to the current user), and no chroot rule, so a temp folder is fine.
    """
    for code in lg_codes:
        municipality_user(code)  # validates the code
        for folder in (config.inbox(code), config.outbox(code), config.archive(code)):
            folder.mkdir(parents=True, exist_ok=True)
    for account in saas_accounts:
        saas_user(account)  # validates the name
        config.saas_outbox(account).mkdir(parents=True, exist_ok=True)
    config.root.mkdir(parents=True, exist_ok=True)
    config.authorized_keys.mkdir(parents=True, exist_ok=True)
    load_host_key(config)
    for user, key in (keys or {}).items():
        add_key(config, user, key)


def load_host_key(config: LandingConfig) -> asyncssh.SSHKey:
    """The zone's ed25519 host key, generated (OpenSSH format, 0600) if absent.

    It is the same file the dedicated sshd uses, so a client pinning it sees one host either way.
    """
    path = config.host_key
    if path.exists():
        return asyncssh.read_private_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="jumin-landing")
    # create 0600 before writing: the private key must never be readable by others
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    key.write_public_key(str(path) + ".pub")
    log.info("generated host key %s", path)
    return key


def writable_folders(config: LandingConfig, user: str) -> tuple[str, ...]:
    """The folders (as the user sees them) inside which ``user`` may change anything."""
    if lg_code_of_user(user) is not None:
        return (f"/{INBOX}",)
    if saas_account_of_user(user) is not None:
        return ()  # a SaaS only reads its deliveries
    codes = [p.name for p in sorted(config.root.iterdir()) if p.is_dir() and is_valid_lg_code(p.name)]
    folders = tuple(f for c in codes for f in (f"/{c}/{INBOX}", f"/{c}/{OUTBOX}", f"/{ARCHIVE}/{c}"))
    return folders + tuple(remote_saas_outbox(a) for a in config.saas_accounts())


def chroot_of(config: LandingConfig, user: str) -> Path | None:
    """Where ``user`` is confined, or None if it is not an account of this zone."""
    if user == config.service_user:
        return config.root
    code = lg_code_of_user(user)
    if code is not None and (config.root / code).is_dir():
        return config.root / code
    account = saas_account_of_user(user)
    if account is not None and config.saas_chroot(account).is_dir():
        return config.saas_chroot(account)
    return None


# --------------------------------------------------------------------------- SFTP policy


class LandingSFTPServer(asyncssh.SFTPServer):
    """asyncssh's SFTP server with a chroot, write permissions per folder and no links."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], config: LandingConfig):
        self._user = str(chan.get_extra_info("username"))
        root = chroot_of(config, self._user)
        if root is None:  # auth already refused such users; never serve without a chroot
            raise asyncssh.SFTPPermissionDenied(f"{self._user} has no landing folder")
        super().__init__(chan, chroot=os.fsencode(root))
        self._root = os.fsencode(os.path.realpath(root))
        self._writable = writable_folders(config, self._user)
        self._write_handles: set[int] = set()

    # -- path checks

    def map_path(self, path: bytes) -> bytes:
        """Map inside the chroot and refuse anything whose real location is outside it."""
        local = super().map_path(path)
        real = os.path.realpath(local)
        if real != self._root and not real.startswith(self._root + b"/"):
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        return local

    def _visible(self, path: bytes) -> str:
        """The canonical path as the client sees it, after resolving any link on the host."""
        real = os.path.realpath(self.map_path(path))
        return os.fsdecode(real[len(self._root) :]) or "/"

    def _require_write(self, path: bytes) -> None:
        visible = self._visible(path)
        if not any(visible.startswith(folder + "/") for folder in self._writable):
            log.info("refused write to %s by %s", visible, self._user)
            raise asyncssh.SFTPPermissionDenied("Permission denied")

    # -- operations that change something

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        """Open a file; writing needs a writable folder."""
        if pflags & _WRITE_FLAGS:
            self._require_write(path)
        file_obj = super().open(path, pflags, attrs)
        if pflags & _WRITE_FLAGS:
            self._write_handles.add(id(file_obj))
        return file_obj

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        """SFTP v5/v6 open: never negotiated (the server speaks v3), refused for safety."""
        raise asyncssh.SFTPOpUnsupported("SFTP v5+ open not supported")

    def close(self, file_obj: object) -> None:
        """Close a file and forget whether it was writable."""
        self._write_handles.discard(id(file_obj))
        super().close(file_obj)

    def remove(self, path: bytes) -> None:
        """Remove a file inside a writable folder."""
        self._require_write(path)
        super().remove(path)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        """Create a folder inside a writable folder."""
        self._require_write(path)
        super().mkdir(path, attrs)

    def rmdir(self, path: bytes) -> None:
        """Remove a folder inside a writable folder (never the folder itself)."""
        self._require_write(path)
        super().rmdir(path)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        """Rename: both ends must be inside writable folders."""
        self._require_write(oldpath)
        self._require_write(newpath)
        super().rename(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        """posix-rename@openssh.com: as :meth:`rename`, replacing the target."""
        self._require_write(oldpath)
        self._require_write(newpath)
        super().posix_rename(oldpath, newpath)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        """Change times or mode inside a writable folder only."""
        self._require_write(path)
        super().setstat(path, attrs)

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        """As :meth:`setstat`, without following a link."""
        self._require_write(path)
        super().lsetstat(path, attrs)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        """Change an open file's attributes only if it was opened for writing."""
        if id(file_obj) not in self._write_handles:
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        super().fsetstat(file_obj, attrs)

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        """Refused: a link in an inbox would lead host-side readers out of the chroot."""
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        """Refused, as symlinks."""
        raise asyncssh.SFTPPermissionDenied("Permission denied")


# --------------------------------------------------------------------------- SSH server


class _LandingSSHServer(asyncssh.SSHServer):
    """Public-key logins for the zone's accounts, keys read from ``<state>`` at every login."""

    def __init__(self, config: LandingConfig, connections: set[asyncssh.SSHServerConnection]):
        self._config = config
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        """Load the user's authorized keys; unknown users get none (and fail like any other)."""
        path = self._config.keys_of(username)
        if self._conn is not None and chroot_of(self._config, username) is not None:
            try:
                self._conn.set_authorized_keys(str(path))
            except (OSError, ValueError) as e:  # no file, or no key left in it
                log.info("no usable key for %s in %s: %s", username, path, e)
        return True  # authentication is always required

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False


class EmbeddedSftpServer:
    """The embedded server in a background thread; ``port`` is the bound port once started."""

    def __init__(self, config: LandingConfig):
        self.config = config
        self.port = config.port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()

    def __enter__(self) -> EmbeddedSftpServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> int:
        """Listen on ``config.host:config.port`` (0 picks a free port); return the port."""
        if self._thread is not None:
            return self.port
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="jumin-embedded-sftp", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
        try:
            self._acceptor = future.result(START_TIMEOUT)
        except TimeoutError as e:
            self.stop()
            raise LandingTimeout(f"embedded SFTP server did not start within {START_TIMEOUT:.0f} s") from e
        except (OSError, asyncssh.Error) as e:
            self.stop()
            raise LandingError(
                f"embedded SFTP server cannot listen on {self.config.host}:{self.config.port}: {e}"
            ) from e
        self.port = self._acceptor.get_port()
        log.info("embedded SFTP server on %s:%d serving %s", self.config.host, self.port, self.config.root)
        return self.port

    async def _listen(self) -> asyncssh.SSHAcceptor:
        config = self.config
        return await asyncssh.create_server(
            lambda: _LandingSSHServer(config, self._connections),
            config.host,
            config.port,
            server_host_keys=[load_host_key(config)],
            sftp_factory=lambda chan: LandingSFTPServer(chan, config),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=30,
            keepalive_interval=300,
            gss_host=None,
        )

    def stop(self) -> None:
        """Close the listener and every open connection, then end the loop's thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._acceptor is not None:
            future = asyncio.run_coroutine_threadsafe(self._close(), loop)
            try:
                future.result(STOP_TIMEOUT)
            except TimeoutError:
                log.warning("embedded SFTP server: connections did not close in %.0f s", STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise LandingTimeout(f"embedded SFTP server thread did not end within {STOP_TIMEOUT:.0f} s")
        loop.close()
        self._loop = self._thread = self._acceptor = None

    async def _close(self) -> None:
        assert self._acceptor is not None
        self._acceptor.close()
        await self._acceptor.wait_closed()
        for conn in list(self._connections):
            conn.close()
        await asyncio.gather(*(c.wait_closed() for c in list(self._connections)))
        # anything still pending (a half-finished handshake) would be destroyed with the loop
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def serve_forever(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (or KeyboardInterrupt) — for ``jumin landing serve-embedded``."""
        event = stop or threading.Event()
        with self:
            try:
                while not event.wait(0.5):
                    pass
            except KeyboardInterrupt:
                log.info("interrupted")
