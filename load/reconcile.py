"""Stage a reconciliation: the links and discrepancies of each municipality for a 基準日, written
like snapshots (one Parquet file and its manifest per partition, atomic and reproducible)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jumin.core.files import remove_stale_temps
from jumin.core.lake import PART_FILE, Lake
from load.partition import read_manifest, write_partition
from load.review import write_review_files
from transform.config import LinkConfig
from transform.reconcile.decisions import apply_decisions, link_history, unmatched_decisions
from transform.reconcile.deterministic import Engine
from transform.reconcile.main import Reconciliation, compute, load_prepared, protected, records
from transform.reconcile.schema import DISCREPANCIES, LINKS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileResult:
    """What the reconciliation of one municipality staged."""

    lg_code: str
    kijunbi: str
    links: str
    discrepancies: str
    auto: int
    review: int
    #: the review files written (xlsx, csv) and decisions that could not be applied
    review_files: list[str] = field(default_factory=list)
    unmatched_decisions: int = 0
    #: findings per kind (D001..D007, H001)
    kinds: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, str | int]:
        found = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items())) or "-"
        return {
            "lg_code": self.lg_code,
            "kijunbi": self.kijunbi,
            "auto": self.auto,
            "review": self.review,
            "discrepancies": sum(n for k, n in self.kinds.items() if k.startswith("D")),
            "findings": found,
            "unmatched_decisions": self.unmatched_decisions,
            "links": self.links,
            "discrepancies_path": self.discrepancies,
        }


def _of(table: pa.Table, lg_code: str) -> pa.Table:
    return table.filter(pc.equal(table.column("lg_code"), lg_code)).drop_columns(["lg_code"])


def _snapshot_sha(lake: Lake, layout: str, kijunbi: str, lg_code: str) -> str:
    files = read_manifest(lake.snapshot(layout, kijunbi, kijunbi, lg_code))["files"]
    return str(files[0]["sha256"])


def _lineage(lake: Lake, rec: Reconciliation) -> tuple[dict[str, str], dict[str, str]]:
    """SHA-256 of the snapshot files the run read: each municipality's 宛名 and every 住基
    (read once; each partition's manifest names its own 宛名 and all 住基)."""
    k = rec.inputs.kijunbi
    atena = {c: _snapshot_sha(lake, "atena", k, c) for c in rec.lg_codes}
    return atena, {c: _snapshot_sha(lake, "juki", k, c) for c in rec.inputs.juki_lg_codes}


def write_reconcile_docs(path: Path, stats: list[dict[str, Any]], kijunbi: str, lg_code: str) -> Path:
    """The GX Data Docs page of a municipality's discrepancy rules (masked, offline, same bytes
    for the same statistics)."""
    from expectations.data_docs import suite_result, write_data_docs
    from expectations.reconcile import build_suite

    result = suite_result(build_suite(), stats, f"reconcile {lg_code}", kijunbi, "taisho", {"lg_code": lg_code})
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)  # a page a killed run was writing
    return write_data_docs(result, path)


def stage(lake: Lake, rec: Reconciliation) -> list[ReconcileResult]:
    """Write every municipality's links and discrepancies partitions."""
    results = []
    kijunbi = rec.inputs.kijunbi
    atena_sha, juki_sha = _lineage(lake, rec)
    for code in rec.lg_codes:
        inputs = {"atena": {code: atena_sha[code]}, "juki": juki_sha}
        # the clerks' decisions win over scores (known by the 基準日, so an old day reruns alike)
        history = link_history(lake.root, code, known_at=kijunbi)
        shown = records(rec.con, code)
        own = rec.links.filter(pc.equal(rec.links.column("lg_code"), code))
        decided = apply_decisions(own, history, shown)
        unmatched = unmatched_decisions(own, history, shown)
        links, found = _of(decided.select(rec.links.column_names), code), _of(rec.discrepancies, code)
        for output, table, schema in (("links", links, LINKS), ("discrepancies", found, DISCREPANCIES)):
            folder = lake.reconcile(output, kijunbi, code)
            manifest = {"dataset": f"reconcile/{output}", "kijunbi": kijunbi, "lg_code": code, "inputs": inputs}
            write_partition(table.cast(schema), folder, schema, manifest)
        write_reconcile_docs(lake.reconcile_docs(kijunbi, code), rec.rule_stats[code], kijunbi, code)
        review = protected(rec.con, decided.filter(pc.equal(decided.column("band"), "review")))
        written = write_review_files(lake.root, kijunbi, code, review, shown, unmatched=unmatched)
        bands = links.column("band").to_pylist()
        kinds: dict[str, int] = {}
        for kind in found.column("kind").to_pylist():
            kinds[kind] = kinds.get(kind, 0) + 1
        results.append(
            ReconcileResult(
                lg_code=code,
                kijunbi=kijunbi,
                links=str(lake.reconcile("links", kijunbi, code) / PART_FILE),
                discrepancies=str(lake.reconcile("discrepancies", kijunbi, code) / PART_FILE),
                auto=bands.count("auto"),
                review=bands.count("review"),
                kinds=kinds,
                review_files=[str(p) for p in written],
                unmatched_decisions=unmatched.num_rows,
            )
        )
        log.info("%s %s: %d auto, %d review links, findings %s", code, kijunbi, results[-1].auto,
                 results[-1].review, kinds or "none")  # fmt: skip
    return results


def reconcile_day(
    lake_root: str | Path,
    kijunbi: str,
    lg_codes: Sequence[str] | None = None,
    engine: Engine = "duckdb",
    prepared: bool = False,
    config: LinkConfig | None = None,
) -> list[ReconcileResult]:
    """Reconcile the 宛名 of ``lg_codes`` (all with a staged 宛名 snapshot when None) with the
    national 住基 of ``kijunbi`` and stage the outputs; raises ``NothingToReconcile`` when the
    snapshots are not staged. ``prepared``: use what the day's national step (``prepare_day``)
    wrote (the DAG's mapped tasks) instead of running it again."""
    lake = Lake.at(lake_root)
    keyed = load_prepared(lake.root, kijunbi) if prepared else None
    rec = compute(lake.root, kijunbi, lg_codes, engine, keyed, config)
    try:
        return stage(lake, rec)
    finally:
        rec.con.close()
