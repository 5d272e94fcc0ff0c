"""Ingest: pick up complete upload sets from a landing folder into the lake.

For each ``<name>.manifest.json`` in ``<landing>/<lg_code>/``: verify the manifest, file names,
sizes and sha256; copy the set unchanged to ``raw/``; decode and parse every file strictly into
``parsed/``. A set already ingested (same manifest bytes) is skipped. A file-level failure
rejects the whole set and writes its receipt at once; the other sets go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.config import FILE_NAME, ExtractConfig
from extract.errors import UploadSetRejected
from extract.parse import ParsedFile, decode, parse
from jumin.checkdigits import is_valid_lg_code
from jumin.errors import Finding
from jumin.lake import Lake, atomic_write_bytes, temp_path
from jumin.layouts import get_layout
from jumin.manifest import MANIFEST_SUFFIX, Manifest, sha256_file
from jumin.receipt import Receipt, write_receipt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """Outcome of one upload set; small enough for XCom."""

    set_id: str
    lg_code: str
    manifest: str
    layout: str
    status: str  # parsed | rejected | already_ingested
    parsed: str = ""
    receipt: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def set_id_of(manifest_bytes: bytes) -> str:
    """Content address of an upload set: an identical re-upload gets the same id."""
    return hashlib.sha256(manifest_bytes).hexdigest()[:16]


def find_manifests(landing: Path, lg_code: str) -> list[Path]:
    """Manifests waiting in one municipality's landing folder, in name order."""
    folder = landing / lg_code
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(MANIFEST_SUFFIX))


def ingest_municipality(landing: str | Path, lake_root: str | Path, lg_code: str,
                        config: ExtractConfig | None = None) -> list[dict[str, str]]:
    """Ingest every upload set of one municipality; one bad set never stops the others."""
    lake = Lake(Path(lake_root))
    return [ingest_set(m, lake, lg_code, config or ExtractConfig()).to_dict()
            for m in find_manifests(Path(landing), lg_code)]


def ingest_set(manifest_path: Path, lake: Lake, lg_code: str,
               config: ExtractConfig) -> IngestResult:
    """Verify, copy and parse one upload set."""
    manifest_bytes = manifest_path.read_bytes()
    set_id = set_id_of(manifest_bytes)
    name = manifest_path.name
    manifest: Manifest | None = None
    try:
        manifest = read_manifest(manifest_bytes, name)
        check_manifest(manifest, name, lg_code)
        parsed_path = lake.parsed(manifest.layout, lg_code, set_id)
        if parsed_path.with_suffix(".json").exists():
            log.info("%s: set %s already ingested", name, set_id)
            return IngestResult(set_id, lg_code, name, manifest.layout, "already_ingested",
                                str(parsed_path))
        files = verify_files(manifest_path.parent, manifest, config)
        copy_raw(manifest_path, files, lake.raw(lg_code, set_id))
        parsed_files = [parse_file(p, manifest, e.encoding) for p, e in
                        zip(files, manifest.files, strict=True)]
    except UploadSetRejected as e:
        log.warning("%s: rejected: %s", name, e)
        declared = sum(f.rows for f in manifest.files) if manifest else 0
        receipt_path = lake.receipt(lg_code, set_id)
        write_receipt(Receipt(set_id=set_id, manifest=name, lg_code=lg_code,
                              layout=manifest.layout if manifest else "",
                              kijunbi=manifest.kijunbi if manifest else "",
                              input=declared, accepted=0, rejected=declared,
                              findings=[e.finding]), receipt_path)
        return IngestResult(set_id, lg_code, name, manifest.layout if manifest else "",
                            "rejected", receipt=str(receipt_path))
    write_parsed(parsed_files, manifest, name, set_id, parsed_path)
    return IngestResult(set_id, lg_code, name, manifest.layout, "parsed", str(parsed_path))


def read_manifest(data: bytes, name: str) -> Manifest:
    """Parse a manifest; anything malformed rejects the set with F0001."""
    try:
        return Manifest.from_json(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as e:
        raise UploadSetRejected(Finding("F0001", file=name, detail=str(e))) from e


def check_manifest(manifest: Manifest, name: str, lg_code: str) -> None:
    """Check a parsed manifest against the folder it arrived in and the known layouts."""
    if not is_valid_lg_code(manifest.lg_code) or manifest.lg_code != lg_code:
        raise UploadSetRejected(Finding(
            "F0003", file=name, item="lg_code", value=manifest.lg_code,
            detail=f"landing folder is {lg_code}"))
    try:
        get_layout(manifest.layout, manifest.layout_version)
    except KeyError as e:
        raise UploadSetRejected(Finding("F0002", file=name, item="layout",
                                        value=f"{manifest.layout} v{manifest.layout_version}",
                                        detail=str(e))) from e


def verify_files(folder: Path, manifest: Manifest, config: ExtractConfig) -> list[Path]:
    """Paths of the set's data files after checking names, presence, size and sha256."""
    paths = []
    for entry in manifest.files:
        if not FILE_NAME.match(entry.name) or entry.name.endswith(MANIFEST_SUFFIX):
            raise UploadSetRejected(Finding("F0012", file=entry.name))
        path = folder / entry.name
        if not path.is_file():
            raise UploadSetRejected(Finding("F0004", file=entry.name))
        if path.stat().st_size > config.max_file_bytes:
            raise UploadSetRejected(Finding("F0012", file=entry.name,
                                            detail=f"larger than {config.max_file_bytes} bytes"))
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise UploadSetRejected(Finding("F0005", file=entry.name, value=actual,
                                            detail=f"manifest says {entry.sha256}"))
        paths.append(path)
    return paths


def copy_raw(manifest_path: Path, files: list[Path], target: Path) -> None:
    """Copy the set byte for byte into the immutable raw zone (folder renamed into place)."""
    if target.exists():
        return
    tmp = temp_path(target)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in [*files, manifest_path]:
        shutil.copyfile(p, tmp / p.name)
    tmp.rename(target)


def parse_file(path: Path, manifest: Manifest, encoding: str) -> ParsedFile:
    """Decode and parse one data file, checking its record count against the manifest."""
    layout = get_layout(manifest.layout)
    parsed = parse(decode(path.read_bytes(), encoding, path.name), layout, path.name)
    declared = next(f.rows for f in manifest.files if f.name == path.name)
    if parsed.rows_read != declared:
        raise UploadSetRejected(Finding("F0006", file=path.name, value=str(parsed.rows_read),
                                        detail=f"manifest says {declared}"))
    return parsed


def write_parsed(parsed: list[ParsedFile], manifest: Manifest, manifest_name: str,
                 set_id: str, path: Path) -> None:
    """Write the parsed rows (Parquet) and what ingest learnt (JSON sidecar) atomically."""
    table = pa.concat_tables([p.table for p in parsed])
    tmp = temp_path(path)
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    sidecar = {
        "set_id": set_id,
        "manifest": manifest_name,
        "manifest_data": json.loads(manifest.to_json()),
        "rows_read": sum(p.rows_read for p in parsed),
        "files": [{"name": e.name, "rows": p.rows_read, "encoding": e.encoding}
                  for e, p in zip(manifest.files, parsed, strict=True)],
        "findings": [asdict(f) for p in parsed for f in p.findings],
    }
    atomic_write_bytes(path.with_suffix(".json"),
                       json.dumps(sidecar, ensure_ascii=False, indent=1).encode())
