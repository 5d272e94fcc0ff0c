"""Deliver one contract for one 基準日: the persons the contract allows, only its items, under
per-contract pseudonymous ids, with 支援措置 suppression, checked by the contract's own rules
before anything is released, staged atomically like the snapshots.

``<lake>/deliver/contract=<id>/kijunbi=<d>/part-0.parquet`` and its ``_manifest.json``
(contract id and version, the columns with their Japanese labels, rows, SHA-256, and what was
excluded, suppressed and released), and from the second 基準日 on the changes since the
previous delivery, keyed by the pseudonymous id
(``<lake>/deliver/contract=<id>/delta/from=<d0>/to=<d>/``). Reads the staged 宛名 snapshots of the day (known at the
day) and the reconciliation's links (a 住登外者 joins its 住基 person), so it runs after
``jumin reconcile``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from jumin.core import duck, store
from jumin.core.contract import PERSON_ID, Contract, birth_bounds
from jumin.core.errors import TerminalError
from jumin.core.files import atomic_path, atomic_write_text, remove_stale_temps, sha256_file
from jumin.core.lake import PART_FILE, Lake
from jumin.core.layouts import TEIKYOTEISHI
from load.deliver.contract import load_contract
from load.deliver.ledger import DeliveryRecord, append
from load.deliver.optout import EMPTY_REGISTRY_SQL, OPT_OUT, REGISTRY, opted_out_sql
from load.deliver.privacy import (
    SUPPRESSED_ITEMS,
    KeySource,
    contract_key,
    master_key,
    protected_flag_sql,
    protected_sql,
    pseudonym_params,
    pseudonym_sql,
    suppressed_sql,
)
from load.partition import read_manifest, write_part, write_partition, write_partition_manifest
from transform.deliver import persons_sql
from transform.delta import keyed_delta_sql

log = logging.getLogger(__name__)

HIVE = "hive_partitioning = true, hive_types = {'kijunbi': DATE, 'known_at': DATE, 'lg_code': VARCHAR}"


class DeliveryRefused(TerminalError):
    """A delivery that cannot be released: its inputs are not staged, or its output breaks the
    contract's own checks (nothing is written then)."""


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery staged."""

    contract: str
    version: str
    kijunbi: str
    path: str
    rows: int
    #: rows of persons under 支援措置 whose address and household items were emptied
    suppressed: int
    #: rows of such persons released under the contract's legal basis
    released: int
    #: persons left out and why (birth date 不詳 under an age filter, 他業務参照不可, 住登区分 …)
    excluded: dict[str, int] = field(default_factory=dict)
    #: the delta staged from the previous delivery of the contract (None for the first)
    delta: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "kijunbi": self.kijunbi,
            "rows": self.rows,
            "suppressed": self.suppressed,
            "released": self.released,
            "excluded": ", ".join(f"{k} {n}" for k, n in sorted(self.excluded.items())) or "-",
            "path": self.path,
        }


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(duck.quote_literal(str(p)) for p in paths) + "]"


def _inputs(con: duckdb.DuckDBPyConnection, lake: Lake, contract: Contract, kijunbi: str) -> list[str]:
    """Register ``atena``, ``links``, ``measures`` and the opt-out registry (``optouts``, empty
    when no municipality sent one) of the day; the municipalities read."""
    staged = lake.staged_snapshots("atena", kijunbi)
    wanted = sorted(staged) if contract.row_filter.lg_codes is None else sorted(contract.row_filter.lg_codes)
    missing = [c for c in wanted if c not in staged]
    if not staged or missing:
        raise DeliveryRefused(
            f"{contract.id}: no staged 宛名 snapshot of {kijunbi} for {', '.join(missing) or 'any municipality'} "
            f"under {lake.snapshot('atena', kijunbi, kijunbi, '<code>')}"
        )
    unreconciled = [c for c in staged if not Lake.is_staged(lake.reconcile("links", kijunbi, c))]
    if unreconciled:
        raise DeliveryRefused(
            f"{contract.id}: the reconciliation of {kijunbi} is not staged for {', '.join(unreconciled)} "
            f"(run `jumin reconcile --as-of {kijunbi}` first: 住登外者 are delivered through its links)"
        )
    # every municipality's 宛名 and links: a person's records elsewhere decide who they are;
    # views, so each query reads only the columns it needs of the Parquet files
    duck.run(con, "atena", f"CREATE TEMP VIEW atena AS FROM read_parquet({_files(list(staged.values()))}, {HIVE})")
    links = [lake.reconcile("links", kijunbi, c) / PART_FILE for c in staged]
    duck.run(
        con,
        "links",
        f"CREATE TEMP VIEW links AS FROM read_parquet({_files(links)}, hive_partitioning = true, "
        "hive_types = {'kijunbi': DATE, 'lg_code': VARCHAR})",
    )
    shien = lake.staged_snapshots("shien", kijunbi)
    measures = f"FROM read_parquet({_files(list(shien.values()))}, {HIVE})" if shien else (
        "SELECT NULL::VARCHAR AS lg_code, NULL::VARCHAR AS atenabango LIMIT 0"
    )  # fmt: skip
    duck.run(con, "measures", f"CREATE TEMP TABLE measures AS {measures}")
    # the opt-out registry (提供停止の申出) of every municipality: an opt-out follows the person
    registry = lake.staged_snapshots(TEIKYOTEISHI.name, kijunbi)
    optouts = f"FROM read_parquet({_files(list(registry.values()))}, {HIVE})" if registry else EMPTY_REGISTRY_SQL
    duck.run(con, REGISTRY, f"CREATE TEMP TABLE {REGISTRY} AS {optouts}")
    return wanted


def select_sql(contract: Contract, kijunbi: str, lg_codes: list[str]) -> str:
    """The persons of the contract among ``persons``: its municipalities, 住登区分, 他業務参照不可
    rule and ages (a 不詳 birth date never passes an age filter); with ``household_heads`` the
    世帯主 of every selected person's 世帯 too, at any age (no other rule is lifted); where the
    contract allows opting out, not the persons with an opt-out in force (``opt_out``,
    :mod:`load.deliver.optout`). Adds ``_why``: NULL for a delivered row, else why it is left out
    (for the counts), and ``_opt_out``: the person has an opt-out in force for the contract
    (honoured or not)."""
    f = contract.row_filter
    earliest, latest = birth_bounds(f, dt.date.fromisoformat(kijunbi))
    codes = ", ".join(duck.quote_literal(c) for c in lg_codes)
    kubun = ", ".join(duck.quote_literal(k) for k in f.jutokubun)
    reasons = [(f"lg_code NOT IN ({codes})", "municipality"), (f"jutokubun NOT IN ({kubun})", "jutokubun")]
    if not contract.allow_sansho_fuka:
        reasons.append(("coalesce(tagyomusanshofukafuragu, '0') = '1'", "sansho_fuka"))
    if earliest is not None or latest is not None:
        reasons.append(("seinengappi IS NULL", "birth_unknown"))
        if latest is not None:
            reasons.append((f"seinengappi > DATE {duck.quote_literal(latest.isoformat())}", "age"))
        if earliest is not None:
            reasons.append((f"seinengappi < DATE {duck.quote_literal(earliest.isoformat())}", "age"))
    # an opt-out in force is honoured last (the persons the rules above leave out keep their
    # reason) and only where the contract allows opting out; ``_opt_out`` flags it either way
    if contract.opt_out:
        reasons.append(("_opt_out", OPT_OUT))
    why = "CASE " + " ".join(f"WHEN {cond} THEN '{name}'" for cond, name in reasons) + " END"
    opted = opted_out_sql(REGISTRY, "atena", "links", contract.id, kijunbi)
    base = f"SELECT *, {why} AS _why FROM (SELECT *, person IN ({opted}) AS _opt_out FROM persons)"
    if not f.household_heads:
        return base
    # the 世帯主 of a selected member's household comes along whatever their age, and only
    # then: left out by another rule (他業務参照不可, 住登区分, a 不詳 生年月日 …) they stay out,
    # and they still honour their own opt-out
    head = "NULL" if not contract.opt_out else f"CASE WHEN _opt_out THEN '{OPT_OUT}' END"
    return (
        f"WITH p AS ({base}) SELECT * REPLACE (CASE WHEN _why = 'age' AND zokugara = '世帯主' AND "
        "(lg_code, setaibango) IN (SELECT (lg_code, setaibango) FROM p WHERE _why IS NULL AND setaibango IS NOT NULL) "
        f"THEN {head} ELSE _why END AS _why) FROM p"
    )


def _ledger_persons(con: duckdb.DuckDBPyConnection, delivered: str, contract: Contract, target: Path) -> None:
    """Write one ledger row per delivered person of the table ``delivered`` (with
    ``_protected``) to the Parquet file ``target``: who (住民票コード, else the 宛名), from where,
    and the items actually delivered (without the suppressed ones of a protected person)."""
    hidden = set(SUPPRESSED_ITEMS) if not contract.dv_address_basis else set()
    names = [i.name for i in contract.items]
    duck.run(
        con,
        "ledger persons",
        "CREATE TEMP TABLE ledger_persons AS "
        "SELECT CASE WHEN starts_with(person, 'J:') THEN substr(person, 3) END AS juminhyokodo, lg_code, "
        "atenabango AS atena_bango, source_lg_codes AS lg_codes, "
        f"CASE WHEN _protected THEN $shown::VARCHAR[] ELSE $names::VARCHAR[] END AS items FROM {delivered}",
        {"shown": [n for n in names if n not in hidden], "names": names},
    )
    with atomic_path(target) as tmp:
        duck.run(con, "ledger persons", f"COPY ledger_persons TO {duck.quote_literal(str(tmp))} (FORMAT parquet)")


def _kept_columns(contract: Contract) -> str:
    """What the delivery keeps of a selected person: who, from where, and the contract's items."""
    names = ["person", "lg_code", "atenabango", "source_lg_codes"]
    names += [i.name for i in contract.items if i.name not in names]
    return ", ".join(duck.quote_ident(n) for n in names)


