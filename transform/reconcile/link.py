"""Probabilistic linking of 住登外者 (Fellegi–Sunter, Splink on DuckDB).

A 住登外者 宛名 carries no local 住民票コード, so it is linked to the 住基 by its 基本4情報.
Each 宛名 is compared with the 住基 persons a blocking rule pairs it with; every version of a
person (the state on the 基準日, older names and addresses from the history) is compared and
the best version is the person's score. Candidates are ranked per 宛名 and banded:

* ``auto``: the best candidate, at or above ``auto_weight``, with no hard conflict (a
  different 生年月日 that no day/month swap explains, a different known 性別) and no second
  candidate within ``ambiguity_margin``; at most one per 宛名;
* ``review``: other candidates at or above ``review_weight`` (or close to the best one), up
  to ``top_k``, when the 宛名 has no ``auto`` link;
* the rest are dropped.

Then the 住登外者 left without an ``auto`` link are compared with each other across
municipalities (the same model, a second smaller run): persons the 住基 does not hold (they
live outside the lake's municipalities) known to several municipalities. Two 住登外者 linked
to one 住基 person are linked through it and get no row of their own.

Every row carries ``reasons``: the prior and each item's agreement level with its weight;
they add up to ``match_weight``. The model (comparisons and blocking: :mod:`link_model`) is
trained once per 基準日 and stored; docs/linking.md is the operator's guide.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from jumin.core.duck import arrow, quote_ident, rows, run, scalar
from jumin.core.errors import TerminalError
from transform.config import LinkConfig
from transform.reconcile import link_model as lm
from transform.reconcile.schema import LINKS

log = logging.getLogger(__name__)

#: the output: LINKS and the 宛名's municipality, by which the caller partitions
LINKS_WITH_LG = pa.schema([pa.field("lg_code", pa.string()), *LINKS])

_PREPARED = """
    CREATE OR REPLACE TEMP TABLE {name} AS
    SELECT {uid} AS uid, rec_id, lg_code, NULLIF(atenabango, '') AS atenabango,
        NULLIF(juminhyokodo, '') AS juminhyokodo, version,
        NULLIF(uji_kanji, '') AS uji_kanji, NULLIF(na_kanji, '') AS na_kanji,
        NULLIF(uji_kana, '') AS uji_kana, NULLIF(na_kana, '') AS na_kana,
        CASE WHEN seibetsu IN ('1', '2') THEN seibetsu END AS seibetsu,
        birth_year,
        CASE WHEN birth_year IS NOT NULL THEN birth_month END AS birth_month,
        CASE WHEN birth_year IS NOT NULL THEN birth_day END AS birth_day,
        NULLIF(jusho_shikuchosonkodo, '') AS shi, NULLIF(choaza, '') AS choaza, NULLIF(banchi, '') AS banchi
    FROM {table} {where}
