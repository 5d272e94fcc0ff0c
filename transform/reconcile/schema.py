"""The tables of reconciliation, declared once: the keyed records every matcher reads and the
two outputs (links, discrepancies) that ``load`` stages. docs/reconcile.md documents them."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

Band = Literal["auto", "review"]
Method = Literal["juminhyokodo", "probabilistic", "decision"]

#: One row per comparable version of a person: a 宛名 record of the snapshot, or a 住基 person
#: (their snapshot row and, for name and address history, every earlier accepted version).
#: ``rec_id`` is ``<lg_code>:<atenabango>`` for 宛名 and the 住民票コード for 住基; keys are
#: empty strings, never NULL, when the item is missing, so equality needs no NULL logic.
KEYED = pa.schema(
    [
        ("rec_id", pa.string()),
        ("lg_code", pa.string()),  # the municipality of the record (宛名) or of the address (住基)
        ("atenabango", pa.string()),  # 宛名 only
        ("juminhyokodo", pa.string()),  # 住基, and 住登者 宛名
        ("jutokubun", pa.string()),  # 宛名: 1 住登者, 2 住登外者; 住基: ""
        ("version", pa.int32()),  # 0 = the record as of the 基準日, 1.. = older versions (history)
        ("shimei", pa.string()),  # as sent, for people to read
        ("shimei_furigana", pa.string()),
        ("uji_kanji", pa.string()),  # kanji_key of 氏
        ("na_kanji", pa.string()),  # kanji_key of 名
        ("uji_kana", pa.string()),  # kana_key of the フリガナ's 氏 part ("" when no フリガナ)
        ("na_kana", pa.string()),
        ("seibetsu", pa.string()),
        ("birth_year", pa.int32()),  # parts of 生年月日 (also of a 不詳 date's text); NULL unknown
        ("birth_month", pa.int32()),
        ("birth_day", pa.int32()),
        ("seinengappi_text", pa.string()),  # as sent
        ("jusho_shikuchosonkodo", pa.string()),
        ("choaza", pa.string()),  # choaza_key of the 町字
        ("banchi", pa.string()),  # banchi_key of the 番地号 tail ("1-2-3")
        ("jusho", pa.string()),  # the address as one line, as sent (never shown across municipalities)
    ]
)

#: One reason of a candidate: an item compared, how it agreed, and the weight (log2 Bayes factor)
REASON = pa.struct([("item", pa.string()), ("agreement", pa.string()), ("weight", pa.float64())])

#: ``reconcile/links/kijunbi=<d>/lg_code=<c>/part-0.parquet``: the 住基 person (or the other
#: municipality's 宛名) each 宛名 is linked to or a candidate of. Several ``review`` rows per 宛名
#: are allowed; at most one ``auto``.
LINKS = pa.schema(
    [
        ("atenabango", pa.string()),
        ("juminhyokodo", pa.string()),  # the 住基 person; NULL for a 宛名↔宛名 link
        ("target_lg_code", pa.string()),  # the other 宛名 of a 宛名↔宛名 link, else NULL
        ("target_atenabango", pa.string()),
        ("band", pa.string()),  # auto | review
        ("match_probability", pa.float64()),
        ("match_weight", pa.float64()),
        ("method", pa.string()),  # juminhyokodo | probabilistic | decision
        ("rank", pa.int32()),  # 1 = best candidate of this 宛名
        ("reasons", pa.list_(REASON)),
        ("decision", pa.string()),  # the clerk's effective 判定 on this pair (一致/不一致/保留/解除), else NULL
    ]
)

#: ``reconcile/discrepancies/kijunbi=<d>/lg_code=<c>/part-0.parquet``
DISCREPANCIES = pa.schema(
    [
        ("atenabango", pa.string()),  # NULL for D007 (no 宛名)
        ("juminhyokodo", pa.string()),
        ("kind", pa.string()),  # D001..D007, H001 表記ゆれ (not a discrepancy)
        ("item", pa.string()),  # romaji of the standard item compared
        ("atena_value", pa.string()),
        ("juki_value", pa.string()),
    ]
)