def deliver(
    lake_root: str | Path,
    contract_path: str | Path,
    kijunbi: str,
    at: dt.datetime,
    key_source: KeySource | None = None,
    ledger_key: KeySource | None = None,
    engine: str = "duckdb",
) -> DeliveryResult:
    """Deliver the contract of ``contract_path`` for ``kijunbi`` (see the module docstring) at
    the time ``at`` (time-zone aware; the ledger's time of the delivery, never read here) and
    log one ledger entry per person; raises ContractRefused for a contract the project refuses
    and DeliveryRefused when the inputs are missing or the output breaks the contract's checks.
    ``key_source`` and ``ledger_key`` are the secret store's pseudonym and ledger secrets (None:
    the lake's files); ``engine`` runs the contract's checks: ``duckdb`` (one query) or ``gx``
    (the Great Expectations suite itself, the reference). A rerun over the same inputs writes
    the same bytes and logs nothing twice. :func:`stage_delivery` then :func:`seal_delivery`
    in one process (the DAG runs them as two tasks)."""
    stage_delivery(lake_root, contract_path, kijunbi, key_source, engine)
    return seal_delivery(lake_root, contract_path, kijunbi, at, ledger_key)


@dataclass(frozen=True)
class StagedDelivery:
    """A delivery's data file written, not yet logged nor staged: its manifest fields and row
    count, kept with the persons the ledger will log in :meth:`Lake.delivery_pending` for the
    seal (in this process or another)."""

    manifest: dict[str, Any]
    rows: int


