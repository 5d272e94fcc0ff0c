"""Ingest: pick up complete upload sets from a municipality's inbox into the lake.

For each ``<name>.manifest.json`` in the inbox (uploaded last, by protocol):

1. read and check the manifest; a malformed one rejects the set at once;
2. if the same manifest bytes were processed before, archive the files again and stop: an
   identical re-upload is never processed twice;
3. wait until every named file is there, with its declared size; a set still incomplete after
   ``ExtractConfig.incomplete_after_s`` gets an "incomplete" receipt and keeps waiting;
4. copy the files to a staging folder, check sha256 there, move the folder to ``raw/``
   (immutable), decode and parse every file strictly into ``parsed/``;
5. move the set from the inbox to the archive, the manifest last.

A file-level failure rejects the whole set with a receipt; other sets go on. Only plain files
are read: a manifest that is, or names, a symlink, a hard link or anything but a regular file
rejects the set with F0014 (see :mod:`extract.inbox`); such an entry named by no manifest is
logged as a warning at every run.

Every step can be interrupted (a SIGKILL) and is finished by the next run of the same command,
nothing twice and nothing lost:

- staging folders (``incoming/``) and hidden temporary files of dead processes are removed when
  a municipality's ingest starts; ``raw/`` is written by one rename, the parsed sidecar after the
  Parquet file, so a set counts as processed only once both are there;
- a set whose manifest is still in the inbox but was processed (parsed sidecar or final
  receipt) is only archived again ("already_ingested"); the archive move, interrupted, left an
  archive folder without the manifest (moved last), which the next move completes rather than
  opening a ``<set_id>.2`` beside it. Since the manifest goes last, a set whose manifest is
  archived has no files left in the inbox.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa

from extract.config import FILE_NAME, ExtractConfig
from extract.errors import UploadSetRejected
from extract.inbox import Inbox, InboxFile, check_plain, refused
from extract.landing import open_inbox
from extract.outbox import return_receipts, return_review_files
from extract.parse import ParsedFile, decode, parse, parse_xlsx
from jumin.core import store
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.errors import Finding
from jumin.core.files import atomic_path, atomic_write_bytes, remove_stale_temps, sha256_bytes, sha256_file
from jumin.core.gaiji import GaijiUse, apply_map, load_map
from jumin.core.lake import Lake, write_work_table
from jumin.core.landing import PARTIAL_SUFFIX
from jumin.core.layouts import LAYOUTS, get_layout
from jumin.core.manifest import ENCODINGS, MANIFEST_SUFFIX, Manifest
from jumin.core.parsed import FileRows, ParsedSet
from jumin.core.receipt import Receipt, is_final, write_receipt
from jumin.core.xlsx import is_xlsx

log = logging.getLogger(__name__)

#: what ingest did with an upload set: parsed into the lake; rejected as a whole (receipt
#: written); incomplete and overdue (an "incomplete" receipt); still waiting for its files; or
#: the same manifest bytes were processed before
IngestStatus = Literal["parsed", "rejected", "incomplete", "waiting", "already_ingested"]


@dataclass(frozen=True)
class IngestResult:
    """Outcome of one upload set; small enough for XCom."""

    set_id: str
    lg_code: str
    manifest: str
    layout: str
    status: IngestStatus
    #: the parsed set (``parsed`` and ``already_ingested``)
    parsed: str = ""
    #: the receipt written (``rejected`` and ``incomplete``)
    receipt: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def set_id_of(manifest_bytes: bytes) -> str:
    """Content address of an upload set: an identical re-upload gets the same id."""
    return sha256_bytes(manifest_bytes)[:16]


def ingest_municipality(
    source: str | Path,
    lake_root: str | Path,
    lg_code: str,
    config: ExtractConfig | None = None,
    now: float | None = None,
) -> list[IngestResult]:
    """Ingest every upload set waiting for one municipality.

    ``source`` is a local landing folder or the ``sftp://`` URI of the landing zone.
    """
    with open_inbox(source, lg_code) as inbox:
        return ingest_inbox(inbox, lake_root, config, now)


def return_municipality_receipts(source: str | Path, lake_root: str | Path, lg_code: str) -> list[str]:
    """Return the municipality's new or changed receipts: put them into its outbox."""
    with open_inbox(source, lg_code) as inbox:
        return return_receipts(inbox, lake_root)


