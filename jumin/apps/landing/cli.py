"""jumin landing: provision the SFTP landing zone, run its sshd, rotate keys.

Either call :func:`main` with the arguments after ``landing``, or attach the subcommands to an
existing parser with :func:`register` (each sets ``func`` to a handler returning an exit code).

Exit codes: 0 done (``status``: running); 1 a landing error (the message names what failed);
3 ``status``: not running; 4 a timeout worth retrying.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jumin.apps.landing.config import LandingConfig
from jumin.apps.landing.errors import LandingError
from jumin.core.landing import municipality_user, saas_user

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_TRANSIENT, EXIT_STOPPED = 0, 1, 4, 5
_DEFAULTS = LandingConfig()
_KEY_PREFIXES = ("ssh-", "ecdsa-", "sk-")


def _config(args: argparse.Namespace) -> LandingConfig:
    return LandingConfig(root=Path(args.root), state=Path(args.state), host=args.host, port=args.port)


def _key_text(value: str) -> str:
    """A public key given inline (``ssh-ed25519 AAAA…``) or as a path to a ``.pub`` file."""
    if value.startswith(_KEY_PREFIXES) or value.startswith("SHA256:"):
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise LandingError(f"cannot read public key file {path}: {e.strerror}") from e


def _keys(pairs: Sequence[str] | None) -> dict[str, str]:
    """``USER=KEY`` options → user → key text (several keys for one user are joined)."""
    keys: dict[str, str] = {}
    for pair in pairs or ():
        user, sep, value = pair.partition("=")
        if not sep or not value:
            raise LandingError(f"--key wants USER=PATH_OR_KEY, got {pair!r}")
        keys[user] = keys.get(user, "") + _key_text(value).rstrip("\n") + "\n"
    return keys


def _console() -> Any:
    from rich.console import Console

    return Console()


# --------------------------------------------------------------------------- handlers


def cmd_provision(args: argparse.Namespace) -> int:
    from jumin.apps.landing.provision import provision

    config = _config(args)
    codes = list(args.lg_code or [])
    accounts = list(args.saas or [])
    provision(config, codes, _keys(args.key), accounts)
    users = [municipality_user(c) for c in codes] + [saas_user(a) for a in accounts]
    _console().print(
        f"provisioned {', '.join(users) or 'no municipality'} under {config.root} "
        f"(service account {config.service_user})"
    )
    return EXIT_OK


def cmd_deprovision(args: argparse.Namespace) -> int:
    from jumin.apps.landing.provision import deprovision

    if not args.yes:
        raise LandingError(
            "deprovision deletes the municipality's inbox, outbox and archive: add --yes once they are saved elsewhere"
        )
    codes, accounts = list(args.lg_code or []), list(args.saas or [])
    if not codes and not accounts:
        raise LandingError("deprovision what? give --lg-code or --saas")
    deprovision(_config(args), codes, remove_zone=args.remove_zone, saas_accounts=accounts)
    _console().print(f"removed {', '.join(codes + [saas_user(a) for a in accounts])}")
    return EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    from jumin.apps.landing import sshd

    config = _config(args)
    pid = sshd.start(config)
    _console().print(f"sshd running on {config.host}:{config.port} (pid {pid}); log {sshd.log_path(config)}")
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    from jumin.apps.landing import sshd

    stopped = sshd.stop(_config(args))
    _console().print("sshd stopped" if stopped else "sshd was not running")
    return EXIT_OK


def cmd_reload(args: argparse.Namespace) -> int:
    from jumin.apps.landing import sshd

    pid = sshd.reload(_config(args))
    _console().print(f"sshd (pid {pid}) reloaded" if pid else "config written; sshd not running")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from rich.table import Table

    from jumin.apps.landing import sshd
    from jumin.apps.landing.provision import read_keys

    config = _config(args)
    pid = sshd.read_pid(config)
    console = _console()
    console.print(
        f"sshd: {'running, pid ' + str(pid) if pid else 'not running'}; "
        f"{config.host}:{config.port}; config {sshd.config_path(config)}; "
        f"log {sshd.log_path(config)}"
    )
    table = Table(title=f"accounts of {config.root}")
    table.add_column("account")
    table.add_column("chroot")
    table.add_column("keys", overflow="fold")
    accounts = [(config.service_user, config.root)]
    accounts += [(municipality_user(c), config.root / c) for c in sshd.managed_codes(config)]
    accounts += [(saas_user(a), config.saas_chroot(a)) for a in sshd.managed_saas(config)]
    for user, chroot in accounts:
        keys = read_keys(config, user)
        table.add_row(user, str(chroot), "\n".join(k.fingerprint for k in keys) or "(none)")
    console.print(table)
    return EXIT_OK if pid else EXIT_STOPPED


def cmd_add_key(args: argparse.Namespace) -> int:
    from jumin.apps.landing.provision import add_key

    added = add_key(_config(args), args.user, _key_text(args.key))
    _console().print(f"{args.user}: added {', '.join(added)}" if added else f"{args.user}: key already authorized")
    return EXIT_OK


def cmd_remove_key(args: argparse.Namespace) -> int:
    from jumin.apps.landing.provision import remove_key

    removed = remove_key(_config(args), args.user, _key_text(args.key))
    if not removed:
        raise LandingError(f"{args.user}: no such key authorized")
    _console().print(f"{args.user}: removed {', '.join(removed)}")
    return EXIT_OK


def cmd_serve_embedded(args: argparse.Namespace) -> int:
    from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree

    config = _config(args)
    prepare_tree(config, list(args.lg_code or []), _keys(args.key), list(args.saas or []))
    server = EmbeddedSftpServer(config)
    server.start()
    _console().print(f"embedded SFTP server on {config.host}:{server.port} serving {config.root}; Ctrl-C stops it")
    server.serve_forever()
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes; defaults from JUMIN_LANDING_* or config.py."""
    p = argparse.ArgumentParser(add_help=False)
    env = os.environ.get
    p.add_argument(
        "--root",
        default=env("JUMIN_LANDING_ROOT", str(_DEFAULTS.root)),
        help="landing folders, chroot of the service account (default %(default)s)",
    )
    p.add_argument(
        "--state",
        default=env("JUMIN_LANDING_STATE", str(_DEFAULTS.state)),
        help="sshd config, host key, authorized keys, pid, log (default %(default)s)",
    )
    p.add_argument(
        "--host", default=env("JUMIN_LANDING_HOST", _DEFAULTS.host), help="listen address (default %(default)s)"
    )
    p.add_argument(
        "--port",
        type=int,
        default=int(env("JUMIN_LANDING_PORT", _DEFAULTS.port)),
        help="listen port (default %(default)s)",
    )
    return p