#: rows of the output streamed at a time from DuckDB into the data file
OUTPUT_BATCH_ROWS = 65_536

#: in :meth:`Lake.delivery_pending`: the staged delivery's manifest fields, and its persons
PENDING_FILE, PENDING_PERSONS = "pending.json", "persons.parquet"


def stage_delivery(
    lake_root: str | Path,
    contract_path: str | Path,
    kijunbi: str,
    key_source: KeySource | None = None,
    engine: str = "duckdb",
) -> StagedDelivery:
    """The heavy part of :func:`deliver`, which many processes may run at once: select, key,
    suppress, check and write the delivery's data file (not yet a staged partition: no
    manifest), and what :func:`seal_delivery` needs to the lake's pending folder. The
    delivery stays in DuckDB (which spills beyond its memory limit) and streams to the files."""
    lake = Lake.at(lake_root)
    contract = load_contract(contract_path)
    con = duck.connect()
    lg_codes = _inputs(con, lake, contract, kijunbi)
    # a view: the selection reads only the columns it needs of the chosen records, and only
    # the kept columns of the selected persons are materialised
    duck.run(con, "persons", f"CREATE TEMP VIEW persons AS {persons_sql('atena', 'links', kijunbi)}")
    duck.run(
        con,
        "selected",
        f"CREATE TEMP TABLE selected AS SELECT {_kept_columns(contract)}, _why, _opt_out "
        f"FROM ({select_sql(contract, kijunbi, lg_codes)})",
    )
    excluded = dict(duck.rows(con, "excluded", "SELECT _why, count(*) FROM selected WHERE _why IS NOT NULL GROUP BY 1"))
    # delivered although an opt-out for this service is on file: the contract allows none
    not_honoured = int(duck.scalar(con, "opt-outs", "SELECT count(*) FROM selected WHERE _why IS NULL AND _opt_out"))
    if not_honoured:
        log.info(
            "%s %s: the contract does not allow opting out (optOut: false): %d persons delivered have an "
            "opt-out on file for it or for every service (*)",
            contract.id,
            kijunbi,
            not_honoured,
        )
    duck.run(con, "protected", f"CREATE TEMP TABLE protected AS {protected_sql('measures', 'atena', 'links')}")
    key = contract_key(master_key(lake.root, key_source), contract.id)
    pid = duck.quote_ident(PERSON_ID)
    duck.run(
        con,
        "delivered",
        f"CREATE TEMP TABLE delivered AS SELECT {pseudonym_sql('person')} AS {pid}, *, "
        f"{protected_flag_sql('protected', 'lg_code', 'atenabango', 'person')} AS _protected "
        "FROM selected WHERE _why IS NULL",
        pseudonym_params(key),
    )
    basis = contract.dv_address_basis
    output = suppressed_sql(contract.columns, "_protected", basis)
    # in DuckDB, not in Python: a national delivery is larger than a worker's memory (DuckDB
    # spills); checked there, then streamed into the data file
    duck.run(con, "output", f"CREATE TEMP TABLE output AS SELECT {output} FROM delivered ORDER BY {pid}")
    findings = _check(con, contract, "output", kijunbi, engine)
    if findings:
        shown = "; ".join(f"check {c} person {p}: {v}" for c, p, v in findings[:5])
        raise DeliveryRefused(f"{contract.id} {kijunbi}: the output breaks the contract's checks ({shown})")
    protected_rows = int(duck.scalar(con, "protected rows", "SELECT count(*) FROM delivered WHERE _protected"))
    suppressed, released = (0, protected_rows) if basis else (protected_rows, 0)
    if released:
        log.warning("releasing the addresses of %d persons under 支援措置 on the basis of %s", released, basis)
    folder = lake.delivery(contract.id, kijunbi)
    pending = lake.delivery_pending(contract.id, kijunbi)
    remove_stale_temps(pending)  # what a killed earlier attempt left
    _ledger_persons(con, "delivered", contract, pending / PENDING_PERSONS)
    manifest: dict[str, Any] = {
        "dataset": f"deliver/{contract.id}",
        "contract": {"id": contract.id, "version": contract.version, "saas": contract.saas},
        "purpose": contract.purpose,
        "legal_basis": list(contract.legal_basis),
        "kijunbi": kijunbi,
        "labels": {i.name: i.label_ja for i in contract.items} | {PERSON_ID: "仮名ID"},
        "municipalities": lg_codes,
        "excluded": {k: int(v) for k, v in sorted(excluded.items())},
        "suppressed": suppressed,
        "released": released,
        "opt_out": {"honoured": contract.opt_out, "on_file_not_honoured": not_honoured},
    }

    out = duck.batches(con, "output", "SELECT * FROM output", OUTPUT_BATCH_ROWS)
    rows = write_part(out, folder, out.schema)
    atomic_write_text(
        pending / PENDING_FILE,
        json.dumps({"manifest": manifest, "rows": rows}, ensure_ascii=False, sort_keys=True) + "\n",
    )
    return StagedDelivery(manifest, rows)


