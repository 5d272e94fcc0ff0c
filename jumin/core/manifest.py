"""The manifest of an upload set (送付ファイル一覧).

An upload set is one manifest (``<name>.manifest.json``) plus the data files it names, all in
one municipality's landing folder. The manifest is uploaded last; a set is complete when every
file it names is present with the declared size and sha256.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jumin.core.files import atomic_write_text, sha256_file
from jumin.core.xlsx import count_records, is_xlsx

MANIFEST_SUFFIX = ".manifest.json"
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "cp932": "cp932",
    "shift_jis": "cp932",
    "windows-31j": "cp932",
}


@dataclass(frozen=True)
class FileEntry:
    """One data file of a set."""

    name: str
    sha256: str
    rows: int
    encoding: str = "utf-8"
    #: bytes; optional, lets a receiver see an unfinished upload without hashing it
    size: int | None = None


@dataclass(frozen=True)
class Manifest:
    """What a municipality declares about an upload set."""

    lg_code: str
    layout: str
    layout_version: str
    kijunbi: str
    files: tuple[FileEntry, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, UTF-8, trailing newline)."""
        d = asdict(self)
        d["files"] = [{k: v for k, v in asdict(f).items() if v is not None} for f in self.files]
        return json.dumps(d, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse manifest JSON; raises ValueError naming the missing or malformed field."""
        d = json.loads(text)
        if not isinstance(d, dict):
            raise ValueError("manifest is not a JSON object")
        for key in ("lg_code", "layout", "layout_version", "kijunbi", "files"):
            if key not in d:
                raise ValueError(f"manifest field {key!r} is missing")
        kijunbi = str(d["kijunbi"])
        if not ISO_DATE.fullmatch(kijunbi):
            raise ValueError(f"manifest field 'kijunbi' is not a YYYY-MM-DD date: {kijunbi!r}")
        try:
            dt.date.fromisoformat(kijunbi)
        except ValueError as e:
            raise ValueError(f"manifest field 'kijunbi' is not a calendar date: {kijunbi!r}") from e
        if not isinstance(d["files"], list) or not d["files"]:
            raise ValueError("manifest field 'files' must be a non-empty list")
        files = tuple(_file_entry(i, f) for i, f in enumerate(d["files"]))
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise ValueError("manifest field 'files' names the same file twice")
        return cls(
            lg_code=str(d["lg_code"]),
            layout=str(d["layout"]),
            layout_version=str(d["layout_version"]),
            kijunbi=kijunbi,
            files=files,
        )


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _file_entry(i: int, f: object) -> FileEntry:
    """One ``files[i]`` entry; ``rows`` must be a JSON integer ≥ 0 (not 4.7, not "4")."""
    if not isinstance(f, dict):
        raise ValueError(f"manifest files[{i}] is not an object")
    for key in ("name", "sha256", "rows"):
        if key not in f:
            raise ValueError(f"manifest files[{i}].{key} is missing")
    for key in ("rows", "size"):
        n = f.get(key, 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"manifest files[{i}].{key} must be an integer >= 0: {n!r}")
    return FileEntry(
        name=str(f["name"]),
        sha256=str(f["sha256"]).lower(),
        rows=f["rows"],
        encoding=str(f.get("encoding", "utf-8")),
        size=f.get("size"),
    )


def count_rows(path: Path) -> int:
    """Records in a CSV file after its header row, as the parser counts them.

    RFC 4180: quoted line breaks do not start a record; blank lines are not records. Works on
    bytes: in UTF-8 and CP932 the bytes of '"', CR and LF never occur inside a multi-byte
    character, so no decoding is needed. An ``.xlsx`` workbook counts the rows after row 1 of
    its first sheet that hold a value (:func:`jumin.core.xlsx.count_records`).
    """
    data = path.read_bytes()
    if is_xlsx(path.name):
        return count_records(data)
    if b'"' not in data:
        return max(sum(1 for line in data.splitlines() if line) - 1, 0)
    text = data.decode("latin-1")  # one char per byte, so quotes and newlines stay where they are
    return max(sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row) - 1, 0)


def build_manifest(
    folder: Path, lg_code: str, layout: str, layout_version: str, kijunbi: str, files: list[tuple[str, str]]
) -> Manifest:
    """The manifest for data files already in ``folder``.

    ``files`` holds (file name, encoding) pairs; sizes, hashes and row counts are computed.
    """
    entries = tuple(
        FileEntry(
            name=f,
            sha256=sha256_file(folder / f),
            rows=count_rows(folder / f),
            encoding=enc,
            size=(folder / f).stat().st_size,
        )
        for f, enc in files
    )
    return Manifest(lg_code=lg_code, layout=layout, layout_version=layout_version, kijunbi=kijunbi, files=entries)


def write_manifest(
    folder: Path, name: str, lg_code: str, layout: str, layout_version: str, kijunbi: str, files: list[tuple[str, str]]
) -> Path:
    """Write ``<name>.manifest.json`` for data files already in ``folder``."""
    m = build_manifest(folder, lg_code, layout, layout_version, kijunbi, files)
    path = folder / f"{name}{MANIFEST_SUFFIX}"
    atomic_write_text(path, m.to_json())
    return path
