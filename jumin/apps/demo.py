"""``make demo``: generate the sample, run both DAGs with real Airflow, print a summary.

Everything runs on embedded defaults: Airflow on SQLite in a project-local ``AIRFLOW_HOME``,
the lake as local Parquet, DuckDB in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from jumin.apps.cli import SAMPLE_ENCODINGS, SAMPLE_LG_CODES
from jumin.core.lake import PART_FILE, Lake

KIJUNBI = "2026-11-01"
#: the demo backfills the week before KIJUNBI, so deltas between days show up too
BACKFILL_FROM = "2026-10-25"
DAGS = Path(__file__).resolve().parents[2] / "dags"
log = logging.getLogger("jumin.apps.demo")


def prepare_airflow(airflow_home: Path) -> None:
    """Create (once) the SQLite metadata database of a project-local Airflow."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    if not (airflow_home / "airflow.db").exists():
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)


def load_dags() -> dict[str, Any]:
    """The project's DAGs, imported through Airflow's own DagBag."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags


def run_dag(dag: Any, conf: dict[str, Any]) -> str:
    """Run one DAG in-process (``dag.test``) and return the run's final state."""
    run = dag.test(run_conf=conf)
    return str(run.state)


def summary(lake: Path, kijunbi: str) -> list[dict[str, Any]]:
    """Per municipality and layout: rows in, accepted, rejected and snapshot rows."""
    from jumin.core import duck
    from jumin.core.receipt import ReceiptData

    con = duck.connect()
    out = []
    for receipt in Lake(lake).receipts():
        d: ReceiptData = json.loads(receipt.read_text(encoding="utf-8"))
        snap = Lake(lake).snapshot(d["layout"], kijunbi, kijunbi, d["lg_code"]) / PART_FILE
        rows = 0
        if snap.exists():
            rows = duck.scalar(con, "snapshot rows", "SELECT count(*) FROM read_parquet(?)", [str(snap)])
        out.append(
            {
                "lg_code": d["lg_code"],
                "dantai_mei": d["dantai_mei"],
                "layout": d["layout"],
                "status": d["status"],
                **d["counts"],
                "snapshot": rows,
            }
        )
    return sorted(out, key=lambda r: (r["lg_code"], r["layout"]))


DEMO_QUERY = """
SELECT lg_code, count(*) AS residents,
       count(*) FILTER (WHERE jutokubun = '2') AS jutogaisha,
       count(*) FILTER (WHERE seinengappi IS NULL) AS fusho_birth
FROM read_parquet(?, hive_partitioning = true,
                  hive_types = {'kijunbi': DATE, 'known_at': DATE, 'lg_code': VARCHAR})
WHERE kijunbi = ? AND known_at = kijunbi
GROUP BY lg_code ORDER BY lg_code
"""


def query_table(title: str, cursor: Any) -> Any:
    """A DuckDB result as a rich table."""
    from rich.table import Table

    t = Table(title=title)
    for d in cursor.description:
        t.add_column(d[0])
    for rec in cursor.fetchall():
        t.add_row(*(str(v) for v in rec))
    return t


DELTA_QUERY = """
SELECT "to" AS kijunbi, count(*) FILTER (WHERE change = 'added') AS added,
       count(*) FILTER (WHERE change = 'removed') AS removed,
       count(*) FILTER (WHERE change = 'changed') AS changed
FROM read_parquet(?, hive_partitioning = true,
                  hive_types = {'from': VARCHAR, 'to': VARCHAR, 'lg_code': VARCHAR})
GROUP BY ALL HAVING count(*) > 0 ORDER BY 1
"""

RECONCILE_QUERY = """
WITH l AS (SELECT * FROM read_parquet(?, hive_partitioning = true,
                                      hive_types = {'kijunbi': DATE, 'lg_code': VARCHAR})),
     d AS (SELECT * FROM read_parquet(?, hive_partitioning = true,
                                      hive_types = {'kijunbi': DATE, 'lg_code': VARCHAR}))
SELECT lg_code,
       (SELECT count(*) FROM l WHERE l.lg_code = m.lg_code AND band = 'auto') AS auto_links,
       (SELECT count(*) FROM l WHERE l.lg_code = m.lg_code AND band = 'review') AS review,
       (SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM
          (SELECT kind, count(*) AS n FROM d WHERE d.lg_code = m.lg_code GROUP BY kind)) AS findings
FROM (SELECT DISTINCT lg_code FROM l WHERE kijunbi = ?) m ORDER BY lg_code
"""


