"""The clerks' 名寄せ decisions (名寄せ判定) and what they do to the candidates of a run.

Decisions arrive as upload sets of the ``nayose`` layout (:data:`jumin.core.layouts.NAYOSE`) and
are read from the accepted zone, which only ever grows (a set is content-addressed and never
modified):

- :func:`link_history`: every accepted decision row of a municipality, with who (判定者), when
  (判定日), why (理由) and its set, in history order: 判定日, then the set's 基準日 and set id,
  then file and line. Nothing in it is ever rewritten; a correction is a later row.
- :func:`effective_decisions`: per (lg_code, 宛名番号, 候補番号) the latest row: the decision in
  effect.
- :func:`apply_decisions`: the candidates (``schema.LINKS`` plus ``lg_code``) after the decisions
  in effect; decisions always win over scores (docs/review.md lists the rules).
- :func:`unmatched_decisions`: decisions in effect that name no candidate, or a record that
  does not exist, with a reason, so the caller can report them instead of losing them.

A decision names its pair only by (宛名番号, 候補番号), never by a row or rank number. The 候補番号
is a 住民票コード (11 digits) for a 住基 person, or ``<lg_code>-<宛名番号>`` for a 宛名 (another
municipality's or the municipality's own): :func:`candidate_number` and
:func:`parse_candidate_number`. A review file shows a candidate under 支援措置 that is another
municipality's 宛名 under a masked number instead (:func:`mask_number`: ``S`` and 21 hex digits
of an HMAC), since ``<lg_code>-`` would name the municipality; the lake keeps what each masked
number stands for (``Lake.review_masks``), and the history resolves it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa

from jumin.core import duck
from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.lake import Lake
from jumin.core.layouts import NAYOSE
from transform.reconcile.schema import LINKS

#: one row per accepted decision row, in history order (``seq`` = 1, 2, … as read)
HISTORY = pa.schema(
    [
        ("seq", pa.int64()),
        ("lg_code", pa.string()),
        ("atenabango", pa.string()),
        ("kohobango", pa.string()),  # the 候補番号 (a masked one resolved)
        ("kohobango_sent", pa.string()),  # as the clerk sent it
        # what the 候補番号 names; all three NULL when it is malformed
        ("juminhyokodo", pa.string()),
        ("target_lg_code", pa.string()),
        ("target_atenabango", pa.string()),
        ("hantei", pa.string()),
        ("hanteisha", pa.string()),
        ("hanteibi", pa.date32()),
        ("riyu", pa.string()),
        ("kijunbi", pa.date32()),  # the set's 基準日
        ("set_id", pa.string()),
        ("_file", pa.string()),
        ("_line", pa.int64()),
    ]
)

#: the latest row per pair, with how many rows the pair has and whether a 一致 came before it
EFFECTIVE = pa.schema([*HISTORY, ("decisions", pa.int64()), ("linked_before", pa.bool_())])

#: a decision in effect that could not be applied as written
UNMATCHED = pa.schema(
    [
        *(HISTORY.field(n) for n in ("lg_code", "atenabango", "kohobango_sent", "hantei", "hanteisha", "hanteibi")),
        *(HISTORY.field(n) for n in ("riyu", "set_id", "_file", "_line")),
        ("reason", pa.string()),
        ("reason_ja", pa.string()),
    ]
)

#: why a decision is in :func:`unmatched_decisions`
REASONS_JA = {
    "invalid_kohobango": "候補番号の形式が不正です (住民票コード11桁、または 団体コード-宛名番号)",
    "unknown_atenabango": "宛名番号が基準日の宛名にありません",
    "unknown_candidate": "候補番号の住基・宛名が見つかりません",
    "conflicting_match": "同じ宛名番号に、より後の一致の判定があります (後の判定を採用)",
    "no_link_to_undo": "解除する一致の判定がありません (不一致として扱います)",
    "not_a_candidate": "現在の候補にない組です (この組は今後も候補にしません)",
}

MATCH, NO_MATCH, HOLD, UNDO = "一致", "不一致", "保留", "解除"
_ATENA_NUMBER = re.compile(r"([0-9]{6})-([\x21-\x7e]{1,15})")
_JUMINHYOKODO = re.compile(r"[0-9]{11}")
_PAIR = ("lg_code", "atenabango", "kohobango")


def candidate_number(juminhyokodo: str | None, target_lg_code: str | None, target_atenabango: str | None) -> str:
    """The 候補番号 of a candidate: its 住民票コード, or ``<lg_code>-<宛名番号>``."""
    if juminhyokodo:
        return juminhyokodo
    if target_lg_code and target_atenabango:
        return f"{target_lg_code}-{target_atenabango}"
    raise ValueError("a candidate names a 住民票コード or a 宛名 (lg_code and 宛名番号)")


def parse_candidate_number(text: str | None) -> tuple[str | None, str | None, str | None]:
    """(住民票コード, lg_code, 宛名番号) named by a 候補番号; all None when it is malformed (the
    lg_code must carry a valid check digit)."""
    if text and _JUMINHYOKODO.fullmatch(text):
        return text, None, None
    m = _ATENA_NUMBER.fullmatch(text or "")
    if m and is_valid_lg_code(m.group(1)):
        return None, m.group(1), m.group(2)
    return None, None, None


#: first character of a masked 候補番号 (never a digit, so never a 住民票コード or an lg_code)
MASK_PREFIX = "S"


def mask_number(key: bytes, number: str) -> str:
    """The masked 候補番号 standing for ``number`` (22 characters, as the layout allows): the same
    number always gets the same mask, and without ``key`` the mask tells nothing of it."""
    return MASK_PREFIX + hmac.new(key, number.encode("utf-8"), hashlib.sha256).hexdigest()[:21]


def read_masks(lake: Lake, lg_code: str) -> dict[str, str]:
    """Masked 候補番号 → 候補番号, over every review folder of the municipality."""
    out: dict[str, str] = {}
    for path in lake.review_mask_files(lg_code):
        out.update(json.loads(path.read_text(encoding="utf-8")))
    return out


def candidate_number_sql(alias: str = "") -> str:
    """SQL of :func:`candidate_number` over LINKS columns (of table ``alias``)."""
    p = f"{alias}." if alias else ""
    return f"coalesce({p}juminhyokodo, {p}target_lg_code || '-' || {p}target_atenabango)"


# -- reading ---------------------------------------------------------------------------------


def link_history(lake_root: str | Path, lg_code: str, known_at: str | None = None) -> pa.Table:
    """Every accepted decision row of ``lg_code`` in history order (:data:`HISTORY`).

    With ``known_at`` (YYYY-MM-DD), only what was known then: rows whose 判定日 and whose set's
    基準日 are on or before it, so a rerun for an old 基準日 sees the decisions it saw before.
    No accepted set yet is an empty history (a municipality that has not decided anything).
    """
    lake = Lake.at(lake_root)
    files = lake.accepted_files(NAYOSE.name, lg_code)
    if not files:
        return HISTORY.empty_table()
    con = duck.connect()
    listed = "[" + ", ".join(duck.quote_literal(str(f)) for f in files) + "]"
    duck.run(con, "decisions_raw", f"CREATE TEMP TABLE decisions_raw AS SELECT * FROM read_parquet({listed})")
    sent = [r[0] for r in duck.rows(con, "kohobango", "SELECT DISTINCT kohobango FROM decisions_raw ORDER BY 1")]
    masks = read_masks(lake, lg_code)
    numbers = [masks.get(n, n) for n in sent]
    parsed = [parse_candidate_number(n) for n in numbers]
    con.register(
        "koho",
        pa.table(
            {
                "kohobango_sent": pa.array(sent, pa.string()),
                "kohobango": pa.array(numbers, pa.string()),
                "juminhyokodo": pa.array([p[0] for p in parsed], pa.string()),
                "target_lg_code": pa.array([p[1] for p in parsed], pa.string()),
                "target_atenabango": pa.array([p[2] for p in parsed], pa.string()),
            }
        ),
    )
    where = ""
    if known_at:
        k = f"DATE {duck.quote_literal(known_at)}"
        where = f"WHERE d.hanteibi <= {k} AND d.kijunbi <= {k}"
    return duck.arrow(con, "link_history", history_sql("decisions_raw", "koho", where)).cast(HISTORY)


def history_sql(decisions: str, koho: str, where: str = "") -> str:
    """The history rows of the accepted rows in ``decisions``, with ``koho`` (the 候補番号 as
    sent → the number it stands for and what that names) joined, numbered in history order."""
    order = "d.hanteibi, d.kijunbi, d.set_id, d._file, d._line"
    return (
        f"SELECT row_number() OVER (ORDER BY {order}) AS seq, d.lg_code, d.atenabango, k.kohobango, "
        "d.kohobango AS kohobango_sent, k.juminhyokodo, k.target_lg_code, k.target_atenabango, d.hantei, "
        "d.hanteisha, d.hanteibi, d.riyu, d.kijunbi, d.set_id, d._file, d._line "
        f"FROM {decisions} d JOIN {koho} k ON k.kohobango_sent = d.kohobango {where} ORDER BY seq"
    )


def effective_sql(history: str) -> str:
    """Per pair the latest row of ``history`` (a table with :data:`HISTORY` columns), with the
    pair's row count and whether a 一致 came before that row."""
    pair = ", ".join(_PAIR)
    return (
        f"SELECT *, count(*) OVER (PARTITION BY {pair}) AS decisions, "
        f"coalesce(count_if(hantei = '{MATCH}') OVER (PARTITION BY {pair} ORDER BY seq "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > 0, false) AS linked_before "
        f"FROM {history} QUALIFY row_number() OVER (PARTITION BY {pair} ORDER BY seq DESC) = 1 ORDER BY seq"
    )


