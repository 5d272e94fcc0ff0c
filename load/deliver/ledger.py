"""The delivery ledger: who received which resident's data, from whom, when and for what purpose.

Append-only and tamper-evident (docs/ledger.md). Each delivery appends one **segment** (Parquet,
one entry per person, sorted by the keyed person id) and one **chain record** (a JSON line in
``chain.jsonl``) committing to the chain head before it::

    leaf_i   = SHA-256(meta_digest ‖ person_i ‖ "pos␞lg_codes␞items" of entry i)
    entries  = SHA-256(leaf_0 ‖ leaf_1 ‖ … ‖ leaf_{n-1})                  (entries in pos order)
    head_n   = SHA-256(head_{n-1} ‖ segment sha256 ‖ entries ‖ meta_digest ‖ seq ‖ n)

so an edited, removed, inserted or reordered entry or segment, or a cut chain, is found by
:func:`verify`; the head of the chain goes into the delivery's manifest (:class:`LedgerReceipt`),
which anchors the ledger outside the lake.

Persons are **keyed**: the ledger stores ``HMAC-SHA256(ledger key, 住民票コード)`` (for a 住登外者
without one, of ``<lg_code>:<宛名番号>``), never the code, and no per-contract pseudonymous id,
so the ledger's files alone neither reveal a resident nor join two SaaS datasets. :func:`show`
keys the code it is asked about and looks it up; :func:`resident_answer` renders the answer in
Japanese (or English). Time is an input (``at``): nothing here reads the clock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jumin.core import duck, store
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.errors import TerminalError
from jumin.core.files import (
    atomic_create_bytes,
    atomic_path,
    atomic_write_text,
    remove_stale_temps,
    sha256_bytes,
    sha256_file,
)
from jumin.core.lake import Lake
from load.deliver.privacy import KeySource

if TYPE_CHECKING:
    from jumin.core.contract import Contract

log = logging.getLogger(__name__)

#: the ledger's format; its digest is the head before the first segment
FORMAT = "jumin-ledger/1"
GENESIS = sha256_bytes(FORMAT.encode("utf-8"))
#: rows per Parquet row group: small enough that a person's lookup reads one small group
#: (segments are sorted by the keyed id, so each group's min/max covers a narrow range)
ROW_GROUP_SIZE = 16_384
#: bytes of an entry's leaf kept in the segment: enough to point at an edited entry (the
#: full leaves are recomputed from the entries and committed through the entries digest)
LOCATOR = 8
#: Japan time, for the resident's answer (the stored time keeps the offset it was given)
JST = timezone(timedelta(hours=9), "JST")
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_FIELD_SEP, _LIST_SEP = "\x1e", "\x1f"

SEGMENT_SCHEMA = pa.schema(
    [
        ("person", pa.string()),  # hex HMAC-SHA256 of the person's code (never the code)
        ("pos", pa.int64()),  # 0 … n-1 in person order
        ("lg_codes", pa.list_(pa.string())),  # source municipalities of this person's data
        ("items", pa.list_(pa.string())),  # romaji of the items delivered for this person
        ("leaf", pa.binary()),  # first LOCATOR bytes of the entry's SHA-256 (module docstring)
    ]
)


class LedgerError(TerminalError):
    """The ledger cannot be appended to or read (a broken chain, a missing key, a bad input)."""


@dataclass(frozen=True)
class Item:
    """A delivered item: its romaji name (as in the layouts) and Japanese label."""

    romaji: str
    ja: str


@dataclass(frozen=True)
class DeliveryRecord:
    """What one delivery was: the contract (id and version), the SaaS, its purpose (利用目的) and
    legal basis (根拠法令), the items offered (romaji + Japanese label) and the 基準日."""

    delivery_id: str
    contract_id: str
    contract_version: str
    saas: str
    purpose: str
    items: tuple[Item, ...]
    kijunbi: str
    legal_basis: str = ""

    @classmethod
    def from_contract(cls, contract: Contract, delivery_id: str, kijunbi: str) -> DeliveryRecord:
        """The record of a delivery under ``contract`` (its items, purpose and legal bases)."""
        return cls(
            delivery_id=delivery_id,
            contract_id=contract.id,
            contract_version=contract.version,
            saas=contract.saas,
            purpose=contract.purpose,
            items=tuple(Item(i.name, i.label_ja) for i in contract.items),
            kijunbi=kijunbi,
            legal_basis="、".join(contract.legal_basis),
        )

    def meta(self, at: datetime, lg_codes: Sequence[str]) -> dict[str, Any]:
        """The delivery's metadata as committed in its chain record."""
        return {
            "format": FORMAT,
            "delivery_id": self.delivery_id,
            "contract_id": self.contract_id,
            "contract_version": self.contract_version,
            "saas": self.saas,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "items": [[i.romaji, i.ja] for i in self.items],
            "kijunbi": self.kijunbi,
            "at": at.isoformat(),
            "lg_codes": sorted(lg_codes),
        }


