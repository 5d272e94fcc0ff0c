"""The paramiko session the landing-zone tests use: the project's own pinned-host-key client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko

from extract.sftp import SftpSettings, open_sftp


@contextmanager
def pinned_sftp(
    port: int, host_key: paramiko.PKey, user: str, key_file: Path, timeout: float
) -> Iterator[paramiko.SFTPClient]:
    """An SFTP session through :func:`extract.sftp.open_sftp` (no trust on first use);
    a refused login raises :class:`extract.errors.SftpRefused`."""
    settings = SftpSettings(
        "127.0.0.1", port, user, str(key_file), f"{host_key.get_name()} {host_key.get_base64()}", timeout
    )
    client, sftp = open_sftp(settings)
    try:
        sftp.get_channel().settimeout(timeout)
        yield sftp
    finally:
        client.close()