def resident_example(lake: Path) -> str:
    """What the ledger answers one delivered resident (a 住登者 born in 1955 or earlier)."""
    from jumin.core import duck
    from load.deliver.ledger import resident_answer, show

    files = [str(p) for p in Lake(lake).staged_snapshots("atena", KIJUNBI).values()]
    row = duck.rows(
        duck.connect(),
        "a resident",
        "SELECT juminhyokodo FROM read_parquet(?) WHERE jutokubun = '1' AND seinengappi <= DATE '1955-01-01' "
        "ORDER BY juminhyokodo LIMIT 1",
        [files],
    )
    if not row:
        return "no 住登者 born in 1955 or earlier in the sample"
    return f"jumin ledger show --juminhyokodo {row[0][0]}:\n{resident_answer(show(lake, row[0][0]))}"


def upload_sets(municipal: Path, zone: dict[str, Any]) -> list[Any]:
    """Upload every generated set as its municipality would (``jumin upload`` without the wait)."""
    from jumin.apps.upload import prepare, upload

    sets = []
    for code in SAMPLE_LG_CODES:
        folder = municipal / "landing" / code
        for manifest in sorted(folder.glob("*.manifest.json")):
            m = json.loads(manifest.read_text(encoding="utf-8"))
            files = [folder / f["name"] for f in m["files"]]
            up = prepare(
                files,
                code,
                m["layout"],
                m["kijunbi"],
                m["files"][0]["encoding"],
                name=manifest.name.removesuffix(".manifest.json"),
            )
            upload(up, zone[code])
            sets.append(up)
    return sets


def saas_accounts() -> list[str]:
    """The SaaS accounts of the example contracts (each gets a read-only outbox)."""
    from load.deliver.contract import example_contracts, load_contract

    return sorted({load_contract(p).account for p in example_contracts().values()})


def pull_deliveries(work: Path, zone: dict[str, Any]) -> list[dict[str, Any]]:
    """What each SaaS team does: ``jumin pull`` over SFTP into its own DuckDB database."""
    from jumin.apps.pull import pull
    from jumin.core.landing import saas_user

    out = []
    for account in saas_accounts():
        db = work / "saas" / f"{account}.duckdb"
        db.parent.mkdir(parents=True, exist_ok=True)
        out += [{"account": account, **r.to_dict()} for r in pull(zone[saas_user(account)].to_uri(), db)]
    return out