def return_municipality_review_files(
    source: str | Path, lake_root: str | Path, lg_code: str, kijunbi: str | None = None
) -> list[str]:
    """Return the municipality's new or changed review files (名寄せ候補) to its outbox."""
    with open_inbox(source, lg_code) as inbox:
        return return_review_files(inbox, lake_root, kijunbi)


def ingest_inbox(
    inbox: Inbox, lake_root: str | Path, config: ExtractConfig | None = None, now: float | None = None
) -> list[IngestResult]:
    """Ingest every upload set in ``inbox``; one bad set never stops the others.

    ``now`` (seconds since the epoch) only decides when an incomplete set is reported.
    """
    files = {f.name: f for f in inbox.files()}
    lake, cfg = Lake.at(lake_root), config or ExtractConfig()
    clock = time.time() if now is None else now
    clean_up(lake, inbox.lg_code)
    results = [
        ingest_set(inbox, files, name, lake, cfg, clock) for name in sorted(files) if name.endswith(MANIFEST_SUFFIX)
    ]
    if any(f.kind != "file" for f in files.values()):
        odd = [f for f in inbox.files() if f.kind != "file"]
        if odd:
            log.warning(
                "%s: inbox entries not read (not plain files, named by no upload set): %s",
                inbox.lg_code,
                ", ".join(f"{f.name} ({f.what or f.kind})" for f in odd),
            )
    return results


def clean_up(lake: Lake, lg_code: str) -> None:
    """Remove what an interrupted ingest of ``lg_code`` left: staging folders and hidden
    temporary files of processes that are gone."""
    remove_staging(lake, lg_code, None)
    for layout in LAYOUTS:
        remove_stale_temps(lake.parsed_folder(layout, lg_code))
    remove_stale_temps(lake.receipts_folder(lg_code))


def remove_staging(lake: Lake, lg_code: str, set_id: str | None) -> None:
    """Remove the staging folder of ``set_id`` (of every set with None), and the folders above it
    once empty: ``incoming/`` exists only while a set is being copied in."""
    folder = lake.incoming(lg_code, set_id or "-")
    shutil.rmtree(folder if set_id else folder.parent, ignore_errors=True)
    for parent in (folder.parent, folder.parent.parent):
        try:
            parent.rmdir()
        except OSError:  # not empty, or not there
            break


def unread_set_id(name: str) -> str:
    """The id of a set whose manifest is not read (not a plain file): from its name alone."""
    return set_id_of(b"unread manifest\0" + name.encode())


def ingest_set(
    inbox: Inbox, files: dict[str, InboxFile], name: str, lake: Lake, config: ExtractConfig, now: float
) -> IngestResult:
    """Verify, stage, copy and parse one upload set."""
    lg_code = inbox.lg_code
    set_id = unread_set_id(name)
    manifest: Manifest | None = None
    try:
        check_plain(files[name])
        manifest_bytes = inbox.read(name)
        set_id = set_id_of(manifest_bytes)
        manifest = read_manifest(manifest_bytes, name)
        check_manifest(manifest, name, lg_code)
        if processed(lake, manifest, lg_code, set_id):
            log.info("%s: set %s was processed before; archiving the copy", name, set_id)
            inbox.archive(present(manifest, name, files), set_id)
            return IngestResult(
                set_id,
                lg_code,
                name,
                manifest.layout,
                "already_ingested",
                str(lake.parsed(manifest.layout, lg_code, set_id)),
            )
        missing = incomplete(manifest, files, config)
        if missing is not None:
            return wait_or_report(missing, manifest, name, set_id, files, lake, config, now)
        staged = stage(inbox, manifest, name, lake.incoming(lg_code, set_id))
        verify_checksums(staged, manifest)
        raw = lake.raw(lg_code, set_id)
        keep_raw(staged, raw, name)
        remove_staging(lake, lg_code, set_id)
        gaiji = load_map(lake.root, lg_code)
        parsed_files = [parse_file(raw / e.name, manifest, e.encoding, gaiji) for e in manifest.files]
    except UploadSetRejected as e:
        log.warning("%s: rejected: %s", name, e)
        remove_staging(lake, lg_code, set_id)
        receipt = reject(e.finding, manifest, name, set_id, lg_code, lake)
        inbox.archive(present(manifest, name, files), set_id)
        return IngestResult(set_id, lg_code, name, manifest.layout if manifest else "", "rejected", receipt=receipt)
    parsed_path = lake.parsed(manifest.layout, lg_code, set_id)
    write_parsed(
        parsed_files,
        manifest,
        name,
        set_id,
        parsed_path,
        gaiji_report(gaiji, merge_counts(p.gaiji for p in parsed_files)),
    )
    inbox.archive(present(manifest, name, files), set_id)
    return IngestResult(set_id, lg_code, name, manifest.layout, "parsed", str(parsed_path))


