"""``jumin pull``: a SaaS team's client for its deliveries (docs/pull.md).

Reads the SaaS's read-only outbox (over SFTP as ``saas_<account>``, or a local copy of it),
downloads what the local DuckDB database lacks, checks every file against its manifest and
applies it in one transaction per step:

- nothing local yet (or ``--full``): the latest full delivery replaces the table;
- else the deltas from the local 基準日 on, in order, as long as they chain; where the chain
  breaks (a delta the SaaS missed was never published) the latest full delivery is loaded and
  the log says so.

A published partition is one whose ``_manifest.json`` is in the outbox (the data file goes
first). Downloads resume: a file is fetched to ``<name>.part`` and a later run continues from
its size; a file whose SHA-256 differs from its manifest is fetched again once from the start,
then refused. The database holds one table per contract (named by the contract id, one row per
person, keyed by ``person_id``) and ``jumin_pull_state`` (contract, 基準日, rows) and
``jumin_pull_log`` (every step applied). After every step the table must hold as many rows as
that day's full delivery.
"""

from __future__ import annotations

import json
import logging
import posixpath
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from jumin.core import duck
from jumin.core.contract import PERSON_ID
from jumin.core.errors import TerminalError
from jumin.core.files import sha256_file
from jumin.core.lake import PART_FILE, PARTITION_MANIFEST, Lake

log = logging.getLogger(__name__)

BLOCK = 1 << 20
#: the outbox holds the lake's paths below ``deliver/``: built and read back by Lake
_LAYOUT = Lake(Path("/"))
#: folders from the outbox's root down to a delta partition (contract, delta, from, to)
_DEPTH = 4


class PullFailed(TerminalError):
    """A delivery could not be pulled as published: a file that does not match its manifest,
    a table that does not add up, an outbox without what the manifest names."""


# --------------------------------------------------------------------------- the outbox


class Outbox(Protocol):
    """A SaaS outbox as the consumer sees it (paths relative to it, ``/``-separated)."""

    def entries(self, path: str) -> dict[str, bool]:
        """Names in the folder ``path`` ("" = the outbox), each with whether it is a folder
        (empty when it does not exist)."""
        ...

    def read_bytes(self, path: str) -> bytes: ...

    def open(self, path: str, offset: int) -> AbstractContextManager[BinaryIO]:
        """``path`` opened for reading from ``offset``."""
        ...


class FolderOutbox:
    """An outbox on the local file system (a mounted share, a copy, tests)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise PullFailed(f"no outbox at {self.root}")

    def entries(self, path: str) -> dict[str, bool]:
        folder = self.root / path
        return {p.name: p.is_dir() for p in sorted(folder.iterdir())} if folder.is_dir() else {}

    def read_bytes(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    @contextmanager
    def open(self, path: str, offset: int) -> Iterator[BinaryIO]:
        with (self.root / path).open("rb") as f:
            f.seek(offset)
            yield f


class SftpOutbox:
    """The outbox over SFTP (``/outbox`` of the SaaS account)."""

    def __init__(self, sftp: Any, base: str) -> None:
        self.sftp = sftp
        self.base = base

    def _path(self, path: str) -> str:
        return posixpath.join(self.base, path) if path else self.base

    def entries(self, path: str) -> dict[str, bool]:
        try:
            found = self.sftp.listdir_attr(self._path(path))
        except FileNotFoundError:
            return {}
        return {a.filename: stat.S_ISDIR(a.st_mode or 0) for a in sorted(found, key=lambda a: a.filename)}

    def read_bytes(self, path: str) -> bytes:
        with self.sftp.open(self._path(path), "rb") as f:
            return bytes(f.read())

    @contextmanager
    def open(self, path: str, offset: int) -> Iterator[BinaryIO]:
        with self.sftp.open(self._path(path), "rb") as f:
            f.seek(offset)
            f.prefetch(f.stat().st_size)  # pipelined reads from the offset on
            yield f


@contextmanager
def open_outbox(source: str | Path) -> Iterator[Outbox]:
    """The outbox at ``source``: ``sftp://saas_<account>@host:port?key_file=…&host_key=…`` or a
    folder."""
    if not str(source).startswith("sftp://"):
        yield FolderOutbox(source)
        return
    from extract.sftp import SftpSettings, open_sftp
    from jumin.core.landing import remote_saas_outbox

    client, sftp = open_sftp(SftpSettings.from_uri(str(source)))
    try:
        a = sftp.stat(remote_saas_outbox())
        if not stat.S_ISDIR(a.st_mode or 0):
            raise PullFailed(f"{source}: {remote_saas_outbox()} is not a folder")
        yield SftpOutbox(sftp, remote_saas_outbox())
    finally:
        client.close()


# --------------------------------------------------------------------------- what is published


@dataclass(frozen=True)
class Published:
    """A contract's published partitions: full deliveries by 基準日, deltas by (from, to)."""

    contract: str
    days: tuple[str, ...]
    deltas: tuple[tuple[str, str], ...]

    @staticmethod
    def full_folder(contract: str, day: str) -> str:
        return _LAYOUT.delivery(contract, day).relative_to(_LAYOUT.deliveries_root()).as_posix()

    @staticmethod
    def delta_folder(contract: str, since: str, day: str) -> str:
        return _LAYOUT.delivery_delta(contract, since, day).relative_to(_LAYOUT.deliveries_root()).as_posix()


