"""Settings of a landing zone's administration: where it lives, its sshd state and port.

The folder conventions (inbox, outbox, archive, account names) are shared with ingest and the
uploader and live in :mod:`jumin.core.landing`. ``<state>/`` holds the sshd config, host key,
authorized keys, pid and log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jumin.core.landing import SERVICE_USER, LandingTree


@dataclass(frozen=True)
class LandingConfig(LandingTree):
    """Where a landing zone lives and how its sshd listens (loopback by default)."""

    state: Path = Path("/var/lib/jumin-sftp")
    host: str = "127.0.0.1"
    port: int = 2222
    service_user: str = SERVICE_USER

    @property
    def host_key(self) -> Path:
        return self.state / "ssh_host_ed25519_key"

    @property
    def authorized_keys(self) -> Path:
        return self.state / "authorized_keys"

    def keys_of(self, user: str) -> Path:
        """The authorized_keys file of one account (root-owned, outside every chroot)."""
        return self.authorized_keys / user