def keep_raw(staged: Path, raw: Path, manifest_name: str) -> None:
    """Keep the verified set as the lake's immutable raw copy. Locally the staging folder is
    renamed; in object storage its files are put one by one, the manifest last, which is what
    says the copy is whole. An earlier attempt may already have kept these bytes."""
    if not store.is_remote(raw):
        if not raw.exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            staged.rename(raw)
        return
    if (raw / manifest_name).exists():
        return
    for local in sorted(staged.iterdir(), key=lambda p: (p.name == manifest_name, p.name)):
        with atomic_path(raw / local.name) as tmp:
            shutil.copyfile(local, tmp)


def processed(lake: Lake, manifest: Manifest, lg_code: str, set_id: str) -> bool:
    """True once a set was parsed or rejected (an "incomplete" receipt does not count)."""
    if lake.parsed_sidecar(lake.parsed(manifest.layout, lg_code, set_id)).exists():
        return True
    return is_final(lake.receipt(lg_code, set_id))


def present(manifest: Manifest | None, name: str, files: dict[str, InboxFile]) -> list[str]:
    """The set's files that are in the inbox now, manifest last."""
    named = [e.name for e in manifest.files] if manifest else []
    return [n for n in named if n in files and n != name] + [name]


def incomplete(manifest: Manifest, files: dict[str, InboxFile], config: ExtractConfig) -> Finding | None:
    """Why the set is not complete yet (a file missing or shorter than declared), or None.

    A file name that could never be valid, or an entry that is not a plain file, rejects the set
    instead.
    """
    for e in manifest.files:
        f = files.get(e.name)
        if f is not None and f.kind != "file":
            raise refused(e.name, f.kind, f.what)
    for e in manifest.files:
        if not FILE_NAME.match(e.name) or e.name.endswith((MANIFEST_SUFFIX, PARTIAL_SUFFIX)):
            raise UploadSetRejected(Finding("F0012", file=e.name))
        f = files.get(e.name)
        if f is None:
            return Finding("F0004", file=e.name)
        if f.size > config.max_file_bytes:
            raise UploadSetRejected(
                Finding("F0012", file=e.name, value=str(f.size), detail=f"larger than {config.max_file_bytes} bytes")
            )
        if e.size is not None and f.size != e.size:
            return Finding("F0004", file=e.name, value=str(f.size), detail=f"{f.size} of {e.size} bytes uploaded")
    return None


def wait_or_report(
    missing: Finding,
    manifest: Manifest,
    name: str,
    set_id: str,
    files: dict[str, InboxFile],
    lake: Lake,
    config: ExtractConfig,
    now: float,
) -> IngestResult:
    """Leave an incomplete set alone; once it is overdue, say so in an "incomplete" receipt."""
    lg_code = manifest.lg_code
    age = now - files[name].mtime
    if age < config.incomplete_after_s:
        log.info("%s: waiting for %s (%.0f s since the manifest)", name, missing.file, age)
        return IngestResult(set_id, lg_code, name, manifest.layout, "waiting")
    path = lake.receipt(lg_code, set_id)
    write_receipt(
        Receipt(
            set_id=set_id,
            manifest=name,
            lg_code=lg_code,
            layout=manifest.layout,
            kijunbi=manifest.kijunbi,
            input=0,
            accepted=0,
            rejected=0,
            findings=[missing],
            pending=True,
        ),
        path,
    )
    return IngestResult(set_id, lg_code, name, manifest.layout, "incomplete", receipt=str(path))


def reject(finding: Finding, manifest: Manifest | None, name: str, set_id: str, lg_code: str, lake: Lake) -> str:
    """Write the receipt of a set rejected as a whole: every declared row counts as rejected."""
    declared = sum(f.rows for f in manifest.files) if manifest else 0
    path = lake.receipt(lg_code, set_id)
    write_receipt(
        Receipt(
            set_id=set_id,
            manifest=name,
            lg_code=lg_code,
            layout=manifest.layout if manifest else "",
            kijunbi=manifest.kijunbi if manifest else "",
            input=declared,
            accepted=0,
            rejected=declared,
            findings=[finding],
        ),
        path,
    )
    return str(path)