"""


def _prepare(con: duckdb.DuckDBPyConnection, name: str, table: str, uid: str, where: str = "") -> int:
    """The model's columns of a KEYED table (empty keys as NULL, 性別 0 as NULL), one row per
    ``uid``; returns the row count."""
    run(con, name, _PREPARED.format(name=name, uid=uid, table=table, where=where))
    n, distinct = rows(con, name, f"SELECT count(*), count(DISTINCT uid) FROM {name}")[0]
    if n != distinct:
        raise TerminalError(f"{table}: {n - distinct} records repeat the record id (and version) of another")
    return int(n)


def _prepare_inputs(
    con: duckdb.DuckDBPyConnection, atena: str, juki: str, labelled: str | None, config: LinkConfig
) -> tuple[int, int]:
    """``__link_atena`` (version 0 of the 住登外者), ``__link_juki`` (every version, uid
    ``<住民票コード>#<version>``) and, when given, ``__link_labelled`` (a stable sample of the
    住登者 whose 住民票コード is in the 住基). Returns the numbers of 宛名 and 住基 persons."""
    n_atena = _prepare(con, "__link_atena", quote_ident(atena), "rec_id", "WHERE version = 0")
    _prepare(con, "__link_juki", quote_ident(juki), "juminhyokodo || '#' || version", "WHERE juminhyokodo <> ''")
    persons = int(scalar(con, "__link_juki", "SELECT count(DISTINCT juminhyokodo) FROM __link_juki"))
    if labelled is not None:
        _prepare(
            con,
            "__link_labelled",
            quote_ident(labelled),
            "'L:' || rec_id",
            "WHERE version = 0 AND juminhyokodo IN (SELECT juminhyokodo FROM __link_juki)"
            f" ORDER BY md5(rec_id), rec_id LIMIT {int(config.max_labels)}",
        )
    return n_atena, persons


# ------------------------------------------------------------------------------- scoring


def _prior_weight(n: int) -> float:
    """The match weight of the prior 1/n (before any item is compared)."""
    p = 1.0 / max(n, 1)
    return math.log2(p / (1.0 - p)) if p < 1.0 else 0.0


def _weights_sql(model: Mapping[str, Any]) -> str:
    """Per item its level (gamma_) and weight w_ (log2 Bayes factor, with the term-frequency
    adjustment where the level has one)."""
    tf_items = {
        c["output_column_name"]
        for c in model["comparisons"]
        if any(lv.get("tf_adjustment_column") for lv in c["comparison_levels"])
    }
    parts = []
    for c in lm.COMPARISONS:
        w = f"p.mw_{c.item}" + (f" + coalesce(p.mw_tf_adj_{c.item}, 0)" if c.item in tf_items else "")
        parts.append(f"p.gamma_{c.item}, ({w})::DOUBLE AS w_{c.item}")
    return ", ".join(parts)


def _conflict_sql() -> str:
    terms = []
    for c in lm.COMPARISONS:
        values = [str(c.gamma(i)) for i, lv in enumerate(c.levels) if lv.conflict]
        if values:
            terms.append(f"gamma_{c.item} IN ({', '.join(values)})")
    return f"coalesce({' OR '.join(terms)}, false)"


def _reasons_sql(prior_label: str, prior_weight: float) -> str:
    items = [f"struct_pack(item := 'prior', agreement := '{prior_label}', weight := {prior_weight!r}::DOUBLE)"]
    for c in lm.COMPARISONS:
        whens = " ".join(f"WHEN {c.gamma(i)} THEN '{lv.label}'" for i, lv in enumerate(c.levels))
        items.append(
            f"struct_pack(item := '{c.item}', agreement := CASE gamma_{c.item} {whens} END, weight := w_{c.item})"
        )
    return f"list_value({', '.join(items)})"


def _predict(link: Any, config: LinkConfig) -> str:
    """Splink's scored pairs (a table in the connection), down to the lowest weight a band
    can use: the review threshold, or the best candidate's ambiguity margin."""
    floor = min(config.review_weight, config.auto_weight - config.ambiguity_margin)
    return str(link.inference.predict(threshold_match_weight=floor, warning_mode="never").physical_name)