def seal_delivery(
    lake_root: str | Path,
    contract_path: str | Path,
    kijunbi: str,
    at: dt.datetime,
    ledger_key: KeySource | None = None,
) -> DeliveryResult:
    """The serial part of :func:`deliver`: log the staged delivery's persons in the ledger (one
    hash chain, so one seal at a time), then write its manifest, which stages it, and its delta.
    Reads what :func:`stage_delivery` kept in the pending folder; a delivery sealed before (its
    pending folder gone, its manifest there) gives its result again. Raises DeliveryRefused
    when nothing was staged."""
    lake = Lake.at(lake_root)
    contract = load_contract(contract_path)
    folder = lake.delivery(contract.id, kijunbi)
    pending = lake.delivery_pending(contract.id, kijunbi)
    if not (pending / PENDING_FILE).exists():
        if lake.is_staged(folder):
            log.info("%s %s: sealed before", contract.id, kijunbi)
            return _result(lake, contract, kijunbi, read_manifest(folder))
        raise DeliveryRefused(f"{contract.id} {kijunbi}: no staged delivery to seal under {pending} (deliver it first)")
    info = json.loads((pending / PENDING_FILE).read_text(encoding="utf-8"))
    staged = StagedDelivery(info["manifest"], int(info["rows"]))
    # the data file is written: its SHA-256 names the delivery, whose entries are logged
    # before the manifest (written last) carries the ledger's head after them
    data = folder / PART_FILE
    digest = sha256_file(data)
    record = DeliveryRecord.from_contract(contract, f"{contract.id}-{kijunbi}-{digest[:16]}", kijunbi)
    receipt = append(lake.root, record, pending / PENDING_PERSONS, at, ledger_key)
    ledger = {"delivery_id": record.delivery_id, "head": receipt.head}
    with data.open("rb") as f:  # the footer only
        schema = pq.read_schema(f)
    manifest = write_partition_manifest(
        folder, {**staged.manifest, "ledger": ledger}, staged.rows, schema, sha256=digest
    )
    for name in (PENDING_FILE, PENDING_PERSONS):  # the manifest is there: nothing pending
        (pending / name).unlink(missing_ok=True)
    if not store.is_remote(pending):  # and no empty folders left (object stores have none)
        for folder in (pending, pending.parent, pending.parent.parent):
            try:
                folder.rmdir()
            except OSError:  # another delivery's is pending there
                break
    return _result(lake, contract, kijunbi, manifest)


