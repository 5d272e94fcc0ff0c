"""Delivery in ``make bench``: the seed's KPI, a new contract file to delivered datasets for
every staged municipality (issue 11: < 10 min of machine time for 1M residents in 50
municipalities).

A population of ``residents`` persons over :data:`MUNICIPALITIES` municipalities is generated,
staged (ingest, validation, snapshot of every municipality) and reconciled: the set-up, timed
and reported but not part of the KPI. Then, in one forked process, each example contract
(``example_contracts()``) is copied as a new contract file and delivered for the 基準日 from
every staged municipality: ``deliver_kpi_50_municipalities_s`` is that process's wall time,
``deliver_kpi_cpu_s`` its CPU time (user + system, DuckDB's threads included). A contract the
delivery refuses fails the bench: no KPI is reported for less than every contract.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from jumin.apps.bench_common import _generate, measure, reconcile, report, stage

KIJUNBI = "2026-11-01"
MUNICIPALITIES = 50


def kpi_lg_codes(n: int = MUNICIPALITIES) -> list[str]:
    """``n`` municipalities (市区町村 and 政令市の区) spread over the country: every k-th code of
    the committed table, so every run uses the same ones."""
    from jumin.core.municipalities import load_table

    codes = [c for c, m in sorted(load_table().items()) if m.kind in ("shikuchoson", "ku")]
    return codes[:: len(codes) // n][:n]


def _deliver_all(lake: Path, contracts: Path) -> None:
    """Each example contract as a new contract file, delivered for the day (the examples name
    no municipality: every staged one); writes the CPU time and what was delivered."""
    import datetime as dt

    from load.deliver.contract import example_contracts
    from load.deliver.main import deliver

    start = os.times()
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    contracts.mkdir(parents=True, exist_ok=True)
    delivered = {}
    for name, source in example_contracts().items():
        path = contracts / f"{name}.yaml"
        shutil.copyfile(source, path)  # the new contract file
        result = deliver(lake, path, KIJUNBI, at)
        manifest = json.loads((Path(result.path).parent / "_manifest.json").read_text(encoding="utf-8"))
        delivered[name] = {"rows": result.rows, "municipalities": manifest["municipalities"]}
    end = os.times()
    cpu = (end.user - start.user) + (end.system - start.system)
    (contracts / "result.json").write_text(json.dumps({"cpu_s": cpu, "delivered": delivered}), encoding="utf-8")


def bench_deliver(work: Path, residents: int, municipalities: int = MUNICIPALITIES) -> None:
    """The KPI figure (module docstring), with the set-up's times beside it."""
    lg_codes = kpi_lg_codes(municipalities)
    gen, lake = work / "kpi-gen", work / "kpi-lake"
    start = time.perf_counter()
    _generate(gen, lg_codes, residents)
    report(f"deliver_kpi_setup_generate_{municipalities}_municipalities_s", time.perf_counter() - start, "s")
    stage_s, _ = measure(stage, gen, lake, lg_codes, KIJUNBI)
    report(f"deliver_kpi_setup_staging_{municipalities}_municipalities_s", stage_s, "s")
    reconcile_s, _ = measure(reconcile, lake, KIJUNBI)
    report(f"deliver_kpi_setup_reconcile_{municipalities}_municipalities_s", reconcile_s, "s")
    shutil.rmtree(gen, ignore_errors=True)
    shutil.rmtree(work / "kpi-landing", ignore_errors=True)
    contracts = work / "kpi-contracts"
    seconds, rss = measure(_deliver_all, lake, contracts)
    result = json.loads((contracts / "result.json").read_text(encoding="utf-8"))
    for name, got in result["delivered"].items():
        if got["municipalities"] != sorted(lg_codes) or not got["rows"]:
            raise RuntimeError(f"KPI delivery {name}: {got['rows']} rows from {got['municipalities']}")
    report(f"deliver_kpi_{municipalities}_municipalities_s", seconds, "s")
    report("deliver_kpi_cpu_s", result["cpu_s"], "s")
    report("deliver_kpi_peak_rss_mib", rss / 2**20, "MiB")
    report("deliver_kpi_contracts", len(result["delivered"]), "contracts")
    report("deliver_kpi_rows", sum(d["rows"] for d in result["delivered"].values()), "rows")
    shutil.rmtree(lake, ignore_errors=True)
