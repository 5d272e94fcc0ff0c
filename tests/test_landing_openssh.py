"""The OpenSSH landing zone for real: system accounts, chroot folders and our own sshd.

Needs root and /usr/sbin/sshd (``make sshd`` installs it; ``make test`` depends on it). The
module provisions two municipalities and a SaaS under ``/srv/jumin-test-<random>`` and
``/var/lib/jumin-test-<random>`` (a chroot may not live under /tmp), starts sshd on a free loopback
port and removes everything, accounts included, when the module ends. Clients: the OpenSSH
``sftp``/``ssh`` command-line tools in batch mode, and paramiko.
"""

from __future__ import annotations

import base64
import grp
import io
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko
import pytest

from extract.errors import SftpRefused
from jumin.apps.landing import cli, sshd
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.errors import LandingTimeout
from jumin.apps.landing.provision import add_key, deprovision, provision, remove_key
from jumin.core.landing import (
    SERVICE_USER,
    municipality_user,
    remote_archive,
    remote_inbox,
    remote_outbox,
    saas_user,
)
from tests.sftp_client import pinned_sftp

if TYPE_CHECKING:
    from extract.main import IngestResult


pytestmark = [pytest.mark.root, pytest.mark.integration]

A, B = "131016", "012025"
USER_A, USER_B = municipality_user(A), municipality_user(B)
SAAS = "yobosesshu"
USER_SAAS = saas_user(SAAS)
TIMEOUT = 30  # seconds, for every client command


@dataclass(frozen=True)
class Zone:
    config: LandingConfig
    work: Path
    known_hosts: Path
    host_key: paramiko.PKey

    def key(self, name: str) -> Path:
        """Private key file of a test key: a, b, svc, wrong, b2."""
        return self.work / f"key_{name}"

    def pub(self, name: str) -> str:
        return (self.work / f"key_{name}.pub").read_text()


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(work: Path, name: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"test-{name}", "-f", str(work / f"key_{name}")],
        check=True,
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    if os.geteuid() != 0:
        pytest.fail("the OpenSSH landing tests need root (system accounts, chroot, sshd); run them as root or in CI")
    if not sshd.SSHD.exists():
        pytest.fail(f"{sshd.SSHD} is missing: run `make sshd` (apt-get install openssh-server)")
    token = secrets.token_hex(4)
    config = LandingConfig(
        root=Path(f"/srv/jumin-test-{token}"), state=Path(f"/var/lib/jumin-test-{token}"), port=_free_port()
    )
    work = tmp_path_factory.mktemp("landing-keys")
    for name in ("a", "b", "svc", "wrong", "b2", "saas"):
        _keygen(work, name)
    try:
        keys = {
            USER_A: (work / "key_a.pub").read_text(),
            USER_B: (work / "key_b.pub").read_text(),
            SERVICE_USER: (work / "key_svc.pub").read_text(),
            USER_SAAS: (work / "key_saas.pub").read_text(),
        }
        provision(config, [A, B], keys, [SAAS])
        sshd.start(config)
        host_pub = config.host_key.with_suffix(".pub").read_text().split()
        known_hosts = work / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{config.port} {host_pub[0]} {host_pub[1]}\n")
        host_key = paramiko.Ed25519Key(data=base64.b64decode(host_pub[1]))
        yield Zone(config, work, known_hosts, host_key)
    finally:
        try:
            sshd.stop(config)
        finally:
            deprovision(config, [A, B], remove_zone=True, saas_accounts=[SAAS])
            for leftover in (config.root, config.state):  # only if something unexpected stayed
                if leftover.exists():
                    shutil.rmtree(leftover)


# --------------------------------------------------------------------------- clients