def published(outbox: Outbox) -> dict[str, Published]:
    """What ``outbox`` holds, by contract: the partitions whose manifest is there."""
    days: dict[str, set[str]] = {}
    deltas: dict[str, set[tuple[str, str]]] = {}

    def walk(folder: str, depth: int) -> None:
        for name, is_folder in outbox.entries(folder).items():
            rel = f"{folder}/{name}" if folder else name
            part = Lake.delivery_partition(rel) if is_folder else None
            if part is not None:
                contract, since, day = part
                if PARTITION_MANIFEST not in outbox.entries(rel):
                    continue  # not (completely) published yet
                if since is None:
                    days.setdefault(contract, set()).add(day)
                else:
                    deltas.setdefault(contract, set()).add((since, day))
            elif is_folder and depth < _DEPTH:
                walk(rel, depth + 1)

    walk("", 1)
    return {
        c: Published(c, tuple(sorted(days.get(c, ()))), tuple(sorted(deltas.get(c, ()), key=lambda p: (p[1], p[0]))))
        for c in sorted(days.keys() | deltas.keys())
    }


@dataclass(frozen=True)
class Step:
    """One thing to apply: a full delivery of ``day``, or the delta ``since`` → ``day``."""

    kind: str  # "full" | "delta"
    day: str
    since: str | None = None

    def folder(self, contract: str) -> str:
        if self.since is None:
            return Published.full_folder(contract, self.day)
        return Published.delta_folder(contract, self.since, self.day)

    def __str__(self) -> str:
        return f"full {self.day}" if self.kind == "full" else f"delta {self.since}..{self.day}"


def plan(pub: Published, current: str | None, full: bool = False) -> list[Step]:
    """The steps from the local 基準日 ``current`` (None: nothing local) to the latest published
    one: the chain of deltas when it reaches there, else the latest full delivery."""
    if not pub.days:
        return []
    latest = pub.days[-1]
    if current is not None and current > latest:
        raise PullFailed(
            f"{pub.contract}: the local table is at {current}, later than the latest published delivery "
            f"{latest}: is this the right outbox?"
        )
    if full or current is None:
        return [Step("full", latest)]
    nxt = {since: day for since, day in pub.deltas if day in pub.days}
    steps, day = [], current
    while day != latest and day in nxt:
        steps.append(Step("delta", nxt[day], day))
        day = nxt[day]
    if day != latest:
        log.warning(
            "%s: no published delta chain from %s to %s (stopped at %s): loading the full delivery of %s",
            pub.contract,
            current,
            latest,
            day,
            latest,
        )
        return [Step("full", latest)]
    return steps


# --------------------------------------------------------------------------- downloads


@dataclass(frozen=True)
class Download:
    """A verified file: where it is and how many bytes came over the wire this time."""

    path: Path
    received: int
    resumed_from: int


def download(outbox: Outbox, rel: str, dest: Path, sha256: str, size: int) -> Download:
    """Fetch ``rel`` to ``dest`` and check its SHA-256 and size against the manifest's.

    An existing ``dest`` that checks is kept; a ``<dest>.part`` left by an interrupted run is
    continued from its size; a result that does not check is fetched once more from the start,
    then refused (:class:`PullFailed`, naming the file)."""
    if dest.exists() and dest.stat().st_size == size and sha256_file(dest) == sha256:
        return Download(dest, 0, size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    received = 0
    first = part.stat().st_size if part.exists() else 0
    for attempt in range(2):
        offset = part.stat().st_size if part.exists() else 0
        if offset > size:
            part.unlink()
            offset = 0
        with outbox.open(rel, offset) as src, part.open("ab") as out:
            while offset < size and (block := src.read(min(BLOCK, size - offset))):
                out.write(block)
                offset += len(block)
                received += len(block)
        got = sha256_file(part)
        if part.stat().st_size == size and got == sha256:
            part.replace(dest)
            return Download(dest, received, first)
        part.unlink()
        if attempt == 0:
            log.warning("%s: SHA-256 %s is not the manifest's %s: fetching it again from the start", rel, got, sha256)
    raise PullFailed(
        f"{rel}: the file does not match its manifest ({size} bytes, SHA-256 {sha256}) even when fetched again: "
        "it is being replaced on the server (pull again later) or damaged"
    )


def _manifest(outbox: Outbox, folder: str) -> dict[str, Any]:
    rel = f"{folder}/{PARTITION_MANIFEST}"
    try:
        doc: dict[str, Any] = json.loads(outbox.read_bytes(rel))
    except (OSError, ValueError) as e:
        raise PullFailed(f"{rel}: cannot read the manifest: {e}") from e
    files = doc.get("files") or []
    if not files or files[0].get("name") != PART_FILE:
        raise PullFailed(f"{rel}: the manifest names no {PART_FILE}")
    return doc


# --------------------------------------------------------------------------- the database

STATE_DDL = """
    CREATE TABLE IF NOT EXISTS jumin_pull_state (contract VARCHAR PRIMARY KEY, kijunbi VARCHAR, rows BIGINT);
    CREATE TABLE IF NOT EXISTS jumin_pull_log (
        contract VARCHAR, step VARCHAR, since VARCHAR, kijunbi VARCHAR, sha256 VARCHAR, rows BIGINT)
"""


def _read(file: str) -> str:
    # the download folders look like Hive partitions (the lake's): their names are no columns
    return f"read_parquet({duck.quote_literal(file)}, hive_partitioning = false)"


def full_sql(table: str, file: str) -> str:
    """Replace ``table`` by the full delivery in the Parquet file ``file``."""
    return f"CREATE OR REPLACE TABLE {duck.quote_ident(table)} AS SELECT * FROM {_read(file)}"


def delta_sql(table: str, file: str) -> list[str]:
    """Apply the delta in ``file`` to ``table``: drop every person it names, insert the new rows
    of the added and changed ones."""
    t, f = duck.quote_ident(table), _read(file)
    key = duck.quote_ident(PERSON_ID)
    return [
        f"DELETE FROM {t} WHERE {key} IN (SELECT {key} FROM {f})",
        f"INSERT INTO {t} BY NAME SELECT * EXCLUDE (change, changed_items) FROM {f} WHERE change <> 'removed'",
    ]


@dataclass
class PullResult:
    """What one contract's pull did."""

    contract: str
    kijunbi: str | None
    rows: int
    steps: list[str] = field(default_factory=list)
    received_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "kijunbi": self.kijunbi or "-",
            "rows": self.rows,
            "steps": ", ".join(self.steps) or "up to date",
            "received_bytes": self.received_bytes,
        }


