"""Conventions of the landing zone, shared by ingest, the uploader and the landing-zone
administration.

On disk (``root``)::

    <root>/                       root:root 0755  chroot of the service account
    <root>/<lg_code>/             root:root 0755  chroot of municipality user lg<lg_code>
    <root>/<lg_code>/inbox/       lg<lg_code>:<service group> 2770  municipality writes
    <root>/<lg_code>/outbox/      <service>:lg<lg_code> 2750        receipts, municipality reads
    <root>/archive/<lg_code>/     <service> 0700                    processed sets
    <root>/saas/<account>/        root:root 0755  chroot of SaaS user saas_<account>
    <root>/saas/<account>/outbox/ <service>:saas_<account> 2750     deliveries, the SaaS reads

Seen over SFTP, a municipality has ``/inbox`` and ``/outbox``; a SaaS has ``/outbox`` only, read
only; the service account sees ``/<lg_code>/inbox``, ``/<lg_code>/outbox``,
``/archive/<lg_code>`` and ``/saas/<account>/outbox``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jumin.core.checkdigits import is_valid_lg_code

INBOX = "inbox"
OUTBOX = "outbox"
ARCHIVE = "archive"
#: suffix of a file still being uploaded; ingest never reads such a file
PARTIAL_SUFFIX = ".part"
USER_PREFIX = "lg"
SERVICE_USER = "jumin"
SAAS = "saas"
SAAS_USER_PREFIX = "saas_"
#: a SaaS account name (``saasAccount`` of its contracts): lower-case romaji, digits, ``_``;
#: with the prefix it stays within the 32 characters of a Linux user name
SAAS_ACCOUNT = re.compile(r"[a-z][a-z0-9_]{0,25}")


def municipality_user(lg_code: str) -> str:
    """The sftp-only account of a municipality, e.g. ``lg131016``."""
    if not is_valid_lg_code(lg_code):
        raise ValueError(f"not a 全国地方公共団体コード (6 digits with its check digit): {lg_code!r}")
    return f"{USER_PREFIX}{lg_code}"


def lg_code_of_user(user: str) -> str | None:
    """The municipality code of an account name, or None for other accounts."""
    code = user.removeprefix(USER_PREFIX)
    return code if user.startswith(USER_PREFIX) and is_valid_lg_code(code) else None


def saas_user(account: str) -> str:
    """The read-only sftp account of a SaaS, e.g. ``saas_yobosesshu``."""
    if not SAAS_ACCOUNT.fullmatch(account):
        raise ValueError(f"not a SaaS account name (a-z first, then a-z, 0-9 or _, at most 26 characters): {account!r}")
    return f"{SAAS_USER_PREFIX}{account}"


def saas_account_of_user(user: str) -> str | None:
    """The SaaS account of an account name, or None for other accounts."""
    account = user.removeprefix(SAAS_USER_PREFIX)
    return account if user.startswith(SAAS_USER_PREFIX) and SAAS_ACCOUNT.fullmatch(account) else None


@dataclass(frozen=True)
class LandingTree:
    """The folders of a landing zone rooted at ``root``."""

    root: Path = Path("/srv/jumin-sftp")

    def inbox(self, lg_code: str) -> Path:
        return self.root / lg_code / INBOX

    def outbox(self, lg_code: str) -> Path:
        return self.root / lg_code / OUTBOX

    def archive(self, lg_code: str) -> Path:
        return self.root / ARCHIVE / lg_code

    def saas_chroot(self, account: str) -> Path:
        return self.root / SAAS / account

    def saas_outbox(self, account: str) -> Path:
        return self.saas_chroot(account) / OUTBOX

    def saas_accounts(self) -> list[str]:
        """The SaaS accounts with a folder in this zone, sorted."""
        folder = self.root / SAAS
        return (
            sorted(p.name for p in folder.iterdir() if p.is_dir() and SAAS_ACCOUNT.fullmatch(p.name))
            if folder.is_dir()
            else []
        )


def remote_inbox(lg_code: str | None = None) -> str:
    """The inbox path over SFTP: ``/inbox`` for a municipality, ``/<code>/inbox`` for service."""
    return f"/{lg_code}/{INBOX}" if lg_code else f"/{INBOX}"


def remote_outbox(lg_code: str | None = None) -> str:
    """The outbox path over SFTP, as :func:`remote_inbox`."""
    return f"/{lg_code}/{OUTBOX}" if lg_code else f"/{OUTBOX}"


def remote_archive(lg_code: str) -> str:
    """Where the service account moves processed sets."""
    return f"/{ARCHIVE}/{lg_code}"


def remote_saas_outbox(account: str | None = None) -> str:
    """A SaaS outbox over SFTP: ``/outbox`` for the SaaS, ``/saas/<account>/outbox`` for service."""
    return f"/{SAAS}/{account}/{OUTBOX}" if account else f"/{OUTBOX}"