def _register_effective(con: duckdb.DuckDBPyConnection, decisions: pa.Table) -> None:
    """Table ``eff``: the decisions in effect of a history table, or an effective table as it is."""
    if set(EFFECTIVE.names) <= set(decisions.column_names):
        con.register("eff_in", decisions.select(EFFECTIVE.names))
        duck.run(con, "eff", "CREATE TEMP TABLE eff AS SELECT * FROM eff_in")
        return
    con.register("history", decisions.select(HISTORY.names))
    duck.run(con, "eff", f"CREATE TEMP TABLE eff AS {effective_sql('history')}")


def effective_decisions(history: pa.Table) -> pa.Table:
    """The decision in effect per (lg_code, 宛名番号, 候補番号): the latest row of the history
    (:data:`EFFECTIVE`, in history order). Given an effective table, the same table."""
    con = duck.connect()
    _register_effective(con, history)
    return duck.arrow(con, "effective_decisions", "SELECT * FROM eff ORDER BY seq").cast(EFFECTIVE)


# -- applying --------------------------------------------------------------------------------


def _prepare(
    candidates: pa.Table, decisions: pa.Table, records: pa.Table | None
) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A connection with ``cand`` (the candidates with their 候補番号 ``_koho``), ``eff`` (the
    decisions in effect) and ``recs`` (record ids; NULL-free, empty when not given)."""
    missing = [n for n in ("lg_code", "atenabango", "juminhyokodo", "target_lg_code", "target_atenabango")
               if n not in candidates.column_names]  # fmt: skip
    if missing:
        raise ValueError(f"candidates lack {missing}: LINKS columns and lg_code are required")
    con = duck.connect()
    con.register("cand_in", candidates)
    duck.run(con, "cand", f"CREATE TEMP TABLE cand AS SELECT *, {candidate_number_sql()} AS _koho FROM cand_in")
    _register_effective(con, decisions)
    ids = records.select(["rec_id"]) if records is not None else pa.table({"rec_id": pa.array([], pa.string())})
    con.register("recs", ids)
    return con, list(candidates.column_names)


def _exists(alias: str) -> str:
    """SQL: both sides of decision ``alias``'s pair are records (recs)."""
    return (
        f"EXISTS (SELECT 1 FROM recs WHERE rec_id = {alias}.lg_code || ':' || {alias}.atenabango) AND "
        f"EXISTS (SELECT 1 FROM recs WHERE rec_id = coalesce({alias}.juminhyokodo, "
        f"{alias}.target_lg_code || ':' || {alias}.target_atenabango))"
    )