def _ssh_opts(zone: Zone, key: Path) -> list[str]:
    return [
        "-i",
        str(key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={zone.known_hosts}",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-F",
        "/dev/null",
    ]


def sftp_batch(
    zone: Zone, user: str, key: str, commands: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run OpenSSH ``sftp -b`` with ``commands``; the working folder is the test's key folder."""
    batch = zone.work / f"batch-{secrets.token_hex(4)}"
    batch.write_text(commands.strip() + "\n")
    return subprocess.run(
        [
            "sftp",
            "-b",
            str(batch),
            "-P",
            str(zone.config.port),
            *_ssh_opts(zone, zone.key(key)),
            *extra,
            f"{user}@127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=zone.work,
    )


def ssh(zone: Zone, user: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-p", str(zone.config.port), *_ssh_opts(zone, zone.key(key)), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def connect(zone: Zone, user: str, key: str) -> Any:
    """A paramiko SFTP session that checks the host key (no trust on first use)."""
    return pinned_sftp(zone.config.port, zone.host_key, user, zone.key(key), TIMEOUT)


def _name(stem: str) -> str:
    return f"{stem}-{secrets.token_hex(3)}.csv"


# --------------------------------------------------------------------------- municipality


def test_sftp_cli_upload_with_temporary_name_and_fetch_receipt(zone: Zone) -> None:
    name, receipt = _name("atena"), _name("receipt")
    (zone.work / name).write_text("宛名番号\n1\n", encoding="utf-8")
    with connect(zone, SERVICE_USER, "svc") as svc:
        svc.putfo(io.BytesIO("受付結果".encode()), f"{remote_outbox(A)}/{receipt}")
    done = sftp_batch(
        zone,
        USER_A,
        "a",
        f"""
put {name} /inbox/{name}.part
rename /inbox/{name}.part /inbox/{name}
ls -1 /inbox
ls -1 /outbox
get /outbox/{receipt} got-{receipt}
""",
    )
    assert done.returncode == 0, done.stderr
    assert f"/inbox/{name}\n" in done.stdout and f"{name}.part" not in done.stdout.split("ls -1")[-2]
    assert f"/outbox/{receipt}" in done.stdout
    assert (zone.work / f"got-{receipt}").read_text() == "受付結果"
    assert (zone.config.inbox(A) / name).read_text(encoding="utf-8") == "宛名番号\n1\n"


def test_paramiko_upload_rename_list_get(zone: Zone) -> None:
    name, receipt = _name("juki"), _name("receipt")
    with connect(zone, SERVICE_USER, "svc") as svc:
        svc.putfo(io.BytesIO(b"{}"), f"{remote_outbox(A)}/{receipt}")
    with connect(zone, USER_A, "a") as sftp:
        sftp.putfo(io.BytesIO(b"a,b\n1,2\n"), f"{remote_inbox()}/{name}.part")
        sftp.posix_rename(f"/inbox/{name}.part", f"/inbox/{name}")
        assert name in sftp.listdir("/inbox") and f"{name}.part" not in sftp.listdir("/inbox")
        assert receipt in sftp.listdir(remote_outbox())
        got = io.BytesIO()
        sftp.getfo(f"/outbox/{receipt}", got)
        assert got.getvalue() == b"{}"


def test_uploads_belong_to_the_service_group(zone: Zone) -> None:
    """setgid inbox + umask 0007: group jumin can read (and, by the folder, remove) uploads."""
    cli_name, lib_name = _name("cli"), _name("lib")
    local = zone.work / cli_name
    local.write_text("x\n")
    local.chmod(0o644)
    assert sftp_batch(zone, USER_A, "a", f"put {cli_name} /inbox/{cli_name}").returncode == 0
    with connect(zone, USER_A, "a") as sftp:
        sftp.putfo(io.BytesIO(b"y\n"), f"/inbox/{lib_name}")
    jumin_gid = grp.getgrnam(SERVICE_USER).gr_gid
    for name in (cli_name, lib_name):
        st = (zone.config.inbox(A) / name).stat()
        assert st.st_uid == pwd.getpwnam(USER_A).pw_uid
        assert st.st_gid == jumin_gid
        assert st.st_mode & stat.S_IRGRP and not st.st_mode & (stat.S_IROTH | stat.S_IWOTH)
    with connect(zone, SERVICE_USER, "svc") as svc:
        for name in (cli_name, lib_name):
            with svc.open(f"{remote_inbox(A)}/{name}") as f:
                assert f.read() in (b"x\n", b"y\n")
            svc.remove(f"{remote_inbox(A)}/{name}")
    assert not (zone.config.inbox(A) / cli_name).exists()


def test_chroot_shows_only_inbox_and_outbox(zone: Zone) -> None:
    done = sftp_batch(zone, USER_A, "a", "cd ..\ncd ..\npwd\nls -1a /\n")
    assert done.returncode == 0, done.stderr
    assert "Remote working directory: /\n" in done.stdout
    listed = {line.strip() for line in done.stdout.split("ls -1a /")[-1].splitlines()}
    assert listed - {"", "/.", "/.."} == {"/inbox", "/outbox"}
    with connect(zone, USER_A, "a") as sftp:
        assert sftp.normalize("..") == "/" and sftp.normalize("/inbox/../..") == "/"
        assert sorted(sftp.listdir("/../..")) == ["inbox", "outbox"]


@pytest.mark.parametrize(
    "path",
    [f"/{B}/inbox", f"/../{B}/inbox", f"../{B}/inbox", f"/inbox/../../{B}/inbox", f"/{A}/inbox", "/archive", "/etc"],
)
def test_cannot_reach_another_area(zone: Zone, path: str) -> None:
    secret = _name("other")
    (zone.config.inbox(B) / secret).write_text("B only")
    try:
        with connect(zone, USER_A, "a") as sftp:
            with pytest.raises(FileNotFoundError):
                sftp.listdir(path)
            with pytest.raises(FileNotFoundError):
                sftp.stat(f"{path}/{secret}")
            with pytest.raises(OSError):
                sftp.putfo(io.BytesIO(b"x"), f"{path}/{_name('x')}")
        done = sftp_batch(zone, USER_A, "a", f"get {path}/{secret} stolen")
        assert done.returncode != 0 and not (zone.work / "stolen").exists()
    finally:
        (zone.config.inbox(B) / secret).unlink()


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("put {local} /outbox/x.csv", "Permission denied"),
        ("rm /outbox/{receipt}", "Permission denied"),
        ("rename /outbox/{receipt} /inbox/{receipt}", "Permission denied"),
        ("mkdir /outbox/sub", "Permission denied"),
        ("chmod 777 /outbox", "Permission denied"),
        ("rmdir /outbox", "Permission denied"),
        ("rmdir /inbox", "Permission denied"),
        ("rename /inbox /gone", "Permission denied"),
        ("mkdir /new", "Permission denied"),
        ("put {local} /x.csv", "Permission denied"),
    ],
)
def test_outbox_and_folders_are_read_only(zone: Zone, command: str, message: str) -> None:
    receipt, local = _name("receipt"), _name("local")
    (zone.work / local).write_text("x\n")
    with connect(zone, SERVICE_USER, "svc") as svc:
        svc.putfo(io.BytesIO(b"r"), f"{remote_outbox(A)}/{receipt}")
    done = sftp_batch(zone, USER_A, "a", command.format(local=local, receipt=receipt))
    assert done.returncode != 0
    assert message in done.stderr
    assert (zone.config.outbox(A) / receipt).exists()
    assert zone.config.inbox(A).is_dir() and zone.config.outbox(A).is_dir()


# --------------------------------------------------------------------------- SaaS outbox


def test_a_saas_pulls_what_the_service_published_and_can_change_nothing(zone: Zone, tmp_path: Path) -> None:
    import pyarrow as pa

    from extract.saas_outbox import open_saas_outbox
    from extract.sftp import SftpSettings
    from jumin.apps.pull import pull
    from jumin.core.contract import PERSON_ID
    from jumin.core.lake import Lake
    from load.deliver.publish import publish
    from load.partition import write_partition

    table = pa.table({PERSON_ID: [f"{i:032x}" for i in range(5000)], "shimei": ["氏名"] * 5000})
    write_partition(table, Lake(tmp_path / "lake").delivery("c", "2026-11-01"), table.schema, {"dataset": "t"})
    with open_saas_outbox(service_uri(zone), SAAS) as outbox:
        sent = publish(outbox, tmp_path / "lake", "c").sent
    assert sent == ["contract=c/kijunbi=2026-11-01/part-0.parquet", "contract=c/kijunbi=2026-11-01/_manifest.json"]
    # what the service account wrote belongs to the SaaS's group, readable, not writable by it
    published = zone.config.saas_outbox(SAAS) / sent[0]
    assert grp.getgrgid(published.stat().st_gid).gr_name == USER_SAAS
    assert grp.getgrgid(published.parent.stat().st_gid).gr_name == USER_SAAS
    key = zone.host_key
    host_key = f"{key.get_name()} {key.get_base64()}"
    uri = SftpSettings("127.0.0.1", zone.config.port, USER_SAAS, str(zone.key("saas")), host_key, TIMEOUT).to_uri()
    (result,) = pull(uri, tmp_path / "saas.duckdb")
    assert (result.kijunbi, result.rows, result.steps) == ("2026-11-01", 5000, ["full 2026-11-01"])
    with connect(zone, USER_SAAS, "saas") as sftp:
        assert sftp.listdir("/") == ["outbox"]
    (zone.work / "local.txt").write_text("x\n")
    folder = "/outbox/contract=c/kijunbi=2026-11-01"
    for command in (
        f"put local.txt {folder}/x.parquet",
        f"rm {folder}/part-0.parquet",
        f"rename {folder}/part-0.parquet {folder}/y",
        "mkdir /outbox/new",
        f"chmod 777 {folder}",
        f"get /../{A}/inbox/x stolen",
    ):
        done = sftp_batch(zone, USER_SAAS, "saas", command)
        assert done.returncode != 0, command
    assert published.exists() and not (zone.work / "stolen").exists()


def test_links_are_refused(zone: Zone) -> None:
    """internal-sftp -P symlink,hardlink: no link can lead a host-side reader out of the chroot."""
    name = _name("real")
    with connect(zone, USER_A, "a") as sftp:
        sftp.putfo(io.BytesIO(b"x"), f"/inbox/{name}")
        for target in ("/etc/passwd", "../../../../etc/shadow", f"/{B}/inbox", f"/inbox/{name}"):
            with pytest.raises(OSError):
                sftp.symlink(target, f"/inbox/{_name('link')}")
    done = sftp_batch(zone, USER_A, "a", "ln -s /etc/passwd /inbox/pw\n")
    assert done.returncode != 0 and "Permission denied" in done.stderr
    done = sftp_batch(zone, USER_A, "a", f"ln /inbox/{name} /inbox/hard\n")
    assert done.returncode != 0
    assert not any(p.is_symlink() or p.stat().st_nlink > 1 for p in zone.config.inbox(A).iterdir())


# --------------------------------------------------------------------------- authentication


def test_wrong_key_is_refused(zone: Zone) -> None:
    done = sftp_batch(zone, USER_A, "wrong", "ls /inbox")
    assert done.returncode != 0 and "Permission denied (publickey)" in done.stderr
    with pytest.raises(SftpRefused), connect(zone, USER_A, "wrong"):
        pass
    # a key belongs to one account: B's key does not open A, the service key does not open A
    for key in ("b", "svc"):
        with pytest.raises(SftpRefused), connect(zone, USER_A, key):
            pass


@pytest.mark.parametrize("user", ["root", "nobody", "lg141038"])
def test_other_accounts_are_refused(zone: Zone, user: str) -> None:
    done = sftp_batch(zone, user, "svc", "ls /")
    assert done.returncode != 0 and "Permission denied" in done.stderr


def test_only_publickey_is_offered(zone: Zone) -> None:
    transport = paramiko.Transport(("127.0.0.1", zone.config.port))
    try:
        transport.start_client(timeout=TIMEOUT)
        with pytest.raises(paramiko.BadAuthenticationType) as refused:
            transport.auth_none(USER_A)
        assert refused.value.allowed_types == ["publickey"]
        with pytest.raises(paramiko.BadAuthenticationType):
            transport.auth_password(USER_A, "password")
    finally:
        transport.close()
    done = sftp_batch(zone, USER_A, "a", "ls /", extra=("-o", "PreferredAuthentications=password,keyboard-interactive"))
    assert done.returncode != 0 and "Permission denied" in done.stderr


def test_shell_and_exec_are_refused(zone: Zone) -> None:
    done = ssh(zone, USER_A, "a", f"{USER_A}@127.0.0.1", "echo", "exec-marker")
    assert done.returncode != 0 and "exec-marker" not in done.stdout
    assert "sftp connections only" in done.stdout + done.stderr
    done = ssh(zone, USER_A, "a", "-tt", f"{USER_A}@127.0.0.1")
    assert "PTY allocation request failed" in done.stdout + done.stderr


def test_port_forwarding_is_refused(zone: Zone) -> None:
    # remote forwarding: the server refuses the request outright
    done = ssh(
        zone,
        USER_A,
        "a",
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-R",
        f"127.0.0.1:{_free_port()}:127.0.0.1:{zone.config.port}",
        f"{USER_A}@127.0.0.1",
    )
    assert done.returncode != 0 and "forwarding failed" in done.stderr
    # local forwarding: the tunnel opens locally, but sshd refuses every channel through it, so
    # we never read the sshd banner through it
    local = _free_port()
    proc = subprocess.Popen(
        [
            "ssh",
            "-p",
            str(zone.config.port),
            *_ssh_opts(zone, zone.key("a")),
            "-N",
            "-L",
            f"127.0.0.1:{local}:127.0.0.1:{zone.config.port}",
            f"{USER_A}@127.0.0.1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        sshd.wait_for_port("127.0.0.1", local, TIMEOUT)
        with socket.create_connection(("127.0.0.1", local), timeout=TIMEOUT) as s:
            s.settimeout(TIMEOUT)
            assert not s.recv(64).startswith(b"SSH-")
    finally:
        # ssh -N does not always notice SIGTERM while idle (seen in CI): kill it if it lingers;
        # retrying communicate() keeps the stderr read so far
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=TIMEOUT)
    assert b"administratively prohibited" in err
    with connect(zone, USER_A, "a") as sftp:
        transport = sftp.get_channel().get_transport()
        with pytest.raises(paramiko.ChannelException):
            transport.open_channel("direct-tcpip", ("127.0.0.1", zone.config.port), ("127.0.0.1", 1), timeout=TIMEOUT)


# --------------------------------------------------------------------------- service account


def test_service_account_serves_every_municipality(zone: Zone) -> None:
    names = {code: _name(f"up{code}") for code in (A, B)}
    for code, user, key in ((A, USER_A, "a"), (B, USER_B, "b")):
        with connect(zone, user, key) as sftp:
            sftp.putfo(io.BytesIO(code.encode()), f"/inbox/{names[code]}")
    with connect(zone, SERVICE_USER, "svc") as svc:
        assert {"archive", A, B} <= set(svc.listdir("/"))
        for code, name in names.items():
            inbox = remote_inbox(code)
            assert name in svc.listdir(inbox)
            with svc.open(f"{inbox}/{name}") as f:
                assert f.read() == code.encode()
            svc.posix_rename(f"{inbox}/{name}", f"{inbox}/{name}.taken")
            svc.posix_rename(f"{inbox}/{name}.taken", f"{remote_archive(code)}/{name}")
            svc.putfo(io.BytesIO(b"ok"), f"{remote_outbox(code)}/{name}.receipt.json")
        with pytest.raises(PermissionError):  # the chroot root stays root's
            svc.mkdir("/new")
    for code, name in names.items():
        assert (zone.config.archive(code) / name).read_bytes() == code.encode()
        assert not (zone.config.inbox(code) / name).exists()
        receipt = zone.config.outbox(code) / f"{name}.receipt.json"
        assert receipt.stat().st_gid == grp.getgrnam(municipality_user(code)).gr_gid
    with connect(zone, USER_B, "b") as sftp:
        got = io.BytesIO()
        sftp.getfo(f"/outbox/{names[B]}.receipt.json", got)
        assert got.getvalue() == b"ok"


# --------------------------------------------------------------------------- operations


def test_key_rotation(zone: Zone) -> None:
    """Add the new key, both work; remove the old one, only the new one works (no reload)."""
    old, new = zone.pub("b"), zone.pub("b2")
    try:
        assert add_key(zone.config, USER_B, new)
        for key in ("b", "b2"):
            assert sftp_batch(zone, USER_B, key, "ls /inbox").returncode == 0
        assert remove_key(zone.config, USER_B, old)
        assert sftp_batch(zone, USER_B, "b", "ls /inbox").returncode != 0
        assert sftp_batch(zone, USER_B, "b2", "ls /inbox").returncode == 0
    finally:
        add_key(zone.config, USER_B, old)
        remove_key(zone.config, USER_B, new)
    assert sftp_batch(zone, USER_B, "b", "ls /inbox").returncode == 0


def test_provision_is_idempotent_and_repairs_modes(zone: Zone) -> None:
    pid = sshd.read_pid(zone.config)
    zone.config.inbox(A).chmod(0o777)
    provision(zone.config, [A, B], {USER_A: zone.pub("a")})
    common = ["--root", str(zone.config.root), "--state", str(zone.config.state), "--port", str(zone.config.port)]
    assert cli.main(["provision", "--lg-code", A, "--key", f"{USER_A}={zone.key('a')}.pub", *common]) == 0
    assert cli.main(["status", *common]) == 0
    assert stat.S_IMODE(zone.config.inbox(A).stat().st_mode) == 0o2770
    assert stat.S_IMODE(zone.config.outbox(A).stat().st_mode) == 0o2750
    assert stat.S_IMODE((zone.config.root / A).stat().st_mode) == 0o755
    assert len(zone.config.keys_of(USER_A).read_text().splitlines()) == 1
    assert sshd.start(zone.config) == pid  # already running: same daemon, reloaded
    assert sftp_batch(zone, USER_A, "a", "ls /inbox").returncode == 0


def _effective(zone: Zone, user: str) -> dict[str, str]:
    """What sshd itself resolves for ``user`` (``sshd -T -C``), not just what we wrote."""
    out = subprocess.run(
        [
            str(sshd.SSHD),
            "-T",
            "-f",
            str(sshd.config_path(zone.config)),
            "-C",
            f"user={user},host=localhost,addr=127.0.0.1",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_effective_sshd_config(zone: Zone) -> None:
    """What sshd itself resolves for a municipality and for a SaaS (read only)."""
    settings = _effective(zone, USER_A)
    assert settings["chrootdirectory"] == str(zone.config.root / A)
    assert settings["forcecommand"].startswith("internal-sftp -u 0007 -P symlink,hardlink")
    assert not settings["forcecommand"].endswith(" -R")
    saas = _effective(zone, USER_SAAS)
    assert saas["chrootdirectory"] == str(zone.config.saas_chroot(SAAS))
    assert saas["forcecommand"].startswith("internal-sftp -u 0007 -P symlink,hardlink")
    assert saas["forcecommand"].endswith(" -R")
    for key, value in {
        "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no",
        "permitrootlogin": "no",
        "allowtcpforwarding": "no",
        "permittty": "no",
        "x11forwarding": "no",
        "permittunnel": "no",
        "usepam": "no",
        "authenticationmethods": "publickey",
    }.items():
        assert settings[key] == value, key
    log = sshd.log_path(zone.config).read_text()
    assert f"Accepted publickey for {USER_A}" in log


def test_stop_is_bounded_and_start_again(zone: Zone, monkeypatch: pytest.MonkeyPatch) -> None:
    """stop() waits for the daemon at most its own STOP_TIMEOUT: a daemon that does not end
    (stopped with SIGSTOP, so SIGTERM stays pending) makes it raise instead of hang. A daemon
    that ends leaves no listener, and start() brings up a new one."""
    pid = sshd.read_pid(zone.config)
    assert pid is not None
    monkeypatch.setattr(sshd, "STOP_TIMEOUT", 0.5)
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(LandingTimeout, match=f"pid {pid}"):
            sshd.stop(zone.config)
        assert sshd.read_pid(zone.config) == pid, "a daemon that did not stop is still known as ours"
    finally:
        os.kill(pid, signal.SIGCONT)  # the pending SIGTERM ends it now
    monkeypatch.undo()
    sshd.stop(zone.config)  # waits (bounded) if it is still exiting; False once it is gone
    assert not sshd.is_running(zone.config) and not sshd.stop(zone.config)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", zone.config.port), timeout=TIMEOUT).close()
    assert sftp_batch(zone, USER_A, "a", "ls /").returncode != 0
    new = sshd.start(zone.config)  # returns once the port accepts, or raises after START_TIMEOUT
    assert new != pid and sshd.read_pid(zone.config) == new
    assert sftp_batch(zone, USER_A, "a", "ls /").returncode == 0


# --------------------------------------------------------------------------- the whole exchange

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "landing" / A


def service_uri(zone: Zone) -> str:
    from extract.sftp import SftpSettings

    key = zone.host_key
    return SftpSettings(
        "127.0.0.1",
        zone.config.port,
        SERVICE_USER,
        str(zone.key("svc")),
        f"{key.get_name()} {key.get_base64()}",
        TIMEOUT,
    ).to_uri()


def run_pipeline(zone: Zone, lake: Path) -> list[IngestResult]:
    """What the ingest DAG does for one municipality, through the real sshd."""
    from expectations.main import validate_municipality
    from extract.main import ingest_municipality, return_municipality_receipts

    uri = service_uri(zone)
    results = ingest_municipality(uri, lake, A)
    validate_municipality(lake, A)
    return_municipality_receipts(uri, lake, A)
    return results


def test_guide_upload_with_plain_sftp_is_processed_and_receipt_fetched(zone: Zone, tmp_path: Path) -> None:
    """docs/municipal_guide_ja.md, section 5, step by step with the OpenSSH client."""
    data, manifest = "juki_20261101.csv", "juki_20261101.manifest.json"
    for n in (data, manifest):
        shutil.copyfile(SAMPLE / n, zone.work / n)
    # interrupted: the data file is still under its temporary name, the manifest is there
    first = sftp_batch(
        zone,
        USER_A,
        "a",
        f"""
cd /inbox
put {data} {data}.part
put {manifest} {manifest}.part
rename {manifest}.part {manifest}
""",
    )
    assert first.returncode == 0, first.stderr
    lake = tmp_path / "lake"
    assert [r.status for r in run_pipeline(zone, lake)] == ["waiting"]
    assert not (lake / "parsed").exists()
    # completed: the rename the guide asks for
    second = sftp_batch(zone, USER_A, "a", f"rename /inbox/{data}.part /inbox/{data}")
    assert second.returncode == 0, second.stderr
    [result] = run_pipeline(zone, lake)
    assert result.status == "parsed"
    stem = manifest.removesuffix(".manifest.json")
    receipt = f"{stem}_{result.set_id}.receipt.txt"
    fetched = sftp_batch(zone, USER_A, "a", f"ls -1 /inbox\nget /outbox/{receipt} {receipt}")
    assert fetched.returncode == 0, fetched.stderr
    text = (zone.work / receipt).read_text(encoding="utf-8")
    assert "受付完了" in text and "団体: 東京都千代田区 (131016)" in text
    assert data not in fetched.stdout, "the processed set left the inbox"
    assert (zone.config.archive(A) / result.set_id / data).is_file()
    # the other municipality sees none of it
    other = sftp_batch(zone, USER_B, "b", "ls -1 /outbox")
    assert other.returncode == 0 and receipt not in other.stdout
