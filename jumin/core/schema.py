"""The typed Parquet schema of each layout, derived from its declaration."""

from __future__ import annotations

import pyarrow as pa

from jumin.core.duck import quote_ident
from jumin.core.layouts import Item, Layout

#: lineage columns carried by every accepted row
LINEAGE = (
    ("lg_code", pa.string()),
    ("kijunbi", pa.date32()),
    ("set_id", pa.string()),
    ("_file", pa.string()),
    ("_line", pa.int64()),
)

_ARROW = {"X": pa.string(), "N": pa.string(), "9": pa.int32(), "DATE": pa.date32()}
_DUCK = {"X": "VARCHAR", "N": "VARCHAR", "9": "INTEGER", "DATE": "DATE"}


def text_column(item: Item) -> str | None:
    """Name of the extra column keeping the original text of a 不詳-capable date."""
    return f"{item.romaji}_text" if item.fusho_flag else None


def arrow_schema(layout: Layout) -> pa.Schema:
    """Schema of accepted rows: typed items, raw text for 不詳 dates, then lineage."""
    fields: list[pa.Field] = []
    for item in layout.items:
        fields.append(pa.field(item.romaji, _ARROW[item.type]))
        if (t := text_column(item)) is not None:
            fields.append(pa.field(t, pa.string()))
    fields.extend(pa.field(n, t) for n, t in LINEAGE)
    return pa.schema(fields)


def typed_select_sql(layout: Layout, source: str) -> str:
    """SELECT turning validated text rows of ``source`` into the typed schema.

    Only rows that passed validation reach this, so casts are strict, except for 不詳 dates,
    where a non-calendar value becomes NULL and the text column keeps what was sent.
    """
    cols = []
    for item in layout.items:
        q = quote_ident(item.romaji)
        if item.fusho_flag:
            cols.append(f"TRY_CAST({q} AS DATE) AS {q}")
            cols.append(f"{q} AS {quote_ident(text_column(item) or '')}")
        elif item.type in ("9", "DATE"):
            cols.append(f"CAST({q} AS {_DUCK[item.type]}) AS {q}")
        else:
            cols.append(q)
    cols += [n for n, _ in LINEAGE]
    return f"SELECT {', '.join(cols)} FROM {source} ORDER BY _file, _line"


#: lineage columns of accepted rows left out of snapshot files: the municipality is a partition
#: key, and the set's 基準日 would clash with the snapshot's own ``kijunbi`` key (``set_id`` and
#: the manifest's inputs keep the lineage)
PARTITION_KEYS = ("kijunbi", "lg_code")


def snapshot_schema(layout: Layout) -> pa.Schema:
    """Schema of a staged snapshot file: accepted rows without the partition keys."""
    schema = arrow_schema(layout)
    for name in PARTITION_KEYS:
        schema = schema.remove(schema.get_field_index(name))
    return schema


def delta_schema(layout: Layout, compared: list[str]) -> pa.Schema:
    """Schema of a staged delta file: the kind of change, the items that changed, then the
    compared items (new values; last values seen for removed rows)."""
    typed = arrow_schema(layout)
    return pa.schema(
        [
            pa.field("change", pa.string()),
            pa.field("changed_items", pa.list_(pa.string())),
            *(typed.field(c) for c in compared),
        ]
    )
