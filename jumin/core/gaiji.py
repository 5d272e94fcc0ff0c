"""外字 maps: a municipality's private-use characters and what they stand for.

Legacy CP932 exports carry characters outside JIS X 0208 as per-municipality 外字 in the
private-use area (U+E000–U+F8FF). A municipality registers its map (code point → standard
character or IVS sequence); ingest applies it while decoding and the receipt says what was
replaced. A private-use character without a mapping stays and fails validation (E0002): it is
never silently kept.

Map file :meth:`Lake.gaiji_map <jumin.core.lake.Lake.gaiji_map>`::

    {"lg_code": "131016", "map": {"U+E000": "髙", "U+E001": "葛\\U000e0100"}}
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import TypedDict

from jumin.core.errors import TerminalError
from jumin.core.files import atomic_write_text
from jumin.core.lake import Lake

PUA_FIRST, PUA_LAST = 0xE000, 0xF8FF


class GaijiUse(TypedDict):
    """What one replaced 外字 became and how often, as the receipt reports it."""

    to: str
    count: int


class GaijiMapInvalid(TerminalError):
    """A registered 外字 map cannot be used; the message names the file and entry."""


def is_private_use(ch: str) -> bool:
    """True for a BMP private-use character (where 外字 live)."""
    return PUA_FIRST <= ord(ch) <= PUA_LAST


def parse_map(text: str, lg_code: str, source: str = "") -> dict[int, str]:
    """Check and read a map: keys ``U+XXXX`` in U+E000–U+F8FF, values free of private use."""
    try:
        d = json.loads(text)
        entries = d["map"]
        if d.get("lg_code") != lg_code:
            raise GaijiMapInvalid(f"{source}: lg_code is {d.get('lg_code')!r}, not {lg_code}")
    except (ValueError, KeyError, TypeError) as e:
        raise GaijiMapInvalid(f"{source}: not a 外字 map: {e}") from e
    table: dict[int, str] = {}
    for key, value in entries.items():
        try:
            cp = int(key.removeprefix("U+"), 16)
        except ValueError as e:
            raise GaijiMapInvalid(f"{source}: key {key!r} is not U+XXXX") from e
        if not PUA_FIRST <= cp <= PUA_LAST:
            raise GaijiMapInvalid(f"{source}: {key} is not a private-use code point")
        if not isinstance(value, str) or not value or any(is_private_use(c) for c in value):
            raise GaijiMapInvalid(f"{source}: {key} must map to standard characters")
        table[cp] = value
    return table


def load_map(lake_root: str | Path, lg_code: str) -> dict[int, str]:
    """The registered map of a municipality (empty when none is registered)."""
    path = Lake.at(lake_root).gaiji_map(lg_code)
    return parse_map(path.read_text("utf-8"), lg_code, str(path)) if path.exists() else {}


def register_map(lake_root: str | Path, lg_code: str, text: str) -> Path:
    """Check a map and store it for the municipality; returns where it went."""
    parse_map(text, lg_code, "new map")
    path = Lake.at(lake_root).gaiji_map(lg_code)
    atomic_write_text(path, text)
    return path


def apply_map(text: str, table: dict[int, str]) -> tuple[str, dict[str, int]]:
    """Replace mapped 外字; returns the new text and counts per replaced code point."""
    if not table:
        return text, {}
    mapped = re.compile("[" + "".join(re.escape(chr(cp)) for cp in table) + "]")
    found = Counter(mapped.findall(text))  # C-speed scan; a plain loop would visit every char
    if not found:
        return text, {}
    counts = {f"U+{ord(ch):04X}": n for ch, n in sorted(found.items())}
    return text.translate(table), counts
