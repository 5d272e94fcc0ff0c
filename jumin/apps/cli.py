"""The ``jumin`` command: the same library functions the DAGs call, for one machine.

Exit codes (docs/cli.md): 0 everything accepted; 1 an error (one line naming what failed; the
traceback only with ``-v``); 2 a usage error; 3 some upload sets or rows were rejected (receipts
written); 4 a transient failure worth retrying.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jumin.core.store import lake_path

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REJECTED, EXIT_TRANSIENT = 0, 1, 2, 3, 4

SAMPLE_LG_CODES = ("131016", "141038", "012025")
SAMPLE_ENCODINGS = {"012025": "cp932"}
log = logging.getLogger("jumin")


class UsageError(Exception):
    """The options make no sense together; exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def lg_code(value: str) -> str:
    """An argparse type: a 全国地方公共団体コード with a valid check digit."""
    from jumin.core.checkdigits import is_valid_lg_code

    if not is_valid_lg_code(value):
        raise argparse.ArgumentTypeError(f"not a 全国地方公共団体コード (6 digits with check digit): {value!r}")
    return value


#: what puts data into a zone, for the error when it is empty
_FILLED_BY = {"parsed": "jumin ingest", "accepted": "jumin validate"}


def _lg_codes(args: argparse.Namespace, lake: Path, zone: str) -> list[str]:
    """The municipalities asked for (``--lg-code``), or every one with data in ``zone``; none at
    all, or one asked for without data there, is an error naming the folder (a command that
    finds nothing to do must not look like one that did it)."""
    from jumin.core.errors import TerminalError
    from jumin.core.lake import Lake

    present = Lake(lake).municipalities(zone)
    where = Lake(lake).root / zone
    if args.lg_code:
        missing = [c for c in args.lg_code if c not in present]
        if missing:
            raise TerminalError(f"no {zone} data for {', '.join(missing)} under {where} (run {_FILLED_BY[zone]} first)")
        return list(args.lg_code)
    if not present:
        raise TerminalError(f"no municipality has {zone} data under {where} (run {_FILLED_BY[zone]} first)")
    return present


