"""What ingest learnt about a parsed upload set: the JSON sidecar next to its Parquet file.

Ingest writes it (:func:`extract.main.write_parsed`), validation reads it
(:func:`expectations.main.validate_set`): the manifest as received, the rows read per file and
the row-structure findings (``R…``) of rows that never reached the Parquet file, and the 外字
replaced while decoding. The JSON text is fixed by :meth:`ParsedSet.to_json`, so a rerun writes
the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from jumin.core.errors import Finding
from jumin.core.gaiji import GaijiUse
from jumin.core.manifest import Manifest


class FileRows(TypedDict):
    """One data file of a set: the data rows read from it and its declared encoding."""

    name: str
    rows: int
    encoding: str


@dataclass(frozen=True)
class ParsedSet:
    """The sidecar ``set=<set_id>.json`` of a parsed set."""

    set_id: str
    #: name of the manifest file (``<name>.manifest.json``)
    manifest: str
    #: the manifest itself, as received
    manifest_data: Manifest
    #: data rows read over all files (parsed rows plus rows with a row-structure finding)
    rows_read: int
    files: tuple[FileRows, ...] = ()
    #: row-structure findings: these rows are rejected, they are not in the Parquet file
    findings: tuple[Finding, ...] = ()
    #: 外字 replaced by the municipality's map: U+XXXX → what it became and how often
    gaiji: dict[str, GaijiUse] = field(default_factory=dict)

    def to_json(self) -> str:
        """The sidecar's JSON text (the key order and indent are part of the format)."""
        d = {
            "set_id": self.set_id,
            "manifest": self.manifest,
            "manifest_data": json.loads(self.manifest_data.to_json()),
            "rows_read": self.rows_read,
            "files": list(self.files),
            "findings": [asdict(f) for f in self.findings],
            "gaiji": self.gaiji,
        }
        return json.dumps(d, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ParsedSet:
        """Read a sidecar written by :meth:`to_json`; raises KeyError or ValueError when it is not one."""
        d: dict[str, Any] = json.loads(text)
        return cls(
            set_id=str(d["set_id"]),
            manifest=str(d["manifest"]),
            manifest_data=Manifest.from_json(json.dumps(d["manifest_data"])),
            rows_read=int(d["rows_read"]),
            files=tuple(
                FileRows(name=str(f["name"]), rows=int(f["rows"]), encoding=str(f["encoding"])) for f in d["files"]
            ),
            findings=tuple(Finding(**f) for f in d["findings"]),
            gaiji={cp: GaijiUse(to=str(g["to"]), count=int(g["count"])) for cp, g in d.get("gaiji", {}).items()},
        )