def start_zone(work: Path) -> tuple[Any, dict[str, Any]]:
    """The embedded SFTP landing zone on a free loopback port, with a key per account."""
    from jumin.apps.landing.config import LandingConfig
    from jumin.apps.landing.embedded import EmbeddedSftpServer, prepare_tree
    from jumin.apps.landing.keys import generate_client_key, zone_settings
    from jumin.core.landing import municipality_user, saas_user

    config = LandingConfig(root=work / "landing", state=work / "landing-state", port=0)
    users = {code: municipality_user(code) for code in SAMPLE_LG_CODES}
    users["service"] = config.service_user
    accounts = saas_accounts()
    users.update({saas_user(a): saas_user(a) for a in accounts})
    keys = {who: generate_client_key(work / "keys", user) for who, user in users.items()}
    prepare_tree(config, SAMPLE_LG_CODES, {users[w]: pub for w, (_, pub) in keys.items()}, accounts)
    server = EmbeddedSftpServer(config)
    server.start()
    return server, {who: zone_settings(config, server.port, users[who], key) for who, (key, _) in keys.items()}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make demo``."""
    from rich.console import Console
    from rich.table import Table

    from jumin.apps.cli import configure_logging
    from jumin.apps.upload import wait_for_receipt
    from jumin.dev.generate import generate
    from load.deliver.contract import example_contracts

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workdir", default=".demo")
    ap.add_argument("--residents", type=int, default=600)
    args = ap.parse_args(argv)
    configure_logging(False)
    work = Path(args.workdir).resolve()
    shutil.rmtree(work, ignore_errors=True)
    lake = work / "lake"
    os.environ["JUMIN_LAKE"] = str(lake)
    console = Console(width=120)
    console.rule("jumin demo")
    municipal = work / "municipal"  # what the municipalities' systems export
    generate(municipal, list(SAMPLE_LG_CODES), args.residents, seed=1, kijunbi=KIJUNBI, encodings=SAMPLE_ENCODINGS)
    server, zone = start_zone(work)
    try:
        # the DAG reads the zone through an Airflow connection, as in production
        os.environ["AIRFLOW_CONN_JUMIN_SFTP"] = zone["service"].to_uri()
        sets = upload_sets(municipal, zone)
        console.print(f"uploaded {len(sets)} upload sets over SFTP to 127.0.0.1:{server.port}")
        prepare_airflow(Path(os.environ.get("AIRFLOW_HOME", work / "airflow")))
        dags = load_dags()
        states = {
            "jumin_ingest": run_dag(
                dags["jumin_ingest"], {"sftp_conn_id": "jumin_sftp", "landing": "", "lake": str(lake), "lg_codes": []}
            ),
            "jumin_snapshot": run_dag(
                dags["jumin_snapshot"],
                {
                    "lake": str(lake),
                    "kijunbi": BACKFILL_FROM,
                    "until": KIJUNBI,
                    "known_at": "",
                    "delta": True,
                    "lg_codes": [],
                },
            ),
            "jumin_reconcile": run_dag(
                dags["jumin_reconcile"],
                {
                    "lake": str(lake),
                    "kijunbi": KIJUNBI,
                    "engine": "duckdb",
                    "lg_codes": [],
                    "sftp_conn_id": "jumin_sftp",
                    "landing": "",
                },
            ),
            "jumin_deliver": run_dag(
                dags["jumin_deliver"],
                {"lake": str(lake), "kijunbi": KIJUNBI, "contracts": [], "sftp_conn_id": "jumin_sftp", "landing": ""},
            ),
        }
        receipts = [wait_for_receipt(up, zone[up.manifest.lg_code], timeout_s=10) for up in sets]
        pulled = pull_deliveries(work, zone) if states["jumin_deliver"] == "success" else []
    finally:
        server.stop()
    console.print(
        f"receipts fetched from the outboxes: {sum(r is not None for r in receipts)}/{len(sets)}; the first one:"
    )
    if receipts[0] is not None:
        console.print(receipts[0]["text"])
    rows = summary(lake, KIJUNBI)
    t = Table(title=f"受付と基準日 {KIJUNBI} のスナップショット")
    cols = ["lg_code", "dantai_mei", "layout", "status", "input", "accepted", "rejected", "snapshot"]
    for c in cols:
        t.add_column(c, justify="right" if c in cols[4:] else "left")
    for r in rows:
        t.add_row(*(str(r[c]) for c in cols))
    console.print(t)
    from jumin.core import duck

    for title, query, params in (
        ("DuckDB over the staged atena snapshot", DEMO_QUERY, [Lake(lake).dataset_glob("snapshot", "atena"), KIJUNBI]),
        (
            f"atena deltas of the backfill {BACKFILL_FROM} .. {KIJUNBI}",
            DELTA_QUERY,
            [Lake(lake).dataset_glob("delta", "atena")],
        ),
        (
            f"reconciliation of {KIJUNBI}: links and discrepancies per municipality",
            RECONCILE_QUERY,
            [Lake(lake).reconcile_glob("links"), Lake(lake).reconcile_glob("discrepancies"), KIJUNBI],
        ),
    ):
        console.print(query_table(title, duck.run(duck.connect(), title, query, params)))
    t = Table(title="jumin pull: each SaaS team's DuckDB, from its read-only SFTP outbox")
    columns = ("account", "contract", "kijunbi", "rows", "steps", "received_bytes")
    for c in columns:
        t.add_column(c)
    for r in pulled:
        t.add_row(*(str(r[c]) for c in columns))
    console.print(t)
    console.print(resident_example(lake))
    console.print(f"DAG runs: {states}")
    console.print(f"lake: {lake}")
    delivered = len(example_contracts())
    ok = all(s == "success" for s in states.values()) and rows and all(receipts) and len(pulled) == delivered
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