@dataclass(frozen=True)
class LedgerReceipt:
    """What :func:`append` did: the segment, its entries and the new chain head (for the
    delivery manifest)."""

    seq: int
    delivery_id: str
    segment: Path
    entries: int
    segment_sha256: str
    head: str
    #: False when the delivery was already in the ledger (a rerun): nothing was appended
    appended: bool = True


@dataclass(frozen=True)
class Problem:
    """One thing :func:`verify` found wrong: ``kind`` is ``edited``, ``removed``, ``inserted``,
    ``reordered``, ``chain broken`` or ``truncated``; ``segment`` and ``entry`` (pos) locate it."""

    kind: str
    message: str
    segment: str | None = None
    entry: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class VerifyResult:
    """The ledger checked: ``ok``, or the problems found, the first one first."""

    segments: int
    entries: int
    head: str
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def __str__(self) -> str:
        if self.ok:
            return f"ledger ok: {self.segments} deliveries, {self.entries} entries, head {self.head}"
        return f"ledger tampered: {self.first}"


@dataclass(frozen=True)
class ResidentEntry:
    """One delivery of one resident's data, as :func:`show` answers it."""

    seq: int
    delivery_id: str
    contract_id: str
    contract_version: str
    saas: str
    purpose: str
    legal_basis: str
    items: tuple[Item, ...]
    lg_codes: tuple[str, ...]
    kijunbi: str
    at: datetime


@dataclass(frozen=True)
class _Record:
    """One line of ``chain.jsonl``."""

    seq: int
    segment: str
    sha256: str
    entries: int
    entries_digest: str
    meta: dict[str, Any]
    meta_digest: str
    prev: str
    head: str

    def to_line(self) -> str:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


# --------------------------------------------------------------------------- digests and keys


def meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a delivery's metadata."""
    return sha256_bytes(json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def chain_head(prev: str, segment_sha256: str, entries_digest: str, meta_dig: str, seq: int, entries: int) -> str:
    """head_n = SHA-256(head_{n-1} ‖ segment sha256 ‖ entries digest ‖ meta digest ‖ seq ‖ n)."""
    data = b"".join(bytes.fromhex(h) for h in (prev, segment_sha256, entries_digest, meta_dig))
    return sha256_bytes(data + seq.to_bytes(8, "big") + entries.to_bytes(8, "big"))


def file_key_source(lake_root: Path) -> KeySource:
    """The demo's key: ``reference/ledger_key`` in the lake, made on first use with a warning."""
    path = Lake.at(lake_root).ledger_key()

    def key() -> bytes:
        if not path.exists():
            log.warning(
                "no ledger key at %s: created one; in production the key comes from the secret store "
                "(an Airflow connection, passed as key_source), never from the lake",
                path,
            )
        return atomic_create_bytes(path, secrets.token_bytes(32))

    return key


def _existing_key_source(lake_root: Path) -> KeySource:
    path = Lake.at(lake_root).ledger_key()

    def key() -> bytes:
        if not path.is_file():
            raise LedgerError(f"the ledger has entries but its key {path} is missing (pass key_source)")
        return path.read_bytes()

    return key


#: the leaf of an entry (columns person, pos, lg_codes, items; $meta = the meta digest)
_LEAF_SQL = (
    "unhex(sha256($meta || encode(person || chr(30) || pos::VARCHAR || chr(30) || "
    "array_to_string(lg_codes, chr(31)) || chr(30) || array_to_string(items, chr(31)))))"
)


def _leaves(con: Any, entries: pa.Table, meta_dig: str) -> tuple[pa.ChunkedArray, pa.Table]:
    """The full leaves of entries (person, pos, lg_codes, items; in pos order) and the segment
    table: the entries with the first :data:`LOCATOR` bytes of their leaf, which point at an
    edited entry."""
    con.register("entries", entries)
    try:
        with_leaf = duck.arrow(
            con,
            "ledger leaves",
            f"SELECT person, pos, lg_codes, items, {_LEAF_SQL} AS full_leaf FROM entries",
            {"meta": bytes.fromhex(meta_dig)},
        )
    finally:
        con.unregister("entries")
    full = with_leaf.column("full_leaf")
    table = with_leaf.drop_columns(["full_leaf"]).append_column("leaf", _prefix(full))
    return full, table.cast(SEGMENT_SCHEMA)


def _write_segment(con: Any, target: Path, meta_dig: str, meta: dict[str, Any]) -> tuple[str, int]:
    """Write the segment of the table ``entries`` (person, pos, lg_codes, items; in pos order)
    to ``target``, streamed one row group at a time: each entry with the first
    :data:`LOCATOR` bytes of its leaf. (The entries digest, the SHA-256 over every full leaf
    in order, and the number of entries.)"""
    from load.partition import row_groups

    sql = f"SELECT person, pos, lg_codes, items, {_LEAF_SQL} AS full_leaf FROM entries ORDER BY pos"
    leaves = duck.batches(con, "ledger leaves", sql, ROW_GROUP_SIZE, {"meta": bytes.fromhex(meta_dig)})
    schema = SEGMENT_SCHEMA.with_metadata({"jumin.ledger": json.dumps(meta, ensure_ascii=False)})
    digest, n = hashlib.sha256(), 0
    with (
        atomic_path(target) as tmp,
        pq.ParquetWriter(
            tmp, schema, compression="zstd", write_statistics=["person", "pos"], sorting_columns=[pq.SortingColumn(0)]
        ) as writer,
    ):
        for group in row_groups(leaves, leaves.schema, ROW_GROUP_SIZE):
            full = group.column("full_leaf").combine_chunks()
            digest.update(_values(full))
            rows = group.drop_columns(["full_leaf"]).append_column("leaf", _prefix(full)).cast(schema)
            writer.write_table(rows, row_group_size=ROW_GROUP_SIZE)
            n += rows.num_rows
    return digest.hexdigest(), n


def _prefix(leaves: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The first :data:`LOCATOR` bytes of every (32-byte) leaf."""
    import numpy as np

    arr = leaves.combine_chunks() if isinstance(leaves, pa.ChunkedArray) else leaves
    raw = np.frombuffer(_values(arr), dtype=np.uint8).reshape(-1, 32)[:, :LOCATOR]
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(LOCATOR), len(arr), [None, pa.py_buffer(raw.tobytes())])
    return fixed.cast(pa.binary())


def _values(arr: pa.Array) -> bytes:
    """The value bytes of a binary array, in order, as one run."""
    import numpy as np

    if len(arr) == 0:
        return b""
    offsets, data = arr.buffers()[1], arr.buffers()[2]
    assert offsets is not None and data is not None
    off = np.frombuffer(offsets, dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    return bytes(data.to_pybytes()[off[0] : off[-1]])


def subject(juminhyokodo: str | None, lg_code: str | None = None, atena_bango: str | None = None) -> str:
    """What the ledger keys for a person: the 住民票コード, or ``<lg_code>:<宛名番号>`` without one."""
    if juminhyokodo:
        return juminhyokodo
    if lg_code and atena_bango:
        return f"{lg_code}:{atena_bango}"
    raise LedgerError("a person needs a 住民票コード, or a lg_code and 宛名番号 (住登外者)")


def person_key(key: bytes, subject_text: str) -> str:
    """The keyed id the ledger stores for a person: hex HMAC-SHA256(key, subject)."""
    import hashlib
    import hmac

    return hmac.new(key, subject_text.encode("utf-8"), hashlib.sha256).hexdigest()


def _entries_digest(leaves: pa.ChunkedArray | pa.Array) -> str:
    """SHA-256 over the full leaves in order (their bytes as one run)."""
    arr = leaves.combine_chunks() if isinstance(leaves, pa.ChunkedArray) else leaves
    return sha256_bytes(_values(arr))


# --------------------------------------------------------------------------- the chain


def _read_chain(lake: Lake) -> tuple[list[_Record], Problem | None]:
    """The chain records, and the first problem of the chain itself (records up to it kept)."""
    path = lake.ledger_chain()
    if not path.exists():
        return [], None
    records: list[_Record] = []
    prev = GENESIS
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        return records, Problem("chain broken", f"{path.name} does not end with a complete record (cut)")
    for n, line in enumerate(lines, start=1):
        try:
            d = json.loads(line)
            rec = _Record(**{k: d[k] for k in _Record.__dataclass_fields__})
        except (ValueError, KeyError, TypeError):
            return records, Problem("chain broken", f"line {n} of {path.name} is not a chain record")
        if rec.seq != n:
            kind = "removed or reordered" if rec.seq > n else "inserted or reordered"
            return records, Problem("chain broken", f"line {n} of {path.name} has seq {rec.seq} (records {kind})")
        if rec.prev != prev:
            return records, Problem("chain broken", f"record {n} does not commit to the head before it", rec.segment)
        if meta_digest(rec.meta) != rec.meta_digest or rec.head != chain_head(
            rec.prev, rec.sha256, rec.entries_digest, rec.meta_digest, rec.seq, rec.entries
        ):
            return records, Problem("edited", f"chain record {n} was changed (its head does not match)", rec.segment)
        records.append(rec)
        prev = rec.head
    return records, None


@contextmanager
def _locked(lake: Lake) -> Iterator[None]:
    """Hold the ledger's lock: appends take sequence numbers one at a time. In object storage
    there is no lock object (no conditional writes through pyarrow), so the lock is a local file
    for the processes of this machine and the jumin_deliver DAG runs one delivery at a time
    across the cluster (docs/ledger.md, "Appends")."""
    path = store.scratch(lake.root) / "ledger.lock" if store.is_remote(lake.root) else lake.ledger_lock()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- append


def _person_columns(persons: pa.Table | Path) -> list[str]:
    if isinstance(persons, pa.Table):
        return list(persons.schema.names)
    with persons.open("rb") as f:  # the footer only (local, or an object of the lake's store)
        return list(pq.read_schema(f).names)


def _check(delivery: DeliveryRecord, names: Sequence[str], at: datetime) -> None:
    if not _DELIVERY_ID.match(delivery.delivery_id):
        raise LedgerError(f"delivery id {delivery.delivery_id!r}: letters, digits, '.', '_', '-' only")
    if at.tzinfo is None or at.utcoffset() is None:
        raise LedgerError("the delivery time needs a time zone (e.g. +09:00)")
    if not delivery.items:
        raise LedgerError(f"delivery {delivery.delivery_id} names no items")
    for col in ("juminhyokodo", "lg_code"):
        if col not in names:
            raise LedgerError(f"persons need a {col} column (got {', '.join(names)})")


def _keyed_sql(names: Sequence[str]) -> str:
    """Persons → (keyed person, lg_codes, items), one row per input row."""
    atena = "atena_bango" if "atena_bango" in names else "NULL::VARCHAR"
    lg_codes = "coalesce(lg_codes, [lg_code])" if "lg_codes" in names else "[lg_code]"
    items = "coalesce(items, $items)" if "items" in names else "$items"
    subject_sql = (
        "CASE WHEN juminhyokodo IS NOT NULL AND juminhyokodo <> '' THEN juminhyokodo "
        f"WHEN lg_code IS NOT NULL AND {atena} IS NOT NULL THEN lg_code || ':' || {atena} END"
    )
    keyed = duck.hmac_sha256_sql(subject_sql)
    return f"SELECT {keyed} AS person, {lg_codes} AS lg_codes, {items} AS items FROM persons"


#: a person listed twice is one entry: municipalities and items merged
_MERGE_SQL = (
    "SELECT person, list_sort(list_distinct(flatten(list(lg_codes)))) AS lg_codes, "
    "list_sort(list_distinct(flatten(list(items)))) AS items FROM keyed GROUP BY person"
)


def append(
    lake_root: Path,
    delivery: DeliveryRecord,
    persons: pa.Table | Path,
    at: datetime,
    key_source: KeySource | None = None,
) -> LedgerReceipt:
    """Append one delivery: one entry per person of ``persons`` (columns ``juminhyokodo``,
    ``lg_code``; optional ``atena_bango`` for 住登外者 without a code, ``lg_codes`` (list: every
    source municipality, default ``[lg_code]``) and ``items`` (list of romaji actually delivered
    for the person, default all of ``delivery.items``)), an Arrow table or a Parquet file (a
    national delivery's persons: read and logged by DuckDB, streamed into the segment, never
    whole in memory). A person listed twice is one entry (municipalities and items merged).
    ``at`` is the delivery's time (time-zone aware).

    A delivery already in the ledger is not appended again (its receipt is returned), so a
    rerun after a crash logs nothing twice."""
    lake = Lake.at(lake_root)
    names = _person_columns(persons)
    _check(delivery, names, at)
    offered = {i.romaji for i in delivery.items}
    with _locked(lake):
        records, problem = _read_chain(lake)
        if problem:
            raise LedgerError(f"the ledger chain is damaged, nothing appended ({problem}); run jumin ledger verify")
        for rec in records:
            if rec.meta["delivery_id"] == delivery.delivery_id:
                logged = {k: v for k, v in rec.meta.items() if k not in ("at", "lg_codes")}
                asked = {k: v for k, v in delivery.meta(at, []).items() if k not in ("at", "lg_codes")}
                if logged != asked:
                    changed = sorted(k for k in logged if logged[k] != asked.get(k))
                    raise LedgerError(
                        f"delivery {delivery.delivery_id} is in the ledger (seq {rec.seq}) with another "
                        f"{', '.join(changed)}: a different delivery needs its own id"
                    )
                log.info("delivery %s is already in the ledger (seq %d)", delivery.delivery_id, rec.seq)
                path = lake.ledger_segments_folder() / rec.segment
                return LedgerReceipt(rec.seq, delivery.delivery_id, path, rec.entries, rec.sha256, rec.head, False)
        seq = len(records) + 1
        target = lake.ledger_segment(seq, delivery.delivery_id)
        remove_stale_temps(lake.ledger_segments_folder())
        remove_stale_temps(lake.ledger_folder())
        # a segment without its chain record: the same delivery interrupted is finished, any
        # other is refused (it may be a cut chain: verify tells)
        strays = [p for p in lake.ledger_segment_files() if Lake.ledger_segment_seq(p)[0] >= seq and p != target]
        if strays:
            raise LedgerError(
                f"segment {strays[0].name} has no chain record; nothing appended (run jumin ledger verify)"
            )
        key = (key_source or file_key_source(lake.root))()
        ipad, opad = duck.hmac_pads(key)
        con = duck.connect()
        try:
            if isinstance(persons, pa.Table):
                con.register("persons", persons)
            else:
                duck.run(
                    con, "persons", f"CREATE TEMP VIEW persons AS FROM read_parquet({duck.quote_literal(str(persons))})"
                )
            missing = duck.scalar(
                con,
                "ledger persons",
                "SELECT count(*) FROM persons WHERE (juminhyokodo IS NULL OR juminhyokodo = '') AND "
                + ("(lg_code IS NULL OR atena_bango IS NULL)" if "atena_bango" in names else "true"),
            )
            if missing:
                raise LedgerError(f"{missing} persons have neither a 住民票コード nor a lg_code and 宛名番号")
            params: dict[str, object] = {"ipad": ipad, "opad": opad, "items": sorted(offered)}
            duck.run(con, "ledger keyed", f"CREATE TEMP TABLE keyed AS {_keyed_sql(names)}", params)
            twice = duck.scalar(con, "ledger keyed", "SELECT count(*) - count(DISTINCT person) FROM keyed")
            source = f"({_MERGE_SQL})" if twice else "keyed"
            lg_codes = [
                r[0] for r in duck.rows(con, "ledger", f"SELECT DISTINCT unnest(lg_codes) FROM {source} ORDER BY 1")
            ]
            bad = [c for c in lg_codes if c is None or not is_valid_lg_code(c)]
            if bad:
                raise LedgerError(f"not a 全国地方公共団体コード in persons: {bad[0]!r}")
            items = {r[0] for r in duck.rows(con, "ledger", f"SELECT DISTINCT unnest(items) FROM {source}")}
            if items - offered:
                raise LedgerError(f"items not in delivery {delivery.delivery_id}: {', '.join(sorted(items - offered))}")
            meta = delivery.meta(at, lg_codes)
            digest = meta_digest(meta)
            # sorted by the keyed id (row-group statistics then narrow a lookup to one group)
            duck.run(
                con,
                "ledger entries",
                "CREATE TEMP TABLE entries AS SELECT person, (row_number() OVER (ORDER BY person) - 1)::BIGINT AS pos, "
                f"lg_codes, items FROM {source} ORDER BY person",
            )
            entries_digest, n = _write_segment(con, target, digest, meta)
        finally:
            con.close()
        file_digest = sha256_file(target)
        prev = records[-1].head if records else GENESIS
        head = chain_head(prev, file_digest, entries_digest, digest, seq, n)
        rec = _Record(seq, target.name, file_digest, n, entries_digest, meta, digest, prev, head)
        chain = lake.ledger_chain()
        old = chain.read_text(encoding="utf-8") if chain.exists() else ""
        atomic_write_text(chain, old + rec.to_line())
    log.info(
        "ledger: delivery %s appended as seq %d, %d entries, head %s", delivery.delivery_id, seq, rec.entries, head
    )
    return LedgerReceipt(seq, delivery.delivery_id, target, rec.entries, file_digest, head)


# --------------------------------------------------------------------------- verify


def verify(lake_root: Path, expected_head: str | None = None) -> VerifyResult:
    """Check the whole ledger: the chain links, every segment's SHA-256 and, for a segment that
    does not match, which entry is wrong and how. ``expected_head`` (from the latest delivery
    manifest) must be a head of the chain: that catches the last deliveries cut off whole."""
    lake = Lake.at(lake_root)
    records, chain_problem = _read_chain(lake)
    problems: list[Problem] = []
    folder = lake.ledger_segments_folder()
    by_digest = {r.sha256: r for r in records}
    for rec in records:
        path = folder / rec.segment
        if path != lake.ledger_segment(rec.seq, rec.meta["delivery_id"]):
            problems.append(Problem("edited", f"chain record {rec.seq} names segment {rec.segment}", rec.segment))
            continue
        if not path.is_file():
            problems.append(Problem("removed", f"segment {rec.segment} (delivery {rec.seq}) is missing", rec.segment))
            continue
        digest = sha256_file(path)
        if digest == rec.sha256:
            continue
        other = by_digest.get(digest)
        if other is not None:
            problems.append(
                Problem("reordered", f"segment {rec.segment} holds the entries of segment {other.segment}", rec.segment)
            )
            continue
        problems.append(_diagnose(path, rec))
    if chain_problem:
        problems.append(chain_problem)
    known = {r.segment for r in records}
    last = records[-1].seq if records else 0
    for path in lake.ledger_segment_files():
        if path.name in known:
            continue
        seq = Lake.ledger_segment_seq(path)[0]
        if seq > last and chain_problem is None:
            problems.append(
                Problem(
                    "truncated",
                    f"segment {path.name} has no chain record: the chain ends at delivery {last} "
                    "(records cut off, or an append was interrupted)",
                    path.name,
                )
            )
        elif chain_problem is None:
            problems.append(Problem("inserted", f"segment {path.name} is not in the chain", path.name))
    head = records[-1].head if records else GENESIS
    if expected_head and expected_head not in {GENESIS, *(r.head for r in records)}:
        problems.append(
            Problem("truncated", f"head {expected_head[:16]}… (from a delivery manifest) is not in the chain")
        )
    problems.sort(key=lambda p: _order(p, lake))
    return VerifyResult(len(records), sum(r.entries for r in records), head, tuple(problems))


def _order(p: Problem, lake: Lake) -> tuple[int, int]:
    """Problems in segment order (chain-level ones where they are found)."""
    if p.segment and p.segment[:8].isdigit():
        return int(p.segment[:8]), p.entry or 0
    return (1 << 62, 0)


def _diagnose(path: Path, rec: _Record) -> Problem:
    """Why a segment's bytes differ from what the chain committed to: the first wrong entry."""
    import numpy as np

    name = rec.segment
    try:
        table = pq.read_table(path, schema=SEGMENT_SCHEMA)
    except Exception as e:  # the bytes do not parse any more
        return Problem("edited", f"segment {name} is not a readable segment any more ({type(e).__name__})", name)
    n = table.num_rows
    pos = table.column("pos").to_numpy()
    wrong = np.nonzero(pos != np.arange(n))[0]
    if len(wrong):
        i = int(wrong[0])
        if n < rec.entries:
            return Problem("removed", f"segment {name}: entry {i} is missing ({rec.entries - n} removed)", name, i)
        if n > rec.entries:
            return Problem("inserted", f"segment {name}: row {i} is not an appended entry", name, i)
        return Problem("reordered", f"segment {name}: row {i} holds entry {int(pos[i])}", name, i)
    if n < rec.entries:
        return Problem("removed", f"segment {name}: entries from {n} on are missing", name, n)
    if n > rec.entries:
        return Problem("inserted", f"segment {name}: rows from {rec.entries} on were added", name, rec.entries)
    con = duck.connect()
    try:
        full, again = _leaves(con, table.select(["person", "pos", "lg_codes", "items"]), rec.meta_digest)
    finally:
        con.close()
    differs = np.nonzero(np.asarray(pc.not_equal(again.column("leaf"), table.column("leaf")).fill_null(True)))[0]
    if len(differs):
        i = int(differs[0])
        return Problem("edited", f"segment {name}: entry {i} was changed", name, i)
    if _entries_digest(full) != rec.entries_digest:
        return Problem("edited", f"segment {name}: entries and their locators were rewritten", name)
    return Problem("edited", f"segment {name}: its bytes changed (not the entries)", name)


# --------------------------------------------------------------------------- show


def show(
    lake_root: Path,
    juminhyokodo: str | None,
    *,
    lg_code: str | None = None,
    atena_bango: str | None = None,
    key_source: KeySource | None = None,
) -> list[ResidentEntry]:
    """Every delivery of one person's data, oldest first: asked by 住民票コード (or, for a
    住登外者 without one, by ``lg_code`` and ``atena_bango``). Reads only what the chain names;
    run :func:`verify` to know the ledger is intact."""
    lake = Lake.at(lake_root)
    records, problem = _read_chain(lake)
    if problem:
        raise LedgerError(f"the ledger chain is damaged ({problem}); run jumin ledger verify")
    if not records:
        return []
    key = (key_source or _existing_key_source(lake.root))()
    who = person_key(key, subject(juminhyokodo, lg_code, atena_bango))
    by_name = {r.segment: r for r in records}
    files = [str(lake.ledger_segments_folder() / r.segment) for r in records]
    con = duck.connect()
    try:
        found = duck.rows(
            con,
            "ledger show",
            "SELECT parse_filename(filename), lg_codes, items FROM read_parquet($files, filename = true) "
            "WHERE person = $who",
            {"files": files, "who": who},
        )
    finally:
        con.close()
    out = []
    for name, lg_codes, items in found:
        rec = by_name[name]
        m = rec.meta
        labels = dict(m["items"])
        delivered = set(items)
        out.append(
            ResidentEntry(
                seq=rec.seq,
                delivery_id=m["delivery_id"],
                contract_id=m["contract_id"],
                contract_version=m["contract_version"],
                saas=m["saas"],
                purpose=m["purpose"],
                legal_basis=m["legal_basis"],
                items=tuple(Item(r, labels[r]) for r, _ in m["items"] if r in delivered),
                lg_codes=tuple(lg_codes),
                kijunbi=m["kijunbi"],
                at=datetime.fromisoformat(m["at"]),
            )
        )
    return sorted(out, key=lambda e: e.seq)


_TEXT = {
    "ja": {
        "none": "あなたの情報を共通SaaSに提供した記録はありません。",
        "title": "あなたの情報の提供記録（{n}件）",
        "to": "提供先",
        "contract": "契約 {id} 版 {v}",
        "purpose": "利用目的",
        "basis": "根拠法令",
        "from": "提供元",
        "items": "提供した項目",
        "kijunbi": "基準日",
        "sep": "、",
    },
    "en": {
        "none": "Your data has not been delivered to any common SaaS.",
        "title": "Deliveries of your data ({n})",
        "to": "to",
        "contract": "contract {id} version {v}",
        "purpose": "purpose",
        "basis": "legal basis",
        "from": "from",
        "items": "items",
        "kijunbi": "as of (基準日)",
        "sep": ", ",
    },
}


def resident_answer(entries: Sequence[ResidentEntry], lang: str = "ja") -> str:
    """The answer to a resident (やりとり履歴): which services received their data, which items,
    from which municipality, when (基準日 and delivery time, Japan time) and for what purpose."""
    from jumin.core.municipalities import name_of

    t = _TEXT[lang]
    if not entries:
        return t["none"] + "\n"
    lines = [t["title"].format(n=len(entries)), ""]
    for n, e in enumerate(entries, start=1):
        if n > 1:
            lines.append("")
        when = e.at.astimezone(JST)
        stamp = f"{when:%Y年%m月%d日 %H:%M}" if lang == "ja" else f"{when:%Y-%m-%d %H:%M} JST"
        kijunbi = _ja_date(e.kijunbi) if lang == "ja" else e.kijunbi
        where = t["sep"].join(f"{name_of(c)}（{c}）" if lang == "ja" else f"{name_of(c)} ({c})" for c in e.lg_codes)
        contract = t["contract"].format(id=e.contract_id, v=e.contract_version)
        lines.append(
            f"{n}. {stamp}　{t['to']}: {e.saas}（{contract}）"
            if lang == "ja"
            else f"{n}. {stamp}  {t['to']}: {e.saas} ({contract})"
        )
        lines.append(f"   {t['purpose']}: {e.purpose}")
        if e.legal_basis:
            lines.append(f"   {t['basis']}: {e.legal_basis}")
        lines.append(f"   {t['from']}: {where}")
        lines.append(f"   {t['items']}: {t['sep'].join(i.ja for i in e.items)}")
        lines.append(f"   {t['kijunbi']}: {kijunbi}")
    return "\n".join(lines) + "\n"


def _ja_date(iso: str) -> str:
    try:
        d = datetime.strptime(iso, "%Y-%m-%d")
    except ValueError:
        return iso
    return f"{d.year}年{d.month}月{d.day}日"


__all__ = [
    "DeliveryRecord",
    "Item",
    "LedgerError",
    "LedgerReceipt",
    "Problem",
    "ResidentEntry",
    "VerifyResult",
    "append",
    "file_key_source",
    "resident_answer",
    "show",
    "verify",
]
