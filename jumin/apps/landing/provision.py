"""Provision the landing zone on a host: accounts, chroot folders, host key and authorized keys.

Everything here is idempotent: running :func:`provision` again repairs owners and modes and adds
missing keys, and never removes a key (rotation is :func:`add_key` then :func:`remove_key`).

Accounts (``useradd --system``, no home, shell ``/usr/sbin/nologin``, password field ``*``):

- the service account (``jumin``) with its own group, which owns every outbox and archive and is
  the group of every inbox, so it can read, rename and delete uploads;
- one account per municipality (``lg131016``) with its own group (``lg131016``), the group of its
  outbox, so it can read its receipts and nothing else;
- one account per SaaS (``saas_yobosesshu``) with its own group, the group of its outbox under
  ``<root>/saas/<account>/``, which it can only read (sshd serves it ``internal-sftp -R``).

Accounts this module creates carry :data:`MANAGED_COMMENT` in their GECOS field;
:func:`deprovision` removes only such accounts.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import logging
import os
import pwd
import shutil
import stat
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jumin.apps.landing import sshd
from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.errors import LandingError
from jumin.core.files import atomic_path
from jumin.core.landing import ARCHIVE, SAAS, lg_code_of_user, municipality_user, saas_account_of_user, saas_user

log = logging.getLogger(__name__)

MANAGED_COMMENT = "jumin landing zone (managed)"
NOLOGIN = "/usr/sbin/nologin"
#: key types accepted in authorized keys (ssh-rsa is the RSA *key* type; sshd still only accepts
#: rsa-sha2-256/512 signatures, see jumin.apps.landing.sshd.PUBKEY_ALGORITHMS)
KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "sk-ssh-ed25519@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-rsa",
    }
)
MIN_RSA_BITS = 2048
#: prepended to every key: no forwarding, no pty, no ~/.ssh/rc, whatever sshd_config says
KEY_OPTIONS = "restrict"
#: a chroot may not live below these (world-writable sticky folders, often cleaned)
UNSAFE_PARENTS = ("/tmp", "/var/tmp", "/dev/shm")


# --------------------------------------------------------------------------- public keys


@dataclass(frozen=True)
class PublicKey:
    """One public key of an authorized_keys line, without options."""

    type: str
    blob: str  # base64, as in the file
    comment: str = ""

    @property
    def fingerprint(self) -> str:
        """``SHA256:…`` as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def line(self) -> str:
        """The authorized_keys line written for this key."""
        return " ".join(filter(None, (KEY_OPTIONS, self.type, self.blob, self.comment)))


def parse_public_keys(text: str) -> list[PublicKey]:
    """Parse one or more public key lines (``ssh-ed25519 AAAA… comment``); raise on anything else.

    Options before the key type (``command=…``, ``from=…``) are refused: this module sets the
    options itself. RSA keys shorter than :data:`MIN_RSA_BITS` are refused.
    """
    keys = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[0] not in KEY_TYPES:
            raise LandingError(
                f"not a public key line (expected one of {sorted(KEY_TYPES)} first, no options): {line[:60]!r}"
            )
        key = PublicKey(parts[0], parts[1], parts[2] if len(parts) > 2 else "")
        _check_blob(key)
        keys.append(key)
    if not keys:
        raise LandingError("no public key found in the given text")
    return keys


def _check_blob(key: PublicKey) -> None:
    """The base64 blob must decode and name the same key type (catches truncated copies)."""
    try:
        blob = base64.b64decode(key.blob, validate=True)
        fields = _ssh_strings(blob)
    except (ValueError, struct.error) as e:
        raise LandingError(f"{key.type} key {key.comment!r}: malformed base64 blob ({e})") from e
    if not fields or fields[0] != key.type.encode():
        raise LandingError(f"{key.type} key {key.comment!r}: blob is of another type")
    if key.type == "ssh-rsa":
        bits = int.from_bytes(fields[2], "big").bit_length() if len(fields) > 2 else 0
        if bits < MIN_RSA_BITS:
            raise LandingError(
                f"RSA key {key.comment!r} has {bits} bits; at least {MIN_RSA_BITS} are required (better: ed25519)"
            )


def _ssh_strings(blob: bytes) -> list[bytes]:
    """Split an SSH wire-format blob into its length-prefixed fields."""
    fields, i = [], 0
    while i < len(blob):
        (n,) = struct.unpack(">I", blob[i : i + 4])
        if i + 4 + n > len(blob):
            raise ValueError("field runs past the end")
        fields.append(blob[i + 4 : i + 4 + n])
        i += 4 + n
    return fields


