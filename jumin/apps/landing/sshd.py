"""A dedicated OpenSSH daemon for the landing zone, separate from the system sshd.

It runs ``/usr/sbin/sshd`` with its own config file, host key, pid file and log, all under
``<state>``, on ``config.host:config.port``. Each account gets a ``Match User`` block with its
``ChrootDirectory`` (``<root>/<lg_code>`` for a municipality, ``<root>/saas/<account>`` for a
SaaS, which also gets ``internal-sftp -R``: read only; ``<root>`` for the service account);
a token such as ``%u`` cannot express ``lg131016`` → ``131016``, and one block per account
keeps the generated file explicit. The config is regenerated from the folders under
``<root>`` whenever a municipality is provisioned, and a running daemon reloads it on SIGHUP.
"""

from __future__ import annotations

import itertools
import logging
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.errors import LandingError, LandingTimeout
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.files import atomic_path
from jumin.core.landing import municipality_user, saas_user

log = logging.getLogger(__name__)

SSHD = Path("/usr/sbin/sshd")
#: privilege separation directory the Debian sshd insists on
PRIVSEP_DIR = Path("/run/sshd")
#: umask of internal-sftp: uploads stay readable by the folder's group (the service group in
#: an inbox, the municipality in its outbox) and never by others
SFTP_UMASK = "0007"
#: requests internal-sftp refuses: a symlink in an inbox would make a host-side reader (ingest)
#: follow it outside the chroot, and nothing in an upload needs links
SFTP_DENIED = "symlink,hardlink"
SFTP_COMMAND = f"internal-sftp -u {SFTP_UMASK} -P {SFTP_DENIED} -l INFO"
#: a SaaS only downloads its deliveries: every write request is refused by the server itself
SFTP_READ_ONLY = f"{SFTP_COMMAND} -R"
#: bounded waits: the daemon binds in well under a second on an idle machine
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

# Modern algorithms only; the tests connect with OpenSSH 9.2 sftp/ssh and paramiko 5.1.
CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
MACS = ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com")
KEX = (
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
)
PUBKEY_ALGORITHMS = (
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)


def config_path(config: LandingConfig) -> Path:
    """The generated sshd_config of this landing zone."""
    return config.state / "sshd_config"


def pid_path(config: LandingConfig) -> Path:
    """Where the daemon writes its pid (after its listening socket is bound)."""
    return config.state / "sshd.pid"


def log_path(config: LandingConfig) -> Path:
    """The daemon's log (``sshd -E``): logins, refusals and internal-sftp transfers."""
    return config.state / "sshd.log"


