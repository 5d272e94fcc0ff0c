"""Helpers for tests that talk SFTP: client keys and connection settings."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

from extract.sftp import SftpSettings
from jumin.landing.config import LandingConfig


def client_key(folder: Path, user: str) -> tuple[Path, str]:
    """A fresh ed25519 key for ``user``: (private key file, public key line)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=user)
    path = folder / f"{user}_ed25519"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    return path, key.export_public_key("openssh").decode().strip()


def settings(config: LandingConfig, port: int, user: str, key_file: Path) -> SftpSettings:
    """Connection settings pinned to the zone's host key."""
    pub = Path(str(config.host_key) + ".pub").read_text().split()
    return SftpSettings(host=config.host, port=port, username=user, key_file=str(key_file),
                        host_key=f"{pub[0]} {pub[1]}", timeout_s=10)