def _check_user(config: LandingConfig, user: str) -> None:
    if user != config.service_user and lg_code_of_user(user) is None and saas_account_of_user(user) is None:
        raise LandingError(
            f"{user!r} is not an account of this landing zone ({config.service_user}, lg<6-digit code> "
            "or saas_<account>)"
        )


def read_keys(config: LandingConfig, user: str) -> list[PublicKey]:
    """The keys currently authorized for ``user`` (empty if none)."""
    path = config.keys_of(user)
    if not path.exists():
        return []
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        # our lines are "restrict <type> <blob> [comment]"; skip the options field
        while parts and parts[0] not in KEY_TYPES:
            parts.pop(0)
        if len(parts) >= 2:
            keys.append(PublicKey(parts[0], parts[1], " ".join(parts[2:])))
    return keys


def add_key(config: LandingConfig, user: str, pubkey: str) -> list[str]:
    """Authorize ``pubkey`` (one or more lines) for ``user``; return fingerprints newly added.

    Keys already present are left alone, so this is safe to repeat. sshd reads the file at every
    login: no reload is needed.
    """
    _check_user(config, user)
    current = read_keys(config, user)
    known = {k.blob for k in current}
    new = [k for k in parse_public_keys(pubkey) if k.blob not in known]
    if new:
        _write_keys(config, user, current + new)
    for k in new:
        log.info("authorized key %s %s for %s", k.type, k.fingerprint, user)
    return [k.fingerprint for k in new]


def remove_key(config: LandingConfig, user: str, key: str) -> list[str]:
    """Revoke a key of ``user`` given as a public key line or ``SHA256:`` fingerprint.

    Returns the fingerprints removed (empty if the key was not there). Connections already open
    stay open until they end; new logins with the key fail at once.
    """
    _check_user(config, user)
    if key.startswith("SHA256:"):
        wanted = {key.strip()}
    else:
        wanted = {k.fingerprint for k in parse_public_keys(key)}
    current = read_keys(config, user)
    keep = [k for k in current if k.fingerprint not in wanted]
    removed = [k.fingerprint for k in current if k.fingerprint in wanted]
    if removed:
        _write_keys(config, user, keep)
        log.info("revoked %s for %s", ", ".join(removed), user)
        if not keep:
            log.warning("%s has no authorized key left: it cannot log in", user)
    return removed


def _write_keys(config: LandingConfig, user: str, keys: list[PublicKey]) -> None:
    """Replace the authorized_keys file atomically: root-owned 0644 (sshd reads it as the user)."""
    folder = config.authorized_keys
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = config.keys_of(user)
    with atomic_path(path) as tmp:
        tmp.write_text("".join(k.line() + "\n" for k in keys), encoding="utf-8")
        tmp.chmod(0o644)


# --------------------------------------------------------------------------- accounts


def _getent_shadow(user: str) -> str:
    out = sshd.run_command(["getent", "shadow", user], f"reading the shadow entry of {user}")
    return out.split(":")[1] if ":" in out else ""


def is_managed(user: str) -> bool:
    """Whether ``user`` exists and was created by this module."""
    try:
        return pwd.getpwnam(user).pw_gecos == MANAGED_COMMENT
    except KeyError:
        return False


def ensure_account(user: str) -> bool:
    """Create the sftp-only system account ``user`` with a group of the same name, once.

    Returns True if it was created. The password field is set to ``*`` (no password, but not
    locked: with ``UsePAM no`` sshd refuses a locked ``!`` account even for key logins).
    """
    created = False
    if not sshd.user_exists(user):
        group_opt = ["--gid", user] if _group_exists(user) else ["--user-group"]
        sshd.run_command(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/",
                "--shell",
                NOLOGIN,
                "--comment",
                MANAGED_COMMENT,
                *group_opt,
                user,
            ],
            f"creating account {user}",
        )
        log.info("created account %s", user)
        created = True
    password = _getent_shadow(user)
    if password.startswith("!"):
        if is_managed(user):
            sshd.run_command(["usermod", "-p", "*", user], f"unlocking account {user}")
        else:
            log.warning(
                "account %s is locked (%s…): sshd will refuse it; `usermod -p '*' %s`", user, password[:1], user
            )
    return created


def _group_exists(group: str) -> bool:
    try:
        grp.getgrnam(group)
    except KeyError:
        return False
    return True