def run_command(cmd: Sequence[str], what: str, timeout: float = 60.0) -> str:
    """Run a system command, return its stdout; raise :class:`LandingError` naming ``what``."""
    try:
        done = subprocess.run(list(cmd), check=True, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        hint = " (install openssh-server: `make sshd`)" if "ssh" in cmd[0] else ""
        raise LandingError(f"{what}: {cmd[0]} not found{hint}") from e
    except subprocess.TimeoutExpired as e:
        raise LandingError(f"{what}: `{' '.join(cmd)}` did not finish in {timeout:.0f} s") from e
    except subprocess.CalledProcessError as e:
        detail = (e.stderr or e.stdout or "").strip()
        raise LandingError(f"{what}: `{' '.join(cmd)}` exited {e.returncode}: {detail}") from e
    return done.stdout


def managed_codes(config: LandingConfig) -> list[str]:
    """Municipalities provisioned under ``<root>``: a code folder whose account exists.

    The folders are the registry: nothing else records which municipalities a zone serves.
    """
    if not config.root.is_dir():
        return []
    codes = []
    for p in sorted(config.root.iterdir()):
        if p.is_dir() and is_valid_lg_code(p.name) and user_exists(municipality_user(p.name)):
            codes.append(p.name)
    return codes


def managed_saas(config: LandingConfig) -> list[str]:
    """SaaS accounts provisioned under ``<root>/saas``: a folder whose account exists."""
    return [a for a in config.saas_accounts() if user_exists(saas_user(a))]


def user_exists(user: str) -> bool:
    """Whether a system account of this name exists."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def render_sshd_config(config: LandingConfig, lg_codes: Sequence[str], saas_accounts: Sequence[str] = ()) -> str:
    """The text of sshd_config for the service account, the given municipalities and SaaS."""
    users = [config.service_user, *(municipality_user(c) for c in lg_codes), *(saas_user(a) for a in saas_accounts)]
    lines = [
        "# Generated by jumin.apps.landing.sshd: do not edit, run `jumin landing provision` instead.",
        f"ListenAddress {config.host}",
        f"Port {config.port}",
        f"HostKey {config.host_key}",
        f"PidFile {pid_path(config)}",
        "LogLevel VERBOSE",
        # keys live outside every chroot, root-owned, so a user cannot add one for himself
        f"AuthorizedKeysFile {config.authorized_keys}/%u",
        "AuthorizedPrincipalsFile none",
        "AuthenticationMethods publickey",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "HostbasedAuthentication no",
        "GSSAPIAuthentication no",
        "PermitEmptyPasswords no",
        "PermitRootLogin no",
        "UsePAM no",
        "StrictModes yes",
        "IgnoreRhosts yes",
        "PermitUserEnvironment no",
        "PermitUserRC no",
        "PermitTTY no",
        "DisableForwarding yes",
        "AllowTcpForwarding no",
        "AllowStreamLocalForwarding no",
        "AllowAgentForwarding no",
        "X11Forwarding no",
        "PermitTunnel no",
        "GatewayPorts no",
        "PrintMotd no",
        "PrintLastLog no",
        "UseDNS no",
        "MaxAuthTries 3",
        "MaxSessions 4",
        "LoginGraceTime 30",
        "MaxStartups 10:30:60",
        "ClientAliveInterval 300",
        "ClientAliveCountMax 2",
        f"Ciphers {','.join(CIPHERS)}",
        f"MACs {','.join(MACS)}",
        f"KexAlgorithms {','.join(KEX)}",
        "HostKeyAlgorithms ssh-ed25519",
        f"PubkeyAcceptedAlgorithms {','.join(PUBKEY_ALGORITHMS)}",
        f"AllowUsers {' '.join(users)}",
        f"Subsystem sftp {SFTP_COMMAND}",
        # global, so no account can get a shell or run a command whatever the Match blocks say
        f"ForceCommand {SFTP_COMMAND}",
        "",
        f"Match User {config.service_user}",
        f"    ChrootDirectory {config.root}",
    ]
    for code in lg_codes:
        lines += [f"Match User {municipality_user(code)}", f"    ChrootDirectory {config.root / code}"]
    for account in saas_accounts:
        lines += [
            f"Match User {saas_user(account)}",
            f"    ChrootDirectory {config.saas_chroot(account)}",
            f"    ForceCommand {SFTP_READ_ONLY}",
        ]
    return "\n".join(lines) + "\n"


def write_sshd_config(
    config: LandingConfig, lg_codes: Sequence[str] | None = None, saas_accounts: Sequence[str] | None = None
) -> Path:
    """Write ``<state>/sshd_config`` (root-owned 0644) and check it with ``sshd -t``.

    Without ``lg_codes`` the municipalities are those provisioned under ``<root>``. The file is
    replaced atomically only after the new text has passed ``sshd -t``, so a running daemon never
    sees a broken config on reload.
    """
    codes = managed_codes(config) if lg_codes is None else list(lg_codes)
    accounts = managed_saas(config) if saas_accounts is None else list(saas_accounts)
    # even `sshd -t` refuses to run without it; a fresh container has no /run/sshd
    PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = config_path(config)
    with atomic_path(path) as tmp:
        tmp.write_text(render_sshd_config(config, codes, accounts), encoding="utf-8")
        tmp.chmod(0o644)
        run_command([str(SSHD), "-t", "-f", str(tmp)], f"validating {path}")
    log.debug("wrote %s for %d municipalities", path, len(codes))
    return path


def read_pid(config: LandingConfig) -> int | None:
    """The pid of *our* daemon, or None: a stale pid file or a reused pid is ignored."""
    try:
        pid = int(pid_path(config).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _is_our_sshd(pid, config) else None


def _is_our_sshd(pid: int, config: LandingConfig) -> bool:
    """Whether ``pid`` is an sshd started with this zone's config (never the system sshd)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # sshd rewrites its title to "sshd: /usr/sbin/sshd -f <cfg> -E <log> [listener] …"
    words = cmdline.replace(b"\0", b" ").split()
    cfg = str(config_path(config)).encode()
    return comm == "sshd" and any(a == b"-f" and b == cfg for a, b in itertools.pairwise(words))


def is_running(config: LandingConfig) -> bool:
    """Whether this zone's daemon is running."""
    return read_pid(config) is not None


def start(config: LandingConfig) -> int:
    """Start the daemon (or leave a running one alone) and return its pid.

    Writes and validates the config first, then waits (bounded) until the pid file appears and
    the port accepts a connection.
    """
    require_root("starting sshd")
    pid = read_pid(config)
    if pid is not None:
        log.info("sshd of %s already running (pid %d)", config.state, pid)
        return pid
    cfg = write_sshd_config(config)
    pid_path(config).unlink(missing_ok=True)
    # sshd forks into the background; the parent returns before the socket is bound
    run_command([str(SSHD), "-f", str(cfg), "-E", str(log_path(config))], "starting sshd")
    pid = _wait_for_pid(config, START_TIMEOUT)
    wait_for_port(config.host, config.port, START_TIMEOUT)
    log.info("sshd listening on %s:%d (pid %d, log %s)", config.host, config.port, pid, log_path(config))
    return pid


def reload(config: LandingConfig) -> int | None:
    """Rewrite the config and make a running daemon re-read it (SIGHUP); None if not running.

    On SIGHUP sshd re-executes itself: it closes and re-binds its socket and rewrites its pid
    file, so the pid file is removed first and its reappearance means "listening again".
    """
    require_root("reloading sshd")
    write_sshd_config(config)
    pid = read_pid(config)
    if pid is None:
        return None
    pid_path(config).unlink(missing_ok=True)
    os.kill(pid, signal.SIGHUP)
    _wait_for_pid(config, START_TIMEOUT)
    wait_for_port(config.host, config.port, START_TIMEOUT)
    log.info("sshd (pid %d) reloaded %s", pid, config_path(config))
    return pid


def stop(config: LandingConfig) -> bool:
    """Stop this zone's daemon (SIGTERM, bounded wait); False if it was not running.

    Sessions already open keep their own processes until the client disconnects, as with any
    sshd; they are not killed here.
    """
    pid = read_pid(config)
    if pid is None:
        return False
    require_root("stopping sshd")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _is_our_sshd(pid, config):
        if time.monotonic() > deadline:
            raise LandingTimeout(f"sshd (pid {pid}) did not stop within {STOP_TIMEOUT:.0f} s")
        time.sleep(0.05)
    pid_path(config).unlink(missing_ok=True)
    log.info("sshd (pid %d) stopped", pid)
    return True


def _wait_for_pid(config: LandingConfig, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (pid := read_pid(config)) is None:
        if time.monotonic() > deadline:
            raise LandingTimeout(
                f"sshd wrote no pid file {pid_path(config)} within {timeout:.0f} s;"
                f" see {log_path(config)}: {_log_tail(config)}"
            )
        time.sleep(0.05)
    return pid


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Wait until ``host:port`` accepts a TCP connection (a wildcard address probes loopback)."""
    probe = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((probe, port), timeout=1.0):
                return
        except OSError as e:
            if time.monotonic() > deadline:
                raise LandingTimeout(f"{probe}:{port} not accepting connections after {timeout:.0f} s: {e}") from e
            time.sleep(0.05)


def _log_tail(config: LandingConfig, lines: int = 5) -> str:
    try:
        return " | ".join(log_path(config).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def require_root(what: str) -> None:
    """Raise a clear :class:`LandingError` unless running as root."""
    if os.geteuid() != 0:
        raise LandingError(f"{what} needs root (accounts, chroot folders and sshd are system-wide)")
