"""Deltas between two snapshots of a layout, as SQL: what a SaaS team applies instead of a
full reload.

One row per person (per key for 支援措置) that was added, removed or changed; ``changed_items``
lists the items whose values differ (lineage such as set and line is not compared). Added and
changed rows carry the new values, removed rows the last values seen.
"""

from __future__ import annotations

from jumin.core.duck import quote_ident
from jumin.core.layouts import Layout
from jumin.core.schema import text_column
from transform.snapshot import identity


def compared_items(layout: Layout) -> list[str]:
    """Columns whose change makes a row "changed": the items and the text of 不詳 dates."""
    out = []
    for item in layout.items:
        out.append(item.romaji)
        if (t := text_column(item)) is not None:
            out.append(t)
    return out


def delta_sql(layout: Layout, old: str, new: str) -> str:
    """Rows of ``new`` vs ``old`` that were added, removed or changed, ordered by identity."""
    return keyed_delta_sql(identity(layout), compared_items(layout), old, new)


def keyed_delta_sql(ids: tuple[str, ...], items: list[str], old: str, new: str) -> str:
    """Rows of ``new`` vs ``old`` (rows identified by ``ids``) that were added, removed or
    changed in one of ``items``: ``change``, ``changed_items``, then the items (new values;
    the last values seen for removed rows), ordered by ``ids``."""
    on = " AND ".join(f"o.{quote_ident(c)} = n.{quote_ident(c)}" for c in ids)
    first = quote_ident(ids[0])
    diffs = [f"CASE WHEN o.{quote_ident(c)} IS DISTINCT FROM n.{quote_ident(c)} THEN '{c}' END" for c in items]
    values = [
        f"CASE WHEN n.{first} IS NULL THEN o.{quote_ident(c)} ELSE n.{quote_ident(c)} END AS {quote_ident(c)}"
        for c in items
    ]
    change = f"CASE WHEN o.{first} IS NULL THEN 'added' WHEN n.{first} IS NULL THEN 'removed' ELSE 'changed' END"
    order = ", ".join(quote_ident(c) for c in ids)
    return (
        f"SELECT * FROM (SELECT {change} AS change, "
        f"CASE WHEN o.{first} IS NULL OR n.{first} IS NULL THEN []::VARCHAR[] ELSE "
        f"list_filter([{', '.join(diffs)}], lambda x: x IS NOT NULL) END AS changed_items, "
        f"{', '.join(values)} FROM {old} o FULL OUTER JOIN {new} n ON {on}) "
        f"WHERE change <> 'changed' OR len(changed_items) > 0 ORDER BY {order}"
    )