def _ensure_service_group(config: LandingConfig) -> None:
    """The service account must be in the service group (its primary group when we created it)."""
    group = config.service_user
    if not _group_exists(group):
        sshd.run_command(["groupadd", "--system", group], f"creating group {group}")
    entry = pwd.getpwnam(config.service_user)
    gr = grp.getgrnam(group)
    if entry.pw_gid != gr.gr_gid and config.service_user not in gr.gr_mem:
        sshd.run_command(
            ["usermod", "-a", "-G", group, config.service_user], f"adding {config.service_user} to group {group}"
        )


def _remove_account(user: str) -> None:
    """Delete a managed account and its group; leave any other account alone."""
    if not is_managed(user):
        if sshd.user_exists(user):
            log.warning("account %s was not created by jumin: left in place", user)
        return
    sshd.run_command(["userdel", user], f"removing account {user}")
    if _group_exists(user) and not grp.getgrnam(user).gr_mem:
        sshd.run_command(["groupdel", user], f"removing group {user}")
    log.info("removed account %s", user)


# --------------------------------------------------------------------------- folders


def check_location(config: LandingConfig) -> None:
    """``root`` and ``state`` must be absolute and outside temp folders (chroot rule)."""
    for label, path in (("root", config.root), ("state", config.state)):
        if not path.is_absolute():
            raise LandingError(f"landing {label} {path} must be an absolute path")
        resolved = path.resolve()
        for unsafe in UNSAFE_PARENTS:
            if resolved == Path(unsafe) or Path(unsafe) in resolved.parents:
                raise LandingError(
                    f"landing {label} {path} is under {unsafe}: sshd refuses a "
                    f"chroot below a group- or world-writable folder"
                )


def check_chroot_path(path: Path) -> None:
    """Every component of a ChrootDirectory must be root-owned and not group/world-writable."""
    for p in [*reversed(path.parents), path]:
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            raise LandingError(f"chroot path component {p} is a symlink")
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise LandingError(
                f"chroot path component {p} must be root-owned and not group- or "
                f"world-writable (is uid {st.st_uid}, mode {st.st_mode & 0o7777:o})"
            )


def _ensure_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    """Create ``path`` if needed and set exactly this owner and mode (repairs drift)."""
    if path.is_symlink():
        raise LandingError(f"{path} is a symlink; refusing to use it as a landing folder")
    path.mkdir(mode=0o700, exist_ok=True)  # tight until chown/chmod below
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # explicit: mkdir's mode is masked by umask and drops setgid


def _ensure_parents(path: Path) -> None:
    """Create missing parents root-owned 0755, as a chroot path requires."""
    missing = [p for p in reversed(path.parents) if not p.exists()]
    for p in missing:
        _ensure_dir(p, 0, 0, 0o755)


def ensure_tree(config: LandingConfig, lg_codes: Iterable[str]) -> None:
    """Create or repair the folders of config.py's layout for these municipalities."""
    svc = pwd.getpwnam(config.service_user)
    svc_gid = grp.getgrnam(config.service_user).gr_gid
    _ensure_parents(config.root)
    _ensure_dir(config.root, 0, 0, 0o755)
    _ensure_dir(config.root / ARCHIVE, 0, 0, 0o755)
    for code in lg_codes:
        lg = pwd.getpwnam(municipality_user(code))
        _ensure_dir(config.root / code, 0, 0, 0o755)
        # setgid: uploads inherit the service group, so ingest can read them
        _ensure_dir(config.inbox(code), lg.pw_uid, svc_gid, 0o2770)
        # setgid: receipts inherit the municipality's group, so it can read them
        _ensure_dir(config.outbox(code), svc.pw_uid, lg.pw_gid, 0o2750)
        _ensure_dir(config.archive(code), svc.pw_uid, svc_gid, 0o700)
        check_chroot_path(config.root / code)
    check_chroot_path(config.root)


def ensure_saas_tree(config: LandingConfig, accounts: Iterable[str]) -> None:
    """Create or repair the read-only outbox of each SaaS account."""
    svc = pwd.getpwnam(config.service_user)
    _ensure_dir(config.root / SAAS, 0, 0, 0o755)
    for account in accounts:
        user = pwd.getpwnam(saas_user(account))
        _ensure_dir(config.saas_chroot(account), 0, 0, 0o755)
        # setgid: deliveries (and their folders) inherit the SaaS's group, so it can read them
        _ensure_dir(config.saas_outbox(account), svc.pw_uid, user.pw_gid, 0o2750)
        check_chroot_path(config.saas_chroot(account))


def ensure_state(config: LandingConfig) -> None:
    """``<state>`` and ``<state>/authorized_keys``: root-owned 0755 (sshd's StrictModes)."""
    _ensure_parents(config.state)
    _ensure_dir(config.state, 0, 0, 0o755)
    _ensure_dir(config.authorized_keys, 0, 0, 0o755)