def _apply(con: Any, contract: str, step: Step, file: Path, sha256: str, expected: int) -> int:
    """Apply one step in one transaction (with the state and log rows); the rows after it."""
    sqls = [full_sql(contract, str(file))] if step.kind == "full" else delta_sql(contract, str(file))
    con.execute("BEGIN TRANSACTION")
    try:
        for sql in sqls:
            duck.run(con, f"{contract} {step}", sql)
        rows = int(duck.scalar(con, "count", f"SELECT count(*) FROM {duck.quote_ident(contract)}"))
        if rows != expected:
            raise PullFailed(
                f"{contract} {step}: the table holds {rows} rows after it, the delivery of {step.day} has "
                f"{expected}: the local table was changed by hand or a delta is missing; pull again with --full"
            )
        duck.run(
            con, "pull state", "INSERT OR REPLACE INTO jumin_pull_state VALUES (?, ?, ?)", [contract, step.day, rows]
        )
        duck.run(
            con,
            "pull log",
            "INSERT INTO jumin_pull_log VALUES (?, ?, ?, ?, ?, ?)",
            [contract, step.kind, step.since, step.day, sha256, rows],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows


def pull_contract(outbox: Outbox, con: Any, files: Path, pub: Published, full: bool = False) -> PullResult:
    """Bring the table of ``pub.contract`` in ``con`` to the latest published 基準日."""
    contract = pub.contract
    if not pub.days:
        where = Published.full_folder(contract, "<基準日>")
        raise PullFailed(f"{contract}: the outbox holds no complete full delivery of it ({where} with its manifest)")
    state = duck.rows(con, "pull state", "SELECT kijunbi, rows FROM jumin_pull_state WHERE contract = ?", [contract])
    current = state[0][0] if state else None
    result = PullResult(contract, current, int(state[0][1]) if state else 0)
    for step in plan(pub, current, full):
        folder = step.folder(contract)
        meta = _manifest(outbox, folder)["files"][0]
        got = download(outbox, f"{folder}/{PART_FILE}", files / folder / PART_FILE, meta["sha256"], int(meta["bytes"]))
        result.received_bytes += got.received
        # the rows the table must hold afterwards: those of that day's full delivery
        expected = int(_manifest(outbox, Published.full_folder(contract, step.day))["rows"])
        result.rows = _apply(con, contract, step, got.path, meta["sha256"], expected)
        result.kijunbi = step.day
        result.steps.append(str(step))
        log.info("%s: applied %s (%d rows)", contract, step, result.rows)
    return result


def pull(
    source: str | Path,
    db: str | Path,
    files: str | Path | None = None,
    contracts: list[str] | None = None,
    full: bool = False,
) -> list[PullResult]:
    """Pull ``contracts`` (default: every contract in the outbox) from the outbox at ``source``
    into the DuckDB database ``db``; downloads are kept under ``files`` (default
    ``<db>.files/``)."""
    import duckdb

    folder = Path(files) if files else Path(f"{db}.files")
    with open_outbox(source) as outbox:
        found = published(outbox)
        wanted = contracts or sorted(found)
        if not wanted:
            raise PullFailed(f"{source}: the outbox holds no published delivery")
        con = duckdb.connect(str(db))
        try:
            con.execute(STATE_DDL)
            return [pull_contract(outbox, con, folder, found.get(c, Published(c, (), ())), full) for c in wanted]
        finally:
            con.close()
