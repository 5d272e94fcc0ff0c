"""Client keys and connection settings for the landing zone (demo, tests, onboarding)."""

from __future__ import annotations

import os
from pathlib import Path

from extract.sftp import SftpSettings
from jumin.apps.landing.config import LandingConfig


def generate_client_key(folder: Path, user: str) -> tuple[Path, str]:
    """A fresh ed25519 key pair for ``user``: (private key file, 0600; public key line)."""
    import asyncssh

    folder.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=user)
    path = folder / f"{user}_ed25519"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    return path, key.export_public_key("openssh").decode().strip()


def zone_settings(config: LandingConfig, port: int, user: str, key_file: Path, timeout_s: float = 30.0) -> SftpSettings:
    """Connection settings for ``user``, pinned to the zone's own host key."""
    kind, blob = Path(str(config.host_key) + ".pub").read_text().split()[:2]
    return SftpSettings(
        host=config.host,
        port=port,
        username=user,
        key_file=str(key_file),
        host_key=f"{kind} {blob}",
        timeout_s=timeout_s,
    )