def _result(lake: Lake, contract: Contract, kijunbi: str, manifest: dict[str, Any]) -> DeliveryResult:
    """What a sealed delivery staged, its delta staged now (none for a first delivery)."""
    delta = _stage_delta(lake, contract, kijunbi)
    folder = lake.delivery(contract.id, kijunbi)
    excluded = {k: int(v) for k, v in manifest["excluded"].items()}
    log.info(
        "%s %s: %d rows, %d suppressed, excluded %s", contract.id, kijunbi, manifest["rows"],
        manifest["suppressed"], excluded,
    )  # fmt: skip
    return DeliveryResult(
        contract.id,
        contract.version,
        kijunbi,
        str(folder / PART_FILE),
        int(manifest["rows"]),
        int(manifest["suppressed"]),
        int(manifest["released"]),
        excluded,
        delta,
    )


def _check(con: duckdb.DuckDBPyConnection, contract: Contract, table: str, kijunbi: str, engine: str) -> list[Any]:
    """The findings of the contract's checks on the output ``table`` of ``con``, by ``engine``
    (``gx``, the reference, reads it whole into pandas)."""
    from expectations.contract import duck_contract_findings, gx_contract_findings

    day = dt.date.fromisoformat(kijunbi)
    if engine == "gx":
        import pandas as pd

        whole = duck.arrow(con, table, f"SELECT * FROM {table}")
        return gx_contract_findings(contract, whole.to_pandas(types_mapper=pd.ArrowDtype), day)
    if engine != "duckdb":
        raise ValueError(f"engine must be duckdb or gx, not {engine!r}")
    return duck_contract_findings(con, contract, table, day)


def _stage_delta(lake: Lake, contract: Contract, kijunbi: str) -> str | None:
    """The changes from the contract's previous staged delivery (the latest 基準日 before this
    one) to this one, keyed by the pseudonymous id; None for a first delivery."""
    earlier = [d for d in lake.delivery_days(contract.id) if d < kijunbi]
    if not earlier:
        return None
    before = earlier[-1]
    old, new = (duck.quote_literal(str(lake.delivery(contract.id, d) / PART_FILE)) for d in (before, kijunbi))
    con = duck.connect()
    sql = keyed_delta_sql((PERSON_ID,), list(contract.columns), f"read_parquet({old})", f"read_parquet({new})")
    rows = duck.arrow(con, f"delta {contract.id} {before}..{kijunbi}", sql)
    folder = lake.delivery_delta(contract.id, before, kijunbi)
    manifest = {
        "dataset": f"deliver/{contract.id}/delta",
        "contract": {"id": contract.id, "version": contract.version, "saas": contract.saas},
        "from": before,
        "to": kijunbi,
        "changes": {k: int(v) for k, v in sorted(Counter(rows.column("change").to_pylist()).items())},
    }
    write_partition(rows, folder, rows.schema, manifest)
    return str(folder / PART_FILE)