def read_manifest(data: bytes, name: str) -> Manifest:
    """Parse a manifest; anything malformed rejects the set with F0001."""
    try:
        return Manifest.from_json(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as e:
        raise UploadSetRejected(Finding("F0001", file=name, detail=str(e))) from e


def check_manifest(manifest: Manifest, name: str, lg_code: str) -> None:
    """Check a parsed manifest against the folder it arrived in and the known layouts."""
    if not is_valid_lg_code(manifest.lg_code) or manifest.lg_code != lg_code:
        raise UploadSetRejected(
            Finding("F0003", file=name, item="lg_code", value=manifest.lg_code, detail=f"landing folder is {lg_code}")
        )
    try:
        get_layout(manifest.layout, manifest.layout_version)
    except KeyError as e:
        raise UploadSetRejected(
            Finding(
                "F0002", file=name, item="layout", value=f"{manifest.layout} v{manifest.layout_version}", detail=str(e)
            )
        ) from e


def stage(inbox: Inbox, manifest: Manifest, name: str, target: Path) -> Path:
    """Copy the set (data files and manifest) into a fresh local staging folder."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for e in manifest.files:
        inbox.fetch(e.name, target / e.name)
    inbox.fetch(name, target / name)
    return target


def verify_checksums(folder: Path, manifest: Manifest) -> None:
    """Reject the set when a staged file's sha256 differs from the manifest."""
    for e in manifest.files:
        actual = sha256_file(folder / e.name)
        if actual != e.sha256:
            raise UploadSetRejected(Finding("F0005", file=e.name, value=actual, detail=f"manifest says {e.sha256}"))


def parse_file(path: Path, manifest: Manifest, encoding: str, gaiji: dict[int, str] | None = None) -> ParsedFile:
    """Decode a data file, apply the municipality's 外字 map, parse it strictly and check its
    record count against the manifest. An ``.xlsx`` file is read as a workbook (its declared
    encoding does not apply)."""
    layout = get_layout(manifest.layout)
    data = path.read_bytes()
    if is_xlsx(path.name):
        parsed = parse_xlsx(data, layout, path.name, gaiji)
    else:
        text, replaced = apply_map(decode(data, encoding, path.name), gaiji or {})
        # the bytes of a UTF-8 file are already the text's UTF-8, unless 外字 were replaced
        utf8 = (
            data.removeprefix(b"\xef\xbb\xbf")
            if not replaced and ENCODINGS.get(encoding.lower()) == "utf-8-sig"
            else None
        )
        parsed = parse(text, layout, path.name, utf8)
        parsed.gaiji = replaced
    declared = next(f.rows for f in manifest.files if f.name == path.name)
    if parsed.rows_read != declared:
        raise UploadSetRejected(
            Finding("F0006", file=path.name, value=str(parsed.rows_read), detail=f"manifest says {declared}")
        )
    return parsed


def merge_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Replacement counts per code point over several files."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))


def gaiji_report(table: dict[int, str], counts: dict[str, int]) -> dict[str, GaijiUse]:
    """What each replaced 外字 became and how often, for the receipt."""
    return {cp: GaijiUse(to=table[int(cp[2:], 16)], count=n) for cp, n in counts.items()}


def write_parsed(
    parsed: list[ParsedFile],
    manifest: Manifest,
    manifest_name: str,
    set_id: str,
    path: Path,
    gaiji: dict[str, GaijiUse],
) -> None:
    """Write the parsed rows (Parquet) and what ingest learnt (JSON sidecar) atomically."""
    write_work_table(pa.concat_tables([p.table for p in parsed]), path)
    sidecar = ParsedSet(
        set_id=set_id,
        manifest=manifest_name,
        manifest_data=manifest,
        rows_read=sum(p.rows_read for p in parsed),
        files=tuple(
            FileRows(name=e.name, rows=p.rows_read, encoding=e.encoding)
            for e, p in zip(manifest.files, parsed, strict=True)
        ),
        findings=tuple(f for p in parsed for f in p.findings),
        gaiji=gaiji,
    )
    atomic_write_bytes(Lake.parsed_sidecar(path), sidecar.to_json().encode())