def cmd_generate(args: argparse.Namespace) -> int:
    from jumin.dev.generate import generate

    codes = args.lg_code or list(SAMPLE_LG_CODES)
    if args.cp932 is None:  # the sample's CP932 municipality, when it is one of those generated
        encodings = {c: e for c, e in SAMPLE_ENCODINGS.items() if c in codes}
    else:
        unknown = sorted(set(args.cp932) - set(codes))
        if unknown:
            raise UsageError(f"--cp932 names municipalities that are not generated: {', '.join(unknown)}")
        encodings = {c: "cp932" for c in args.cp932}
    result = generate(Path(args.out), codes, args.residents, seed=args.seed, kijunbi=args.kijunbi, encodings=encodings)
    _console().print(f"generated {len(result.manifests)} upload sets under {args.out}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from extract.landing import requested_municipalities
    from extract.main import ingest_municipality

    codes = requested_municipalities(args.landing, args.lg_code)
    results = [r for c in codes for r in ingest_municipality(args.landing, lake_path(args.lake), c)]
    _table("ingest", [r.to_dict() for r in results], ["lg_code", "manifest", "layout", "status", "set_id"])
    return EXIT_REJECTED if any(r.status == "rejected" for r in results) else EXIT_OK


def cmd_return_receipts(args: argparse.Namespace) -> int:
    from extract.landing import requested_municipalities
    from extract.main import return_municipality_receipts, return_municipality_review_files

    codes = requested_municipalities(args.landing, args.lg_code)
    lake = lake_path(args.lake)
    rows = [
        {"lg_code": c, "file": n}
        for c in codes
        for n in [
            *return_municipality_receipts(args.landing, lake, c),
            *return_municipality_review_files(args.landing, lake, c),
        ]
    ]
    _table("return-receipts", rows, ["lg_code", "file"])
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from expectations.data_docs import build_data_docs
    from expectations.main import validate_municipality

    lake = lake_path(args.lake)
    codes = _lg_codes(args, lake, "parsed")
    results = [r for c in codes for r in validate_municipality(lake, c, force=args.force, engine=args.engine)]
    for c in codes:
        build_data_docs(lake, c)
    columns = ["lg_code", "layout", "status", "input", "accepted", "rejected", "warnings"]
    _table("validate", [r.to_dict() for r in results], columns)
    return EXIT_REJECTED if any(r.rejected for r in results) else EXIT_OK


def cmd_snapshot(args: argparse.Namespace) -> int:
    from load.main import delta_municipality, snapshot_municipality

    if args.delta and args.known_at:
        raise UsageError(
            "--delta chains snapshots as known on their own day, so it cannot be "
            "combined with --known-at; for late-recorded changes use "
            "`jumin delta --to DAY@KNOWN_AT --since DAY`"
        )
    lake = lake_path(args.lake)
    codes = _lg_codes(args, lake, "accepted")
    rows = [r.to_dict() for c in codes for r in snapshot_municipality(lake, c, args.as_of, args.known_at, args.until)]
    _table("snapshot", rows, ["lg_code", "layout", "kijunbi", "known_at", "rows", "path"])
    if args.delta:
        deltas = [r.to_dict() for c in codes for r in delta_municipality(lake, c, args.as_of, args.until)]
        _table("delta", deltas, ["lg_code", "layout", "from", "to", "added", "removed", "changed"])
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    from load.reconcile import reconcile_day

    rows = [r.to_dict() for r in reconcile_day(lake_path(args.lake), args.as_of, args.lg_code, args.engine)]
    _table(
        "reconcile", rows, ["lg_code", "kijunbi", "auto", "review", "discrepancies", "findings", "unmatched_decisions"]
    )
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    import datetime as dt

    from load.deliver.main import deliver

    # the ledger's time of the delivery: now, unless the operator gives the time of record
    at = dt.datetime.fromisoformat(args.at) if args.at else dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        raise UsageError(f"--at {args.at}: give a time zone (e.g. +09:00)")
    rows = [deliver(lake_path(args.lake), Path(c), args.as_of, at, engine=args.engine).to_dict() for c in args.contract]
    _table("deliver", rows, ["contract", "version", "kijunbi", "rows", "suppressed", "released", "excluded", "path"])
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from load.deliver.publish import publish_contract

    results = [publish_contract(args.landing, lake_path(args.lake), Path(c)) for c in args.contract]
    rows = [{**r.to_dict(), "sent": len(r.sent)} for r in results]
    _table("publish", rows, ["contract", "account", "partitions", "sent"])
    return EXIT_OK


def cmd_pull(args: argparse.Namespace) -> int:
    from jumin.apps.pull import pull

    rows = [r.to_dict() for r in pull(args.source, args.db, args.files, args.contract, args.full)]
    _table("pull", rows, ["contract", "kijunbi", "rows", "steps", "received_bytes"])
    return EXIT_OK


def cmd_delta(args: argparse.Namespace) -> int:
    from load.main import delta_municipality

    lake = lake_path(args.lake)
    codes = _lg_codes(args, lake, "accepted")
    rows = [r.to_dict() for c in codes for r in delta_municipality(lake, c, args.to, args.until, args.since)]
    _table("delta", rows, ["lg_code", "layout", "from", "to", "added", "removed", "changed", "path"])
    return EXIT_OK


UPLOAD_TEXT = {
    "ja": {
        "check": "送信前チェック中…",
        "checked": "送信前チェック結果",
        "refused": "ファイル全体が受付不可になるため送信を中止しました。内容を修正してください。",
        "uploading": "送信中",
        "sent": "送信完了。受付結果を待っています…",
        "timeout": "受付結果がまだ届いていません。後で outbox を確認してください。",
    },
    "en": {
        "check": "checking locally…",
        "checked": "local check",
        "refused": "not sent: the server would reject the whole set. Fix it first.",
        "uploading": "uploading",
        "sent": "sent; waiting for the receipt…",
        "timeout": "no receipt yet; look in /outbox later.",
    },
}


def cmd_upload(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from extract.sftp import SftpSettings
    from jumin.apps.upload import check_locally, prepare, upload, wait_for_receipt

    text = UPLOAD_TEXT[args.lang]
    console = _console()
    upload_set = prepare(
        [Path(f) for f in args.files], args.lg_code, args.layout, args.kijunbi, args.encoding, args.name
    )
    console.print(text["check"])
    local = check_locally(upload_set)
    console.print(f"[bold]{text['checked']}[/bold]\n{local['text']}")
    if local["status"] == "rejected" and not args.force:
        console.print(f"[red]{text['refused']}[/red]")
        return EXIT_REJECTED
    if args.check_only:
        return EXIT_REJECTED if local["counts"]["rejected"] else EXIT_OK
    if not args.server:
        console.print("--server is required unless --check-only")
        return EXIT_ERROR
    settings = SftpSettings.from_uri(args.server)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, Any] = {}

        def on_progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"{text['uploading']} {name}", total=total)
            bar.update(tasks[name], completed=done)

        upload(upload_set, settings, on_progress)
    if args.no_wait:
        return EXIT_OK
    console.print(text["sent"])
    receipt = wait_for_receipt(upload_set, settings, timeout_s=args.timeout)
    if receipt is None:
        console.print(text["timeout"])
        return EXIT_TRANSIENT
    console.print(receipt["text"])
    return EXIT_REJECTED if receipt["counts"]["rejected"] else EXIT_OK


