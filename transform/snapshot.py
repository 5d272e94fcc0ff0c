"""Bitemporal point-in-time snapshots as SQL over accepted history rows.

A snapshot is "as of 基準日 T (applied to 異動日), as known at K (applied to 処理日)":

1. **version**: a history row (key 宛名番号/住民票コード + 履歴番号) may arrive in several upload
   sets; the version known at K is the one from the latest set whose 基準日 ≤ K, or, when every
   set carrying it is newer than K (a backfill from a later delivery), the earliest one.
2. **presence**: per person, the latest version with 異動日 ≤ T and 処理日 ≤ K (by 異動日, then
   履歴番号); a person whose latest row is a 消除 (転出, 死亡, …) is absent. A 住登者 who becomes
   住登外者 has a later 記載 row under the same 宛名番号, so stays present.
3. 支援措置 and 提供停止の申出 have no history rows: their snapshot is the rows in force on T
   (the layout's ``period``: 開始日 ≤ T ≤ 終了日; 申出日 ≤ T < 撤回日, or no 撤回日), from the
   version known at K (a withdrawal is the row sent again with its 撤回日).

The rules run on a *narrow* relation (keys, dates, codes and a row locator) and only the chosen
rows are fetched from the *wide* one, so the rules sort a few columns, not all of them.
"""

from __future__ import annotations

from jumin.core.duck import quote_ident, quote_literal
from jumin.core.layouts import IDOJIYU, Layout, idojiyu_group

SHOJO_CODES = tuple(sorted(c for c in IDOJIYU if idojiyu_group(c) == "消除"))

#: DuckDB's virtual columns locating a row of ``read_parquet(<glob>)``: integers, so matching
#: chosen rows costs far less than matching on file names (both scans list the same files)
PARQUET_LOCATOR = ("file_index", "file_row_number")


def _date(value: str) -> str:
    return f"DATE {quote_literal(value)}"


def _cols(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def is_history(layout: Layout) -> bool:
    """Whether rows are dated history entries (宛名, 住基) rather than measures (支援措置)."""
    return "idobi" in layout.romaji


def _period(layout: Layout) -> tuple[str, str, bool, bool]:
    """The period items of a layout without history rows (see ``Layout.period``)."""
    if layout.period is None:
        raise ValueError(f"{layout.name}: neither history rows nor a period")
    p = layout.period
    return p.start, p.end, p.end_inclusive, p.open_ended


def identity(layout: Layout) -> tuple[str, ...]:
    """What identifies a snapshot row: the person, or the key where a person may have several
    rows (支援措置)."""
    return (layout.person,) if is_history(layout) else layout.key


def narrow_columns(layout: Layout, locator: tuple[str, ...]) -> list[str]:
    """The columns the snapshot rules read: keys, dates, codes, set lineage and the locator."""
    rule_items = ["idobi", "shoribi", "idojiyu"] if is_history(layout) else list(_period(layout)[:2])
    names = [*layout.key, layout.person, *rule_items, "kijunbi", "set_id", *locator]
    return list(dict.fromkeys(names))


def versions_sql(layout: Layout, source: str, known_at: str) -> str:
    """One version per history row key: the latest set with 基準日 ≤ ``known_at``, else the
    earliest set (ties on 基準日: the greater set id, so the choice is stable)."""
    k = _date(known_at)
    return (
        f"SELECT * FROM {source} QUALIFY row_number() OVER (PARTITION BY {_cols(layout.key)} "
        f"ORDER BY kijunbi > {k}, CASE WHEN kijunbi <= {k} THEN kijunbi END DESC, "
        f"kijunbi, set_id DESC) = 1"
    )


def present_sql(layout: Layout, versions: str, as_of: str, known_at: str) -> str:
    """The versions making up the snapshot on ``as_of`` as recorded by ``known_at``."""
    t = _date(as_of)
    if not is_history(layout):
        start, end, inclusive, open_ended = _period(layout)
        until = f"{quote_ident(end)} {'>=' if inclusive else '>'} {t}"
        if open_ended:
            until = f"({quote_ident(end)} IS NULL OR {until})"
        return f"SELECT * FROM {versions} WHERE {quote_ident(start)} <= {t} AND {until}"
    shojo = ", ".join(quote_literal(c) for c in SHOJO_CODES)
    return (
        f"SELECT * FROM (SELECT * FROM {versions} WHERE idobi <= {t} "
        f"AND shoribi <= {_date(known_at)} QUALIFY row_number() OVER "
        f"(PARTITION BY {quote_ident(layout.person)} ORDER BY idobi DESC, rirekibango DESC) = 1"
        f") WHERE idojiyu NOT IN ({shojo})"
    )


def snapshot_sql(
    layout: Layout,
    narrow: str,
    wide: str,
    as_of: str,
    known_at: str | None = None,
    locator: tuple[str, ...] = PARQUET_LOCATOR,
    drop: tuple[str, ...] = (),
) -> str:
    """The snapshot of ``layout``: rules on ``narrow``, rows fetched from ``wide`` by locator,
    ordered by identity. ``drop`` names columns of ``wide`` to leave out (a locator made of
    real columns, not virtual ones, among them)."""
    versions = f"({versions_sql(layout, narrow, known_at or as_of)})"
    chosen = f"SELECT {_cols(locator)} FROM ({present_sql(layout, versions, as_of, known_at or as_of)})"
    columns = f"w.* EXCLUDE ({_cols(drop)})" if drop else "w.*"
    return (
        f"SELECT {columns} FROM {wide} w SEMI JOIN ({chosen}) c "
        f"USING ({_cols(locator)}) ORDER BY {_cols(identity(layout))}"
    )
