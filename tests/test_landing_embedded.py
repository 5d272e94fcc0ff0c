"""The embedded SFTP server (asyncssh) gives the same view and the same refusals as OpenSSH.

No root, no system accounts: the server itself enforces the chroot and the read-only folders,
so these tests check exactly that, through paramiko as an ordinary client.
"""

from __future__ import annotations

import io
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest

from extract.errors import SftpRefused
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree
from jumin.apps.landing.errors import LandingError
from jumin.apps.landing.provision import add_key, remove_key
from jumin.core.landing import SERVICE_USER, municipality_user, remote_archive, remote_inbox, remote_outbox
from tests.sftp_client import pinned_sftp

pytestmark = [pytest.mark.integration]

A, B = "131016", "012025"
USER_A, USER_B = municipality_user(A), municipality_user(B)
TIMEOUT = 15


@dataclass(frozen=True)
class Zone:
    config: LandingConfig
    port: int
    keys: Path
    host_key: paramiko.PKey

    def key(self, name: str) -> Path:
        return self.keys / name

    def pub(self, name: str) -> str:
        return (self.keys / f"{name}.pub").read_text()


def _keygen(folder: Path, name: str) -> None:
    """An ed25519 key pair written by asyncssh (no ssh-keygen needed)."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"test-{name}")
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    (folder / f"{name}.pub").write_bytes(key.export_public_key("openssh"))


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    tmp = tmp_path_factory.mktemp("embedded")
    keys = tmp / "keys"
    keys.mkdir()
    for name in ("a", "b", "svc", "wrong", "b2", "stranger"):
        _keygen(keys, name)
    config = LandingConfig(root=tmp / "root", state=tmp / "state", port=0)
    prepare_tree(
        config,
        [A, B],
        {
            USER_A: (keys / "a.pub").read_text(),
            USER_B: (keys / "b.pub").read_text(),
            SERVICE_USER: (keys / "svc.pub").read_text(),
        },
    )
    # a key file for an account that has no landing folder must not open anything
    add_key(config, "lg141038", (keys / "stranger.pub").read_text())
    host_key = paramiko.Ed25519Key(filename=str(config.host_key))
    with EmbeddedSftpServer(config) as server:
        assert server.port > 0
        yield Zone(config, server.port, keys, host_key)


def connect(zone: Zone, user: str, key: str) -> Any:
    """A paramiko SFTP session that checks the host key (no trust on first use)."""
    return pinned_sftp(zone.port, zone.host_key, user, zone.key(key), TIMEOUT)


def _name(stem: str) -> str:
    return f"{stem}-{secrets.token_hex(3)}.csv"


def test_upload_with_temporary_name_and_fetch_receipt(zone: Zone) -> None:
    name, receipt = _name("atena"), _name("receipt")
    (zone.config.outbox(A) / receipt).write_text("受付結果")
    with connect(zone, USER_A, "a") as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "outbox"]
        sftp.putfo(io.BytesIO(b"a,b\n"), f"{remote_inbox()}/{name}.part")
        sftp.posix_rename(f"/inbox/{name}.part", f"/inbox/{name}")
        sftp.putfo(io.BytesIO(b"c\n"), f"/inbox/{name}.tmp")
        sftp.rename(f"/inbox/{name}.tmp", f"/inbox/{name}.2")
        assert {name, f"{name}.2"} <= set(sftp.listdir("/inbox"))
        assert receipt in sftp.listdir(remote_outbox())
        got = io.BytesIO()
        sftp.getfo(f"/outbox/{receipt}", got)
        assert got.getvalue().decode() == "受付結果"
        sftp.utime(f"/inbox/{name}", (1_700_000_000, 1_700_000_000))  # "preserve timestamps"
    assert (zone.config.inbox(A) / name).read_bytes() == b"a,b\n"


@pytest.mark.parametrize(
    "path",
    [f"/{B}/inbox", f"/../{B}/inbox", f"../{B}/inbox", f"/inbox/../../{B}/inbox", f"/{A}/inbox", "/archive", "/etc"],
)
def test_cannot_reach_another_area(zone: Zone, path: str) -> None:
    secret = _name("other")
    (zone.config.inbox(B) / secret).write_text("B only")
    try:
        with connect(zone, USER_A, "a") as sftp:
            assert sftp.normalize("/inbox/../..") == "/"
            with pytest.raises(FileNotFoundError):
                sftp.listdir(path)
            with pytest.raises(FileNotFoundError):
                sftp.stat(f"{path}/{secret}")
            with pytest.raises(OSError):
                sftp.putfo(io.BytesIO(b"x"), f"{path}/{_name('x')}")
    finally:
        (zone.config.inbox(B) / secret).unlink()


@pytest.mark.parametrize(
    "operation",
    [
        "put_outbox",
        "remove_outbox",
        "rename_out_of_outbox",
        "rename_into_outbox",
        "mkdir_outbox",
        "chmod_outbox",
        "rmdir_outbox",
        "rmdir_inbox",
        "rename_inbox",
        "mkdir_root",
        "put_root",
        "symlink",
        "symlink_relative",
    ],
)
def test_read_only_places_and_links_are_refused(zone: Zone, operation: str) -> None:
    receipt, own = _name("receipt"), _name("own")
    (zone.config.outbox(A) / receipt).write_text("r")
    (zone.config.inbox(A) / own).write_text("o")
    ops = {
        "put_outbox": lambda s: s.putfo(io.BytesIO(b"x"), "/outbox/x.csv"),
        "remove_outbox": lambda s: s.remove(f"/outbox/{receipt}"),
        "rename_out_of_outbox": lambda s: s.rename(f"/outbox/{receipt}", f"/inbox/{receipt}"),
        "rename_into_outbox": lambda s: s.rename(f"/inbox/{own}", f"/outbox/{own}"),
        "mkdir_outbox": lambda s: s.mkdir("/outbox/sub"),
        "chmod_outbox": lambda s: s.chmod("/outbox", 0o777),
        "rmdir_outbox": lambda s: s.rmdir("/outbox"),
        "rmdir_inbox": lambda s: s.rmdir("/inbox"),
        "rename_inbox": lambda s: s.rename("/inbox", "/gone"),
        "mkdir_root": lambda s: s.mkdir("/new"),
        "put_root": lambda s: s.putfo(io.BytesIO(b"x"), "/x.csv"),
        "symlink": lambda s: s.symlink("/etc/passwd", "/inbox/pw"),
        "symlink_relative": lambda s: s.symlink(f"../../{B}/inbox", "/inbox/b"),
    }
    with connect(zone, USER_A, "a") as sftp, pytest.raises(PermissionError):
        ops[operation](sftp)
    assert (zone.config.outbox(A) / receipt).read_text() == "r"
    assert (zone.config.inbox(A) / own).read_text() == "o"
    assert not (zone.config.outbox(A) / "x.csv").exists()
    assert not any(p.is_symlink() for p in zone.config.inbox(A).iterdir())


def test_outbox_file_cannot_be_opened_for_writing(zone: Zone) -> None:
    receipt = _name("receipt")
    (zone.config.outbox(A) / receipt).write_text("r")
    with connect(zone, USER_A, "a") as sftp:
        for mode in ("w", "a", "r+"):
            with pytest.raises(PermissionError):
                sftp.open(f"/outbox/{receipt}", mode)
        with sftp.open(f"/outbox/{receipt}") as f, pytest.raises(PermissionError):
            f.chmod(0o600)  # fsetstat on a handle opened for reading
    assert (zone.config.outbox(A) / receipt).read_text() == "r"


def test_links_placed_on_the_host_are_not_followed(zone: Zone) -> None:
    """Even a symlink someone put in the folder by hand cannot lead out of the chroot."""
    outside = zone.config.inbox(A) / "to-b"
    outside.symlink_to(zone.config.inbox(B))
    passwd = zone.config.inbox(A) / "passwd.csv"
    passwd.symlink_to("/etc/passwd")
    try:
        with connect(zone, USER_A, "a") as sftp:
            with pytest.raises(PermissionError):
                sftp.listdir("/inbox/to-b")
            with pytest.raises(PermissionError):
                sftp.open("/inbox/passwd.csv")
            with pytest.raises(PermissionError):
                sftp.putfo(io.BytesIO(b"x"), "/inbox/to-b/planted.csv")
    finally:
        outside.unlink()
        passwd.unlink()
    assert not list(zone.config.inbox(B).glob("planted*"))


def test_wrong_key_and_unknown_accounts_are_refused(zone: Zone) -> None:
    for user, key in (
        (USER_A, "wrong"),
        (USER_A, "b"),
        (USER_A, "svc"),
        ("lg141038", "stranger"),
        ("root", "svc"),
        ("nobody", "a"),
    ):
        with pytest.raises(SftpRefused), connect(zone, user, key):
            pass


def test_only_publickey_is_offered(zone: Zone) -> None:
    transport = paramiko.Transport(("127.0.0.1", zone.port))
    try:
        transport.start_client(timeout=TIMEOUT)
        with pytest.raises(paramiko.BadAuthenticationType) as refused:
            transport.auth_none(USER_A)
        assert refused.value.allowed_types == ["publickey"]
        with pytest.raises(paramiko.AuthenticationException):  # asyncssh just hangs up
            transport.auth_password(USER_A, "password")
    finally:
        transport.close()


def test_exec_shell_and_forwarding_are_refused(zone: Zone) -> None:
    with connect(zone, USER_A, "a") as sftp:
        transport = sftp.get_channel().get_transport()
        channel = transport.open_session(timeout=TIMEOUT)
        channel.settimeout(TIMEOUT)
        with pytest.raises(paramiko.SSHException):
            channel.exec_command("echo exec-marker")
        with pytest.raises(paramiko.ChannelException):
            transport.open_channel("direct-tcpip", ("127.0.0.1", zone.port), ("127.0.0.1", 1), timeout=TIMEOUT)
        with pytest.raises(paramiko.SSHException):
            transport.request_port_forward("127.0.0.1", 0)


def test_service_account_serves_every_municipality(zone: Zone) -> None:
    names = {code: _name(f"up{code}") for code in (A, B)}
    for code, user, key in ((A, USER_A, "a"), (B, USER_B, "b")):
        with connect(zone, user, key) as sftp:
            sftp.putfo(io.BytesIO(code.encode()), f"/inbox/{names[code]}")
    with connect(zone, SERVICE_USER, "svc") as svc:
        assert {"archive", A, B} <= set(svc.listdir("/"))
        for code, name in names.items():
            inbox = remote_inbox(code)
            with svc.open(f"{inbox}/{name}") as f:
                assert f.read() == code.encode()
            svc.mkdir(f"{remote_archive(code)}/{name}.set")
            svc.posix_rename(f"{inbox}/{name}", f"{remote_archive(code)}/{name}.set/{name}")
            svc.putfo(io.BytesIO(b"ok"), f"{remote_outbox(code)}/{name}.receipt.json")
        for refused in (
            lambda: svc.mkdir("/new"),
            lambda: svc.rmdir(remote_inbox(A)),
            lambda: svc.putfo(io.BytesIO(b"x"), f"/{A}/x.csv"),
            lambda: svc.putfo(io.BytesIO(b"x"), "/archive/x.csv"),
            lambda: svc.symlink("/etc/passwd", f"{remote_inbox(A)}/pw"),
        ):
            with pytest.raises(PermissionError):
                refused()
        assert sorted(svc.listdir("/../..")) == sorted(svc.listdir("/"))  # nothing above root
    for code, name in names.items():
        assert (zone.config.archive(code) / f"{name}.set" / name).read_bytes() == code.encode()
        assert (zone.config.outbox(code) / f"{name}.receipt.json").read_bytes() == b"ok"


def test_key_rotation_without_restart(zone: Zone) -> None:
    old, new = zone.pub("b"), zone.pub("b2")
    try:
        add_key(zone.config, USER_B, new)
        for key in ("b", "b2"):
            with connect(zone, USER_B, key) as sftp:
                sftp.listdir("/inbox")
        remove_key(zone.config, USER_B, old)
        with pytest.raises(SftpRefused), connect(zone, USER_B, "b"):
            pass
        with connect(zone, USER_B, "b2") as sftp:
            sftp.listdir("/inbox")
    finally:
        add_key(zone.config, USER_B, old)
        remove_key(zone.config, USER_B, new)


def test_port_in_use_is_a_clear_error(zone: Zone) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = LandingConfig(root=zone.config.root, state=zone.config.state, port=s.getsockname()[1])
        with pytest.raises(LandingError, match="cannot listen"), EmbeddedSftpServer(busy):
            pass


def test_malformed_keys_are_refused(zone: Zone) -> None:
    for bad in (
        "",
        "not a key",
        'command="sh" ' + zone.pub("a"),
        "ssh-ed25519 AAAA!!!",
        "ssh-rsa " + zone.pub("a").split()[1],
    ):
        with pytest.raises(LandingError):
            add_key(zone.config, USER_A, bad)
    with pytest.raises(LandingError, match="not an account"):
        add_key(zone.config, "someone", zone.pub("a"))


def test_cli_key_commands_and_status(zone: Zone, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from jumin.apps.landing.cli import main, register
    from jumin.apps.landing.provision import parse_public_keys

    common = ["--root", str(zone.config.root), "--state", str(zone.config.state), "--port", "1"]
    fingerprint = parse_public_keys(zone.pub("b2"))[0].fingerprint
    assert main(["add-key", USER_B, str(zone.keys / "b2.pub"), *common]) == 0
    assert main(["add-key", USER_B, str(zone.keys / "b2.pub"), *common]) == 0  # idempotent
    assert main(["remove-key", USER_B, fingerprint, *common]) == 0
    assert main(["remove-key", USER_B, fingerprint, *common]) == 1  # no longer there
    assert main(["add-key", USER_B, str(zone.keys / "missing.pub"), *common]) == 1
    assert main(["status", *common]) == 5  # no sshd for this zone (EXIT_STOPPED)
    out = capsys.readouterr().out
    assert f"added {fingerprint}" in out and "not running" in out
    with connect(zone, USER_B, "b") as sftp:  # the original key is untouched
        sftp.listdir("/inbox")

    parser = argparse.ArgumentParser(prog="jumin")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["landing", "status", *common])
    assert args.func.__name__ == "cmd_status" and args.root == str(zone.config.root)