def cmd_gaiji(args: argparse.Namespace) -> int:
    from jumin.core.gaiji import load_map, register_map

    if args.file:
        path = register_map(args.lake, args.lg_code, Path(args.file).read_text(encoding="utf-8"))
        _console().print(f"registered {path}")
    rows = [{"code_point": f"U+{cp:04X}", "to": to} for cp, to in sorted(load_map(args.lake, args.lg_code).items())]
    _table(f"外字 map {args.lg_code}", rows, ["code_point", "to"])
    return EXIT_OK


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    from jumin.core.errors import TerminalError
    from load.deliver.ledger import verify

    result = verify(lake_path(args.lake), expected_head=args.expected_head)
    if not result.ok:
        raise TerminalError(str(result))
    sys.stdout.write(f"{result}\n")
    return EXIT_OK


def cmd_ledger_show(args: argparse.Namespace) -> int:
    from load.deliver.ledger import resident_answer, show

    if not args.juminhyokodo and not (args.lg_code and args.atena_bango):
        raise UsageError("give --juminhyokodo, or --lg-code with --atena-bango for a 住登外者 without one")
    entries = show(lake_path(args.lake), args.juminhyokodo, lg_code=args.lg_code, atena_bango=args.atena_bango)
    sys.stdout.write(resident_answer(entries, args.lang))
    return EXIT_OK


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=False)


