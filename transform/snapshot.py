"""Point-in-time snapshots as SQL over accepted history rows.

Per person, the snapshot "as of 基準日 T, as known at K" is the latest row with 異動日 ≤ T and
処理日 ≤ K (latest by 異動日, then 履歴番号); a person whose latest row is a 消除 (転出, 死亡, …)
is absent. The 支援措置 list has no history rows: its snapshot is the measures in force on T.
"""

from __future__ import annotations

from jumin.layouts import IDOJIYU, Layout, idojiyu_group
from transform.duck import quote_ident, quote_literal

SHOJO_CODES = tuple(sorted(c for c in IDOJIYU if idojiyu_group(c) == "消除"))


def history_sql(layout: Layout, source: str) -> str:
    """One row per key across all accepted sets; a later set (基準日, then id) wins."""
    key = ", ".join(quote_ident(k) for k in layout.key)
    return (f"SELECT * FROM {source} QUALIFY row_number() OVER "
            f"(PARTITION BY {key} ORDER BY kijunbi DESC, set_id DESC) = 1")


def as_of_sql(layout: Layout, history: str, as_of: str, known_at: str) -> str:
    """The state of every present person on ``as_of`` as recorded by ``known_at``."""
    person = quote_ident(layout.person)
    shojo = ", ".join(quote_literal(c) for c in SHOJO_CODES)
    return (
        f"SELECT * EXCLUDE (kijunbi) FROM (SELECT * FROM {history} "
        f"WHERE idobi <= DATE {quote_literal(as_of)} "
        f"AND shoribi <= DATE {quote_literal(known_at)} "
        f"QUALIFY row_number() OVER (PARTITION BY {person} "
        f"ORDER BY idobi DESC, rirekibango DESC) = 1) "
        f"WHERE idojiyu NOT IN ({shojo}) ORDER BY {person}"
    )


def shien_in_force_sql(layout: Layout, history: str, as_of: str) -> str:
    """支援措置 in force on ``as_of`` (開始日 ≤ T ≤ 終了日), one row per person and start."""
    d = f"DATE {quote_literal(as_of)}"
    key = ", ".join(quote_ident(k) for k in layout.key)
    return (f"SELECT * EXCLUDE (kijunbi) FROM {history} "
            f"WHERE kaishibi <= {d} AND shuryobi >= {d} ORDER BY {key}")


def snapshot_sql(layout: Layout, source: str, as_of: str, known_at: str | None = None) -> str:
    """The full snapshot query for ``layout`` over accepted rows in ``source``."""
    history = f"({history_sql(layout, source)})"
    if layout.name == "shien":
        return shien_in_force_sql(layout, history, as_of)
    return as_of_sql(layout, history, as_of, known_at or as_of)