def _add_commands(sub: Any) -> None:
    common = [_common()]
    commands: list[tuple[str, Callable[[argparse.Namespace], int], str]] = [
        ("provision", cmd_provision, "create or repair accounts, folders, host key; add keys"),
        ("deprovision", cmd_deprovision, "remove municipalities (folders, keys, accounts)"),
        ("start", cmd_start, "start the landing sshd"),
        ("stop", cmd_stop, "stop the landing sshd"),
        ("reload", cmd_reload, "rewrite sshd_config and make sshd re-read it"),
        ("status", cmd_status, "show sshd state, accounts and key fingerprints"),
        ("add-key", cmd_add_key, "authorize a public key for an account"),
        ("remove-key", cmd_remove_key, "revoke a key (public key, .pub file or SHA256: fingerprint)"),
        ("serve-embedded", cmd_serve_embedded, "run the embedded SFTP server in the foreground"),
    ]
    for name, func, helptext in commands:
        s = sub.add_parser(name, parents=common, help=helptext, description=helptext)
        s.set_defaults(func=func)
        if name in ("provision", "deprovision", "serve-embedded"):
            s.add_argument(
                "--lg-code",
                action="append",
                help="6-digit 全国地方公共団体コード (repeatable)",
            )
            s.add_argument(
                "--saas",
                action="append",
                metavar="ACCOUNT",
                help="SaaS account (a contract's saasAccount, default its id) with a read-only outbox (repeatable)",
            )
        if name in ("provision", "serve-embedded"):
            s.add_argument(
                "--key",
                action="append",
                metavar="USER=KEY",
                help="public key for an account: a .pub path or the key line "
                "(repeatable), e.g. lg131016=~/.ssh/id_ed25519.pub",
            )
        if name == "deprovision":
            s.add_argument("--yes", action="store_true", help="really delete the folders")
            s.add_argument(
                "--remove-zone",
                action="store_true",
                help="when none is left: also the service account, host key, folders",
            )
        if name in ("add-key", "remove-key"):
            s.add_argument("user", help="account, e.g. lg131016, saas_yobosesshu or jumin")
            s.add_argument(
                "key", help="public key line, .pub file" + (" or SHA256: fingerprint" if name == "remove-key" else "")
            )


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``landing`` with its subcommands to an existing ``add_subparsers()`` object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "landing", help="SFTP landing zone: provision, sshd, keys", description=__doc__.splitlines()[0]
    )
    _add_commands(p.add_subparsers(dest="landing_command", required=True))
    return p


def build_parser() -> argparse.ArgumentParser:
    """The standalone parser (``jumin landing`` when called through :func:`main`)."""
    p = argparse.ArgumentParser(prog="jumin landing", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    _add_commands(p.add_subparsers(dest="landing_command", required=True))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``jumin landing`` with ``argv`` (the arguments after ``landing``); return the exit code."""
    from jumin.core.errors import JuminError

    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        from rich.logging import RichHandler

        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(message)s",
            handlers=[RichHandler(show_path=False)],
        )
        # asyncssh logs every packet exchange at INFO; keep its warnings only
        logging.getLogger("asyncssh").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args))
    except JuminError as e:
        log.error("%s", e)
        return EXIT_TRANSIENT if e.transient else EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