def _band(con: duckdb.DuckDBPyConnection, name: str, candidates: str, config: LinkConfig) -> None:
    """Rank the candidates (``target``) of each 宛名 (``a_uid``), best first, and band them
    (module docstring); ``band`` is NULL for a dropped candidate."""
    auto, review, margin, k = config.auto_weight, config.review_weight, config.ambiguity_margin, config.top_k
    run(
        con,
        name,
        f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        WITH ranked AS (
            SELECT *, row_number() OVER (PARTITION BY a_uid ORDER BY match_weight DESC, target) AS rank,
                {_conflict_sql()} AS conflict
            FROM {candidates}
        ), neighbours AS (
            SELECT *, lead(match_weight) OVER w AS w_next, first_value(match_weight) OVER w AS w_best
            FROM ranked WINDOW w AS (PARTITION BY a_uid ORDER BY rank)
        ), autos AS (
            SELECT *, rank = 1 AND match_weight >= {auto!r} AND NOT conflict
                AND coalesce(w_next < match_weight - {margin!r}, true) AS is_auto
            FROM neighbours
        ), flagged AS (
            SELECT *, bool_or(is_auto) OVER (PARTITION BY a_uid) AS has_auto FROM autos
        )
        SELECT *, CASE
                WHEN is_auto THEN 'auto'
                WHEN NOT has_auto AND rank <= {int(k)} AND w_best >= {review!r}
                    AND (match_weight >= {review!r} OR match_weight >= w_best - {margin!r}) THEN 'review'
            END AS band
        FROM flagged
        """,
    )


def _links_sql(banded: str, targets: str, prior_label: str, prior_weight: float) -> str:
    return f"""
        SELECT lg_code, atenabango, {targets}, band, match_probability::DOUBLE AS match_probability,
            match_weight::DOUBLE AS match_weight, 'probabilistic' AS method, rank::INT AS rank,
            {_reasons_sql(prior_label, prior_weight)} AS reasons, NULL::VARCHAR AS decision
        FROM {banded} WHERE band IS NOT NULL
    """


# ------------------------------------------------------------------------------- the runs


def _juki_links(con: duckdb.DuckDBPyConnection, model: dict[str, Any], persons: int, config: LinkConfig) -> str:
    """宛名 ↔ 住基: ``__link_juki_banded`` (one row per 宛名 and 住基 person, its best version);
    returns the SQL of its LINKS rows."""
    model = dict(model, probability_two_random_records_match=1.0 / persons)
    model["blocking_rules_to_generate_predictions"] = [{"blocking_rule": lm.blocking_sql(b)} for b in config.blocking]
    pred = _predict(lm.linker(con, [("__link_atena", lm.ATENA), ("__link_juki", lm.JUKI)], model), config)
    run(
        con,
        "__link_juki_cand",
        f"""
        CREATE OR REPLACE TEMP TABLE __link_juki_cand AS
        WITH p AS (
            SELECT CASE WHEN source_dataset_l = '{lm.ATENA}' THEN uid_l ELSE uid_r END AS a_uid,
                CASE WHEN source_dataset_l = '{lm.ATENA}' THEN uid_r ELSE uid_l END AS j_uid, *
            FROM {pred}
        )
        SELECT a.lg_code, a.atenabango, a.uid AS a_uid, j.juminhyokodo AS target, j.version,
            p.match_weight, p.match_probability, {_weights_sql(model)}
        FROM p JOIN __link_atena a ON a.uid = p.a_uid JOIN __link_juki j ON j.uid = p.j_uid
        QUALIFY row_number() OVER (PARTITION BY a.uid, j.juminhyokodo ORDER BY p.match_weight DESC, j.version) = 1
        """,
    )
    run(con, pred, f"DROP TABLE {pred}")
    _band(con, "__link_juki_banded", "__link_juki_cand", config)
    targets = "target AS juminhyokodo, NULL::VARCHAR AS target_lg_code, NULL::VARCHAR AS target_atenabango"
    return _links_sql("__link_juki_banded", targets, f"1/{persons}", _prior_weight(persons))


def _atena_links(con: duckdb.DuckDBPyConnection, model: dict[str, Any], config: LinkConfig) -> str | None:
    """宛名 ↔ 宛名 across municipalities among the 住登外者 the 住基 run left without an
    ``auto`` link; a pair gives a row to each side. Returns the SQL of its LINKS rows."""
    run(
        con,
        "__link_unlinked",
        "CREATE OR REPLACE TEMP TABLE __link_unlinked AS SELECT * FROM __link_atena"
        " WHERE uid NOT IN (SELECT a_uid FROM __link_juki_banded WHERE band = 'auto')",
    )
    n = int(scalar(con, "__link_unlinked", "SELECT count(*) FROM __link_unlinked"))
    if n < 2:
        return None
    model = dict(model, link_type="dedupe_only", probability_two_random_records_match=1.0 / n)
    model["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": lm.blocking_sql(b, "l.lg_code <> r.lg_code")} for b in config.blocking
    ]
    pred = _predict(lm.linker(con, [("__link_unlinked", lm.ATENA)], model), config)
    run(
        con,
        "__link_atena_cand",
        f"""
        CREATE OR REPLACE TEMP TABLE __link_atena_cand AS
        WITH p AS (
            SELECT uid_l AS a_uid, uid_r AS b_uid, * FROM {pred}
            UNION ALL BY NAME
            SELECT uid_r AS a_uid, uid_l AS b_uid, * FROM {pred}
        )
        SELECT a.lg_code, a.atenabango, a.uid AS a_uid, b.uid AS target, b.lg_code AS target_lg_code,
            b.atenabango AS target_atenabango, p.match_weight, p.match_probability, {_weights_sql(model)}
        FROM p JOIN __link_atena a ON a.uid = p.a_uid JOIN __link_atena b ON b.uid = p.b_uid
        """,
    )
    run(con, pred, f"DROP TABLE {pred}")
    _band(con, "__link_atena_banded", "__link_atena_cand", config)
    targets = "NULL::VARCHAR AS juminhyokodo, target_lg_code, target_atenabango"
    return _links_sql("__link_atena_banded", targets, f"1/{n}", _prior_weight(n))


def _quiet_splink() -> None:
    """Splink logs its training steps at INFO and warns of levels labels did not reach (they
    are smoothed here): leave only its errors, unless the caller set a level for it."""
    splink_log = logging.getLogger("splink")
    if splink_log.level == logging.NOTSET:
        splink_log.setLevel(logging.ERROR)


def link_jutogaisha(
    con: duckdb.DuckDBPyConnection,
    atena_table: str,
    juki_table: str,
    labelled_table: str | None,
    model_path: Path,
    config: LinkConfig | None = None,
) -> pa.Table:
    """Link the 住登外者 宛名 of ``atena_table`` to the 住基 persons of ``juki_table``, then to
    each other across municipalities (module docstring).

    The tables are in ``con`` and conform to ``schema.KEYED``: version 0 of ``atena_table``
    is linked (the caller passes its 住登外者); every version of ``juki_table`` is compared.
    ``labelled_table`` holds 住登者 宛名 with their 住民票コード, whose pairs with the 住基
    train m (``config.training``); None trains by EM. The model is read from ``model_path``
    when the file exists, so a rerun gives the same rows; otherwise it is trained and written
    there atomically (``link_model.model_text``). With no 住基 records there is nothing to
    train on and no row is returned.

    Returns :data:`LINKS_WITH_LG` rows (method ``probabilistic``, ``decision`` NULL) ordered
    by lg_code, atenabango, 住基 candidates before 宛名 ones, rank.
    """
    config = config or LinkConfig()
    for name in config.blocking:
        lm.blocking_sql(name)  # an unknown name fails before any work
    _quiet_splink()
    try:
        table = _link(con, atena_table, juki_table, labelled_table, model_path, config)
    finally:
        _drop_work_tables(con)
    bands = Counter(table["band"].to_pylist())
    to_atena = table.num_rows - table["target_atenabango"].null_count
    log.info("linking: %d auto and %d review rows, %d of them to other 宛名", bands["auto"], bands["review"], to_atena)
    return table


def _link(
    con: duckdb.DuckDBPyConnection,
    atena_table: str,
    juki_table: str,
    labelled_table: str | None,
    model_path: Path,
    config: LinkConfig,
) -> pa.Table:
    train_on = labelled_table if config.training == "counted" and not model_path.exists() else None
    n_atena, persons = _prepare_inputs(con, atena_table, juki_table, train_on, config)
    if n_atena == 0 or persons == 0:
        return LINKS_WITH_LG.empty_table()
    labelled = "__link_labelled" if train_on is not None else None
    model = lm.load_or_train(con, model_path, ("__link_atena", "__link_juki", labelled), 1.0 / persons, config)
    parts = [_juki_links(con, model, persons, config)]
    if config.atena_links:
        atena_part = _atena_links(con, model, config)
        if atena_part is not None:
            parts.append(atena_part)
    union = " UNION ALL ".join(f"({p})" for p in parts)
    table = arrow(
        con,
        "links",
        f"SELECT * FROM ({union}) ORDER BY lg_code, atenabango, juminhyokodo IS NULL, rank,"
        " juminhyokodo, target_lg_code, target_atenabango",
    )
    return table.cast(LINKS_WITH_LG)


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop this module's work tables and the ones Splink left (term frequencies), so the
    caller's connection holds no more than before."""
    found = rows(
        con,
        "work tables",
        "SELECT table_name FROM duckdb_tables()"
        " WHERE starts_with(table_name, '__link_') OR starts_with(table_name, '__splink__')",
    )
    for (name,) in found:
        run(con, name, f"DROP TABLE IF EXISTS {quote_ident(name)}")


def count_comparisons(
    con: duckdb.DuckDBPyConnection, atena_table: str, juki_table: str, config: LinkConfig | None = None
) -> int:
    """The number of 宛名 × 住基 version pairs the blocking rules of ``config`` compare (exact,
    by Splink's blocking analysis): a check that the rules keep the work near linear."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    config = config or LinkConfig()
    _quiet_splink()
    _prepare_inputs(con, atena_table, juki_table, None, config)
    from splink import DuckDBAPI

    db = DuckDBAPI(connection=con)
    frames = [
        db.register("__link_atena", dataset_display_name=lm.ATENA),
        db.register("__link_juki", dataset_display_name=lm.JUKI),
    ]
    counts = count_comparisons_from_blocking_rules(
        frames,
        blocking_rules=[lm.blocking_sql(b) for b in config.blocking],
        link_type="link_only",
        unique_id_column_name="uid",
        source_dataset_column_name="source_dataset",
        record_sample_proportion=1.0,
    )
    return int(counts[-1]["cumulative_comparison_count"])