def apply_decisions(candidates: pa.Table, decisions: pa.Table, records: pa.Table | None = None) -> pa.Table:
    """The candidates after the clerks' decisions; decisions always win over scores.

    ``candidates`` are LINKS rows plus ``lg_code`` (further columns are kept, NULL on added
    rows); ``decisions`` is a :func:`link_history` or :func:`effective_decisions` table. Per
    pair, the decision in effect (the latest) says:

    - 一致: the pair becomes band ``auto``, method ``decision``; every other ``auto`` candidate
      of that 宛名 becomes ``review`` (at most one ``auto`` per 宛名: of several 一致 the latest
      wins, the others stay as ``review`` with their 一致). A 一致 pair that is not among the
      candidates is added (probability, weight and reasons NULL).
    - 不一致: the pair is removed, in this run and every later one while the decision stands.
    - 解除: the earlier link is undone; the pair is removed like 不一致 until a later 一致.
    - 保留: the pair is (or becomes) ``review``; not among the candidates, it is added.

    ``decision`` holds the 判定 in effect (一致/保留) and is NULL elsewhere. Ranks are numbered
    again per 宛名 (``auto`` first, then the scorer's order; added pairs last), so removed
    pairs leave no gap. With ``records`` (KEYED rows, for ``rec_id``), a pair is added only
    when both its records exist; :func:`unmatched_decisions` reports the rest.
    """
    con, columns = _prepare(candidates, decisions, records)
    check = _exists("e") if records is not None else "true"
    pair = "e.lg_code = c.lg_code AND e.atenabango = c.atenabango AND e.kohobango = c._koho"
    extra = [n for n in columns if n not in LINKS.names and n != "lg_code"]
    nulls = "".join(f", NULL AS {duck.quote_ident(n)}" for n in extra)
    sql = f"""
        WITH kept AS (
            SELECT c.* EXCLUDE (band, method, decision),
                   CASE e.hantei WHEN '{MATCH}' THEN 'auto' WHEN '{HOLD}' THEN 'review' ELSE c.band END AS band,
                   CASE WHEN e.hantei = '{MATCH}' THEN 'decision' ELSE c.method END AS method,
                   e.hantei AS decision, e.seq AS _seq, 0 AS _added
            FROM cand c LEFT JOIN eff e ON {pair}
            WHERE e.hantei IS NULL OR e.hantei IN ('{MATCH}', '{HOLD}')
        ), added AS (
            SELECT e.lg_code, e.atenabango, e.juminhyokodo, e.target_lg_code, e.target_atenabango,
                   CASE e.hantei WHEN '{MATCH}' THEN 'auto' ELSE 'review' END AS band,
                   NULL::DOUBLE AS match_probability, NULL::DOUBLE AS match_weight, 'decision' AS method,
                   NULL::INTEGER AS rank, NULL AS reasons, e.hantei AS decision{nulls},
                   e.kohobango AS _koho, e.seq AS _seq, 1 AS _added
            FROM eff e
            WHERE e.hantei IN ('{MATCH}', '{HOLD}')
              AND (e.juminhyokodo IS NOT NULL OR e.target_lg_code IS NOT NULL) AND {check}
              AND NOT EXISTS (SELECT 1 FROM cand c WHERE {pair})
        ), rows AS (
            SELECT * FROM kept UNION ALL BY NAME SELECT * FROM added
        ), matched AS (
            SELECT *, max(CASE WHEN decision = '{MATCH}' THEN _seq END)
                          OVER (PARTITION BY lg_code, atenabango) AS _match_seq
            FROM rows
        ), banded AS (
            SELECT * EXCLUDE (band),
                   CASE WHEN band = 'auto' AND _match_seq IS NOT NULL
                             AND (decision IS DISTINCT FROM '{MATCH}' OR _seq <> _match_seq)
                        THEN 'review' ELSE band END AS band
            FROM matched
        )
        SELECT * EXCLUDE (rank), row_number() OVER (
                   PARTITION BY lg_code, atenabango
                   ORDER BY band = 'auto' DESC, _added, rank NULLS LAST, match_probability DESC NULLS LAST, _koho
               ) AS rank
        FROM banded
    """
    out = duck.arrow(
        con,
        "applied_decisions",
        f"SELECT {', '.join(duck.quote_ident(n) for n in columns)} FROM ({sql}) ORDER BY lg_code, atenabango, rank",
    )
    return out.cast(candidates.schema)