def ensure_host_key(config: LandingConfig) -> Path:
    """Generate the ed25519 host key once; an existing key is kept (clients pinned it)."""
    key = config.host_key
    if not key.exists():
        sshd.run_command(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jumin-landing", "-f", str(key)],
            f"generating host key {key}",
        )
        log.info("generated host key %s", key)
    os.chmod(key, 0o600)
    return key


# --------------------------------------------------------------------------- entry points


def provision(
    config: LandingConfig, lg_codes: list[str], keys: dict[str, str], saas_accounts: Iterable[str] = ()
) -> None:
    """Create or repair the landing zone for ``lg_codes`` and the SaaS ``saas_accounts`` and
    authorize ``keys`` (user → key).

    Safe to repeat. Writes the sshd config for every municipality provisioned so far and, if the
    zone's sshd is running, makes it reload.
    """
    sshd.require_root("provisioning the landing zone")
    check_location(config)
    users = {municipality_user(c) for c in lg_codes}  # validates the codes
    accounts = sorted(set(saas_accounts))
    saas_users = {saas_user(a) for a in accounts}
    for user in keys:
        _check_user(config, user)
        code = lg_code_of_user(user)
        if code is not None and user not in users and not (config.root / code).is_dir():
            raise LandingError(f"key given for {user}, but {code} is neither being provisioned nor provisioned already")
        account = saas_account_of_user(user)
        if account is not None and user not in saas_users and not config.saas_chroot(account).is_dir():
            raise LandingError(f"key given for {user}, but SaaS {account} is neither being provisioned nor provisioned")
    ensure_account(config.service_user)
    _ensure_service_group(config)
    for user in sorted(users | saas_users):
        ensure_account(user)
    ensure_state(config)
    ensure_tree(config, lg_codes)
    ensure_saas_tree(config, accounts)
    ensure_host_key(config)
    for user, key in keys.items():
        add_key(config, user, key)
    if sshd.reload(config) is None:
        log.info("sshd config written to %s (sshd not running)", sshd.config_path(config))


def deprovision(
    config: LandingConfig, lg_codes: list[str], *, remove_zone: bool = False, saas_accounts: Iterable[str] = ()
) -> None:
    """Remove municipalities (their folders: uploads, receipts, archive) and SaaS accounts (their
    outbox), with their keys and accounts.

    With ``remove_zone`` and no municipality or SaaS left, also remove the service account (if jumin
    created it), the host key, the generated files and the (then empty) ``root`` and ``state``
    folders; the zone's sshd must be stopped first. Used by tests and when a zone is retired.
    """
    sshd.require_root("deprovisioning the landing zone")
    check_location(config)
    for code in lg_codes:
        user = municipality_user(code)
        config.keys_of(user).unlink(missing_ok=True)
        for folder in (config.root / code, config.archive(code)):
            _remove_tree(folder, config.root)
        _remove_account(user)
    for account in saas_accounts:
        user = saas_user(account)
        config.keys_of(user).unlink(missing_ok=True)
        _remove_tree(config.saas_chroot(account), config.root)
        _remove_account(user)
    remaining = sshd.managed_codes(config) + sshd.managed_saas(config)
    if not remove_zone or remaining:
        if sshd.config_path(config).exists():  # drop the removed accounts' Match blocks
            sshd.reload(config)
        if remove_zone:
            log.warning("zone kept: municipalities %s are still provisioned", remaining)
        return
    if sshd.is_running(config):
        raise LandingError(f"stop the landing sshd before removing the zone at {config.root}")
    config.keys_of(config.service_user).unlink(missing_ok=True)
    _remove_account(config.service_user)
    for path in (
        config.host_key,
        config.host_key.with_suffix(".pub"),
        sshd.config_path(config),
        sshd.pid_path(config),
        sshd.log_path(config),
    ):
        path.unlink(missing_ok=True)
    # rmdir, not rmtree: anything unexpected left there stays, and says so
    for folder in (config.authorized_keys, config.state, config.root / ARCHIVE, config.root / SAAS, config.root):
        _rmdir_if_empty(folder)


def _remove_tree(folder: Path, root: Path) -> None:
    if not folder.exists():
        return
    if folder.is_symlink() or root.resolve() not in folder.resolve().parents:
        raise LandingError(f"refusing to remove {folder}: not a folder inside {root}")
    shutil.rmtree(folder)
    log.info("removed %s", folder)


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except FileNotFoundError:
        pass
    except OSError as e:
        log.warning("left %s in place: %s", folder, e.strerror)
