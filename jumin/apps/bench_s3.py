"""``make bench --only s3``: the pipeline on a lake in object storage against the same steps on a
local folder, side by side in one run (issue 12, part 2).

One generated municipality is ingested, validated and snapshotted into a local lake and into an
``s3://`` lake on moto's S3 server on loopback (``make moto``), each step in its own forked
process. moto is a Python server keeping objects in memory, slower than a real store's network
path but with no network at all: read the ratio as the cost of the object-store layer (every
write put as an object, DuckDB reading through pyarrow's client) with moto's own cost on top,
an upper bound rather than a forecast of S3. The snapshots of both lakes are checked byte for
byte, so the figures are of the same work. Then the national step's per-municipality costs
(``bench_national.per_file_costs``: every ``keyed.json`` checked, every keyed table read, at the
nation's 1,741 municipalities) are measured on the store.
"""

from __future__ import annotations

from pathlib import Path

from extract.inbox import deliver_local
from jumin.apps.bench_common import LG_CODES, _generate, environment, measure, report
from jumin.apps.bench_national import MUNICIPALITIES, per_file_costs
from jumin.core.lake import Lake

#: residents of the measured municipality
S3_RESIDENTS = 200_000
BUCKET = "jumin-bench"


def _ingest(landing: Path, lake: str, lg_code: str) -> None:
    from extract.main import ingest_municipality

    ingest_municipality(landing, lake, lg_code)


def _validate(lake: str, lg_code: str) -> None:
    from expectations.main import validate_municipality

    validate_municipality(lake, lg_code)


def _snapshot(lake: str, lg_code: str) -> None:
    from load.main import snapshot_municipality

    snapshot_municipality(lake, lg_code, "2026-11-01")


def bench_s3(work: Path, residents: int = S3_RESIDENTS) -> None:
    """BENCH lines ``s3_<step>_s``, ``local_<step>_s`` and ``s3_vs_local_<step>`` for ingest,
    validate and snapshot, and the whole."""
    from jumin.dev.s3server import make_bucket, moto_server

    lg_code = LG_CODES[1]
    gen = work / "s3-gen"
    _generate(gen, [lg_code], residents)
    with moto_server(work / "moto.log") as env:
        make_bucket(env, BUCKET)
        with environment(env):  # the forked steps reach the server with it
            lakes = {"local": str(work / "s3-local-lake"), "s3": f"s3://{BUCKET}/lake"}
            totals = dict.fromkeys(lakes, 0.0)
            for step in ("ingest", "validate", "snapshot"):
                seconds = {}
                for where, lake in lakes.items():  # side by side, step by step
                    if step == "ingest":
                        landing = work / f"s3-landing-{where}"
                        deliver_local(gen / "landing" / lg_code, landing, lg_code)
                        seconds[where], _ = measure(_ingest, landing, lake, lg_code)
                    else:
                        seconds[where], _ = measure(_validate if step == "validate" else _snapshot, lake, lg_code)
                    report(f"{where}_{step}_s", seconds[where], "s")
                    totals[where] += seconds[where]
                report(f"s3_vs_local_{step}", seconds["s3"] / seconds["local"], "x")
            report("s3_vs_local_ingest_to_snapshot", totals["s3"] / totals["local"], "x")
            same = {where: Lake.at(lake).staged_snapshots("atena", "2026-11-01") for where, lake in lakes.items()}
            local_file, s3_file = (same[w][lg_code] for w in ("local", "s3"))
            if local_file.read_bytes() != s3_file.read_bytes():
                raise RuntimeError(f"s3 bench: the snapshots differ ({local_file} and {s3_file})")
            # the national step's per-municipality files, 1,741 of them, read from the store
            check, both = per_file_costs(work / "s3-nation", f"s3://{BUCKET}/nation")
            report(f"s3_prepare_check_{MUNICIPALITIES}_keyed_s", check, "s")
            report(f"s3_prepare_check_and_read_{MUNICIPALITIES}_keyed_s", both, "s")