def unmatched_decisions(candidates: pa.Table, decisions: pa.Table, records: pa.Table | None = None) -> pa.Table:
    """Decisions in effect that :func:`apply_decisions` could not apply as written, each with a
    reason (:data:`REASONS_JA`), in history order (:data:`UNMATCHED`).

    Always: a malformed 候補番号; a 一致 overruled by a later 一致 on the same 宛名; a 解除 with
    no 一致 before it; a 不一致 or 解除 of a pair that is not among the candidates (it stays in
    force). With ``records`` (KEYED rows): a 宛名番号 or 候補 that is no record.
    """
    con, _ = _prepare(candidates, decisions, records)
    own = "NOT EXISTS (SELECT 1 FROM recs WHERE rec_id = e.lg_code || ':' || e.atenabango)"
    other = (
        "NOT EXISTS (SELECT 1 FROM recs WHERE rec_id = "
        "coalesce(e.juminhyokodo, e.target_lg_code || ':' || e.target_atenabango))"
    )
    known = records is not None
    in_cand = "EXISTS (SELECT 1 FROM cand c WHERE e.lg_code = c.lg_code AND e.atenabango = c.atenabango "
    in_cand += "AND e.kohobango = c._koho)"
    later_match = (
        f"EXISTS (SELECT 1 FROM eff l WHERE l.lg_code = e.lg_code AND l.atenabango = e.atenabango "
        f"AND l.hantei = '{MATCH}' AND l.seq > e.seq)"
    )
    reason = f"""CASE
        WHEN e.juminhyokodo IS NULL AND e.target_lg_code IS NULL THEN 'invalid_kohobango'
        {f"WHEN {own} THEN 'unknown_atenabango' WHEN {other} THEN 'unknown_candidate'" if known else ""}
        WHEN e.hantei = '{MATCH}' AND {later_match} THEN 'conflicting_match'
        WHEN e.hantei = '{UNDO}' AND NOT e.linked_before THEN 'no_link_to_undo'
        WHEN e.hantei IN ('{NO_MATCH}', '{UNDO}') AND NOT {in_cand} THEN 'not_a_candidate'
    END"""
    labels = pa.table({"reason": list(REASONS_JA), "reason_ja": list(REASONS_JA.values())})
    con.register("reason_labels", labels)
    cols = ", ".join(f"u.{duck.quote_ident(n)}" for n in UNMATCHED.names if n not in ("reason", "reason_ja"))
    return duck.arrow(
        con,
        "unmatched_decisions",
        f"SELECT {cols}, u.reason, r.reason_ja FROM (SELECT e.*, {reason} AS reason FROM eff e) u "
        "JOIN reason_labels r USING (reason) ORDER BY u.seq",
    ).cast(UNMATCHED)