def _table(title: str, rows: Sequence[Mapping[str, object]], columns: list[str]) -> None:
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*(str(r.get(c, "")) for c in columns))
    _console().print(t)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jumin``."""
    p = _Parser(prog="jumin", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging; a failure shows its traceback")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write seeded sample upload sets and a ground truth")
    g.add_argument("--out", required=True, help="folder to write <out>/landing/<lg_code>/ and ground_truth.csv into")
    g.add_argument(
        "--lg-code",
        action="append",
        type=lg_code,
        help=f"municipality to generate (repeatable; default {' '.join(SAMPLE_LG_CODES)})",
    )
    g.add_argument("--residents", type=int, default=600, help="住基 persons per municipality (default %(default)s)")
    g.add_argument(
        "--seed", type=int, default=1, help="random seed: the same seed gives the same bytes (default %(default)s)"
    )
    g.add_argument(
        "--kijunbi", default="2026-11-01", help="基準日 of the upload sets, YYYY-MM-DD (default %(default)s)"
    )
    g.add_argument(
        "--cp932",
        action="append",
        type=lg_code,
        metavar="LG_CODE",
        help="write this generated municipality in CP932 (repeatable; default: 012025 when it is generated)",
    )
    g.set_defaults(func=cmd_generate)

    dv = sub.add_parser("deliver", help="deliver contracts' datasets for a 基準日 (after reconcile)")
    dv.add_argument("--lake", required=True, help="lake root")
    dv.add_argument("--contract", required=True, action="append", help="ODCS contract file (repeatable)")
    dv.add_argument("--as-of", "--kijunbi", dest="as_of", required=True, help="基準日 YYYY-MM-DD")
    dv.add_argument(
        "--at",
        help="time of the delivery for the ledger, ISO 8601 with time zone (default now; a rerun after a crash "
        "given the same time logs the same entries)",
    )
    dv.add_argument(
        "--engine",
        choices=["duckdb", "gx"],
        default="duckdb",
        help="the contract's checks of the output run by duckdb (fast) or gx (Great Expectations, the reference)",
    )
    dv.set_defaults(func=cmd_deliver)

    pb = sub.add_parser("publish", help="put contracts' staged deliveries into their SaaS's read-only outbox")
    pb.add_argument("--lake", required=True, help="lake root")
    pb.add_argument("--landing", required=True, help="landing folder, or sftp://jumin@host:port?key_file=…&host_key=…")
    pb.add_argument("--contract", required=True, action="append", help="ODCS contract file (repeatable)")
    pb.set_defaults(func=cmd_publish)

    pl = sub.add_parser("pull", help="for SaaS teams: download, verify and apply deliveries into DuckDB")
    pl.add_argument(
        "--from",
        dest="source",
        required=True,
        help="sftp://saas_<account>@host:port?key_file=…&host_key=…, or a folder",
    )
    pl.add_argument("--db", required=True, help="local DuckDB database file (made if missing)")
    pl.add_argument("--files", help="where downloads are kept (default <db>.files/)")
    pl.add_argument("--contract", action="append", help="only this contract id (repeatable; default every one)")
    pl.add_argument("--full", action="store_true", help="reload the latest full delivery instead of applying deltas")
    pl.set_defaults(func=cmd_pull)

    from jumin.core.layouts import LAYOUTS

    u = sub.add_parser("upload", help="check, send an upload set over SFTP and show its receipt")
    u.add_argument("files", nargs="+", help="data files of one layout, in one folder")
    u.add_argument("--server", help="sftp://lgNNNNNN@host:port?key_file=…&host_key=…")
    u.add_argument("--lg-code", required=True, type=lg_code, help="全国地方公共団体コード (6 digits)")
    u.add_argument("--layout", required=True, choices=sorted(LAYOUTS), help="layout of the data files")
    u.add_argument("--kijunbi", required=True, help="基準日 YYYY-MM-DD")
    u.add_argument(
        "--encoding", default="utf-8", choices=["utf-8", "cp932"], help="encoding of the files (default %(default)s)"
    )
    u.add_argument("--name", help="name of the set (default: the first file's name)")
    u.add_argument("--check-only", action="store_true", help="check locally, send nothing")
    u.add_argument("--force", action="store_true", help="send even if the check fails")
    u.add_argument("--no-wait", action="store_true", help="do not wait for the receipt")
    u.add_argument("--timeout", type=float, default=600, help="seconds to wait for the receipt")
    u.add_argument("--lang", choices=["ja", "en"], default="ja", help="language of the messages (default %(default)s)")
    u.set_defaults(func=cmd_upload)

    gj = sub.add_parser("gaiji", help="register or show a municipality's 外字 map")
    gj.add_argument("--lake", required=True, help="lake root")
    gj.add_argument("--lg-code", required=True, type=lg_code, help="全国地方公共団体コード of the map")
    gj.add_argument("file", nargs="?", help="map to register (JSON); omit to show the current one")
    gj.set_defaults(func=cmd_gaiji)

    from jumin.apps.landing.cli import register

    register(sub)

    lg = sub.add_parser("ledger", help="the delivery ledger: verify it, answer a resident (docs/ledger.md)")
    ledger_sub = lg.add_subparsers(dest="ledger_command", required=True)
    lv = ledger_sub.add_parser("verify", help="check the chain and every segment; exit 1 naming the first tampering")
    lv.add_argument("--lake", required=True, help="lake root")
    lv.add_argument("--expected-head", help="the ledger head of the latest delivery manifest (catches a cut tail)")
    lv.set_defaults(func=cmd_ledger_verify)
    ls = ledger_sub.add_parser("show", help="which services received a resident's data, from whom, when, why")
    ls.add_argument("--lake", required=True, help="lake root")
    ls.add_argument("--juminhyokodo", help="the resident's 住民票コード (11 digits)")
    ls.add_argument("--lg-code", type=lg_code, help="for a 住登外者 without 住民票コード: the municipality")
    ls.add_argument("--atena-bango", help="for a 住登外者 without 住民票コード: the 宛名番号")
    ls.add_argument("--lang", choices=["ja", "en"], default="ja", help="language of the answer (default %(default)s)")
    ls.set_defaults(func=cmd_ledger_show)

    for name, func, helptext in (
        ("ingest", cmd_ingest, "pick up complete upload sets from a landing zone"),
        (
            "return-receipts",
            cmd_return_receipts,
            "return receipts and 名寄せ review files: put them into the municipalities' outboxes",
        ),
        ("validate", cmd_validate, "validate parsed sets; write receipts and quarantine"),
        ("snapshot", cmd_snapshot, "stage point-in-time snapshots as Parquet"),
        ("delta", cmd_delta, "stage the changes between staged snapshots as Parquet"),
        ("reconcile", cmd_reconcile, "reconcile 宛名 with the national 住基 of a 基準日: links, discrepancies"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--lake", required=True, help="lake root")
        s.add_argument("--lg-code", action="append", type=lg_code, help="only this municipality (repeatable)")
        s.set_defaults(func=func)
        if name in ("ingest", "return-receipts"):
            s.add_argument(
                "--landing", required=True, help="landing folder, or sftp://user@host:port?key_file=…&host_key=…"
            )
        if name == "validate":
            s.add_argument("--force", action="store_true", help="validate again")
            s.add_argument(
                "--engine",
                choices=["duckdb", "gx"],
                default="duckdb",
                help="duckdb (fast) or gx (Great Expectations itself, the reference)",
            )
        if name == "snapshot":
            s.add_argument(
                "--as-of", "--kijunbi", dest="as_of", required=True, help="基準日 YYYY-MM-DD, applied to 異動日"
            )
            s.add_argument(
                "--until", help="last 基準日 of a backfill: one snapshot per day from --as-of through this date"
            )
            s.add_argument("--known-at", help="処理日 cut-off YYYY-MM-DD (default: each 基準日)")
            s.add_argument(
                "--delta", action="store_true", help="also stage the delta into each 基準日 from the one before"
            )
        if name == "reconcile":
            s.add_argument("--as-of", "--kijunbi", dest="as_of", required=True, help="基準日 YYYY-MM-DD")
            s.add_argument(
                "--engine",
                choices=["duckdb", "gx"],
                default="duckdb",
                help="discrepancy rules run by duckdb (fast) or gx (Great Expectations, the reference)",
            )
        if name == "delta":
            s.add_argument("--to", required=True, help="基準日 of the newer snapshot (or YYYY-MM-DD@known_at)")
            s.add_argument("--until", help="last 基準日: one delta per staged day through it")
            s.add_argument(
                "--since",
                help="older snapshot of the first delta (YYYY-MM-DD or "
                "YYYY-MM-DD@known_at); default: the staged day before",
            )
    return p


def configure_logging(verbose: bool) -> None:
    """Log to stderr through rich; keep Great Expectations' own chatter down."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)]
    )
    for noisy in ("great_expectations", "asyncssh", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jumin`` command."""
    from jumin.core.errors import JuminError

    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except UsageError as e:
        return _fail(e, args.verbose, EXIT_USAGE)
    except JuminError as e:
        return _fail(e, args.verbose, EXIT_TRANSIENT if e.transient else EXIT_ERROR)
    except Exception as e:  # a defect or an unexpected OS error: one line, the traceback with -v
        return _fail(e, args.verbose, EXIT_ERROR)


def _fail(error: Exception, verbose: bool, code: int) -> int:
    """Report a failure on stderr in one line (the whole message and traceback with ``-v``)."""
    if verbose:
        log.exception("%s", error)
        return code
    lines = str(error).strip().splitlines() or [type(error).__name__]
    more = " (more with -v)" if len(lines) > 1 else ""
    sys.stderr.write(f"jumin: error: {lines[0]}{more}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
