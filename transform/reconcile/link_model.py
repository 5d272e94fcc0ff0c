"""The linking model of :mod:`transform.reconcile.link`: comparisons, blocking rules, training
and the stored model file (a Splink settings JSON with the trained parameters).

Everything here is declared once and turned into Splink settings: the comparisons (their
levels' labels are what ``reasons`` show), the blocking rules by name (chosen in
:class:`transform.config.LinkConfig`), and which levels are hard conflicts (never ``auto``).
docs/linking.md explains them for operators.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from jumin.core.duck import rows, run
from jumin.core.errors import TerminalError
from jumin.core.files import atomic_write_text
from transform.config import LinkConfig

log = logging.getLogger(__name__)

#: source dataset names in Splink's pairs: the 宛名 side and the 住基 side
ATENA = "atena"
JUKI = "juki"
#: Splink's linker id in the stored model (a random one would change the file on every run)
LINKER_UID = "jumin_link"


class LinkModelMismatch(TerminalError):
    """The stored model was trained with other comparisons than this code builds: remove the
    model file (the next run trains again) or run the version that wrote it."""


class UnknownBlockingRule(TerminalError, ValueError):
    """``LinkConfig.blocking`` names a rule :data:`BLOCKING` does not have."""


# ---------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Level:
    """One agreement level of a comparison: its label (shown in ``reasons``), its SQL over the
    ``_l``/``_r`` columns, the column whose term frequency adjusts its weight, and whether a
    pair on this level is a hard conflict (never ``auto``)."""

    label: str
    sql: str
    tf: str | None = None
    conflict: bool = False


@dataclass(frozen=True)
class Comparison:
    """One item compared: its name in ``reasons`` and its levels, most specific first. The
    first level is the null level (the item missing on either side: weight 0)."""

    item: str
    description: str
    levels: tuple[Level, ...]

    def gamma(self, index: int) -> int:
        """Splink's comparison vector value of level ``index``: -1 for the null level, then
        n-2 … 0 from the most specific level down to the else level."""
        return -1 if index == 0 else len(self.levels) - 1 - index


def _name(item: str, part: str, description: str) -> Comparison:
    """氏 or 名: the kanji key and the kana key in one comparison, because they are not
    independent evidence (equal kanji nearly always read the same; counting both would
    count a common name twice). Equal kanji is one level whether the フリガナ agrees or is
    missing, so its term-frequency adjustment (佐藤 counts for less than 五十嵐) applies to the
    pairs that really carry the name; equal kanji read differently is a level of its own.

    "類似" is one character off in the kanji key (an 異体字 the key does not fold, a typo) or a
    Jaro-Winkler similarity of the kana keys of at least 0.9: on names of two kanji a
    Jaro-Winkler score cannot tell one wrong character from a different name.
    """
    k, r = f"{part}_kanji", f"{part}_kana"
    kl, kr, rl, rr = f"{k}_l", f"{k}_r", f"{r}_l", f"{r}_r"
    return Comparison(
        item,
        description,
        (
            Level("不明", f"({kl} IS NULL OR {kr} IS NULL) AND ({rl} IS NULL OR {rr} IS NULL)"),
            Level("漢字一致・カナ相違", f"{kl} = {kr} AND {rl} <> {rr}"),
            Level("漢字一致", f"{kl} = {kr}", tf=k),
            Level("カナ一致・漢字相違", f"{rl} = {rr}"),
            Level(
                "類似",
                f"(least(length({kl}), length({kr})) >= 2 AND levenshtein({kl}, {kr}) = 1)"
                f" OR jaro_winkler_similarity({rl}, {rr}) >= 0.9",
            ),
            Level("相違", "ELSE"),
        ),
    )


def _birth() -> Comparison:
    """生年月日 by its parts (a 不詳 date may have the year only). A date that differs without
    a day/month swap to explain it is a hard conflict: a namesake born a few days apart is
    another person far more often than a typo."""
    y, m, d = "birth_year", "birth_month", "birth_day"
    eq = {c: f"{c}_l = {c}_r" for c in (y, m, d)}
    parts_known = " AND ".join(f"{c}_{side} IS NOT NULL" for c in (m, d) for side in "lr")
    return Comparison(
        "seinengappi",
        "生年月日: year, month and day",
        (
            Level("不明", f"{y}_l IS NULL OR {y}_r IS NULL"),
            Level("一致", f"{eq[y]} AND {eq[m]} AND {eq[d]}"),
            Level("日月入替", f"{eq[y]} AND {m}_l = {d}_r AND {d}_l = {m}_r"),
            Level("年一致・月日不明", f"{eq[y]} AND NOT ({parts_known})"),
            Level(
                "1項目相違",
                f"({eq[y]} AND {eq[m]}) OR ({eq[y]} AND {eq[d]}) OR ({eq[m]} AND {eq[d]})",
                conflict=True,
            ),
            Level("年のみ一致", eq[y], conflict=True),
            Level("相違", "ELSE", conflict=True),
        ),
    )


def _sex() -> Comparison:
    return Comparison(
        "seibetsu",
        "性別 (0 不明 counts as missing)",
        (
            Level("不明", "seibetsu_l IS NULL OR seibetsu_r IS NULL"),
            Level("一致", "seibetsu_l = seibetsu_r"),
            Level("相違", "ELSE", conflict=True),
        ),
    )


def _address() -> Comparison:
    return Comparison(
        "jusho",
        "住所: 市区町村コード, 町字 key, 番地 key",
        (
            Level("不明", "shi_l IS NULL OR shi_r IS NULL"),
            Level("番地まで一致", "shi_l = shi_r AND choaza_l = choaza_r AND banchi_l = banchi_r"),
            Level("町字まで一致", "shi_l = shi_r AND choaza_l = choaza_r"),
            Level("市区町村一致", "shi_l = shi_r"),
            Level("相違", "ELSE"),
        ),
    )


#: the items compared, in the order of ``reasons``
COMPARISONS: tuple[Comparison, ...] = (
    _name("uji", "uji", "氏: kanji key and kana key"),
    _name("na", "na", "名: kanji key and kana key"),
    _birth(),
    _sex(),
    _address(),
)
#: m of 住所's levels (番地, 町字, 市区町村, 相違) before any 住登外者 is counted, and how many
#: pairs that guess weighs: a 住登外者 mostly lives where the 住基 says (a former resident, a
#: taxpayer) but not always (a DV victim, a move the 宛名 has not caught up with)
ADDRESS_PRIOR = (0.80, 0.02, 0.08, 0.10)
ADDRESS_PRIOR_PAIRS = 50.0


def comparison_dicts() -> list[dict[str, Any]]:
    """The comparisons as Splink settings (no parameters yet)."""
    out = []
    for c in COMPARISONS:
        levels: list[dict[str, Any]] = []
        for i, lv in enumerate(c.levels):
            level: dict[str, Any] = {"sql_condition": lv.sql, "label_for_charts": lv.label}
            if i == 0:
                level["is_null_level"] = True
            if lv.tf:
                level["tf_adjustment_column"] = lv.tf
                level["tf_adjustment_weight"] = 1.0
            levels.append(level)
        out.append({"output_column_name": c.item, "comparison_description": c.description, "comparison_levels": levels})
    return out


# ------------------------------------------------------------------------------- blocking

_DATE = (("birth_year", "birth_year"), ("birth_month", "birth_month"), ("birth_day", "birth_day"))
_SWAPPED = (("birth_year", "birth_year"), ("birth_month", "birth_day"), ("birth_day", "birth_month"))
#: a date part of the pair agrees, or the date is 不詳 on one side
_PART_AGREES = (
    "(l.birth_month = r.birth_month OR l.birth_day = r.birth_day"
    " OR l.birth_month IS NULL OR r.birth_month IS NULL OR l.birth_day IS NULL OR r.birth_day IS NULL)"
)


@dataclass(frozen=True)
class Rule:
    """A blocking rule: (left column, right column) pairs that must be equal (the join), and a
    condition on the joined pair."""

    on: tuple[tuple[str, str], ...]
    where: str = ""


def _eq(*cols: str) -> tuple[tuple[str, str], ...]:
    return tuple((c, c) for c in cols)


#: blocking rules by name. Each pairs few records (a whole birth date and a name part, or a
#: whole name and part of the date), so the comparisons grow with the records, not with
#: their square: 1.2 pairs per 住登外者 against 100k 住基 persons, 3.2 against 1M (the sample
#: generator, whose few names collide far more often than real ones).
BLOCKING: Mapping[str, Rule] = {
    "birth_uji_kanji": Rule((*_DATE, *_eq("uji_kanji"))),
    "birth_na_kanji": Rule((*_DATE, *_eq("na_kanji"))),
    "birth_uji_kana": Rule((*_DATE, *_eq("uji_kana"))),
    "birth_na_kana": Rule((*_DATE, *_eq("na_kana"))),
    "swapped_uji_kanji": Rule((*_SWAPPED, *_eq("uji_kanji"))),
    "swapped_na_kanji": Rule((*_SWAPPED, *_eq("na_kanji"))),
    # a day or a month typed wrong, or a 不詳 date: the year, the whole name, and one part
    "year_name_kanji": Rule(_eq("birth_year", "uji_kanji", "na_kanji"), _PART_AGREES),
    "year_name_kana": Rule(_eq("birth_year", "uji_kana", "na_kana"), _PART_AGREES),
    # a year typed wrong
    "month_day_name_kanji": Rule(_eq("birth_month", "birth_day", "uji_kanji", "na_kanji")),
}


def blocking_sql(name: str, extra: str = "") -> str:
    """The SQL of the blocking rule ``name`` over ``l.``/``r.`` columns, with an extra condition."""
    if name not in BLOCKING:
        raise UnknownBlockingRule(f"unknown blocking rule {name!r}; known: {', '.join(BLOCKING)}")
    rule = BLOCKING[name]
    return " AND ".join([*(f"l.{a} = r.{b}" for a, b in rule.on), *(c for c in (rule.where, extra) if c)])


def settings(link_type: str, prior: float, rules: Iterable[str]) -> dict[str, Any]:
    """Splink settings of an untrained model with these blocking rules (SQL)."""
    return {
        "link_type": link_type,
        "unique_id_column_name": "uid",
        "source_dataset_column_name": "source_dataset",
        "probability_two_random_records_match": prior,
        "comparisons": comparison_dicts(),
        "blocking_rules_to_generate_predictions": [{"blocking_rule": r} for r in rules],
        # gamma_ (the level of each item) is kept only with the matching columns
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
        "linker_uid": LINKER_UID,
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }


# ------------------------------------------------------------------------------- the file


def _rounded(obj: Any) -> Any:
    """Floats with 12 significant digits: the last bits of a parallel sum do not reach the
    file, and the model predicts the same whether it was just trained or read back."""
    if isinstance(obj, float):
        return float(f"{obj:.12g}")
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def model_text(model: Mapping[str, Any]) -> str:
    """The model file's text: parameters rounded, keys sorted, indented, one final newline
    (Python's float repr is the shortest that reads back the same, so the text is stable)."""
    return json.dumps(_rounded(dict(model)), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _structure(model: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (c["output_column_name"], [(lv["label_for_charts"], lv["sql_condition"]) for lv in c["comparison_levels"]])
        for c in model["comparisons"]
    ]


def read_model(path: Path) -> dict[str, Any]:
    """The stored model, checked against the comparisons this code builds."""
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if _structure(model) != _structure({"comparisons": comparison_dicts()}):
        raise LinkModelMismatch(f"{path}: trained with other comparisons than this version builds")
    return model


# ------------------------------------------------------------------------------- Splink


def linker(con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]], model: Mapping[str, Any]) -> Any:
    """A Splink linker over tables of ``con`` given as (table, source dataset name)."""
    from splink import DuckDBAPI, Linker

    db = DuckDBAPI(connection=con)
    frames = [db.register(table, dataset_display_name=name) for table, name in tables]
    return Linker(frames if len(frames) > 1 else frames[0], dict(model), log_level=None)


#: the columns the comparisons read (``<col>_l`` and ``<col>_r`` in their SQL)
MODEL_COLUMNS = (
    "uji_kanji", "na_kanji", "uji_kana", "na_kana", "seibetsu",
    "birth_year", "birth_month", "birth_day", "shi", "choaza", "banchi",
)  # fmt: skip
#: per comparison, the keys a 住登外者 and a 住基 person must share (every other item) to be
#: counted as one person when measuring how this item agrees on true pairs
OTHER_ITEMS: Mapping[str, tuple[str, ...]] = {
    "uji": ("na_kanji", "birth_year", "birth_month", "birth_day", "shi", "choaza", "banchi"),
    "na": ("uji_kanji", "birth_year", "birth_month", "birth_day", "shi", "choaza", "banchi"),
    "seinengappi": ("uji_kanji", "na_kanji", "shi", "choaza", "banchi"),
    "seibetsu": ("uji_kanji", "na_kanji", "birth_year", "birth_month", "birth_day"),
    "jusho": ("uji_kanji", "na_kanji", "birth_year", "birth_month", "birth_day"),
}
#: how many pairs the labelled 住登者 weigh as the prior of a comparison's m (住所: ADDRESS_PRIOR)
LABEL_PRIOR_PAIRS = 200.0


def _level_sql(c: Comparison) -> str:
    """The index of the level a pair (``<col>_l``, ``<col>_r`` columns) is on; 0 is the null level."""
    whens = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(c.levels) if lv.sql != "ELSE")
    return f"CASE {whens} ELSE {len(c.levels) - 1} END"


def level_counts(
    con: duckdb.DuckDBPyConnection, atena: str, juki: str, c: Comparison, on: str, unique: bool
) -> list[int]:
    """How many pairs of ``atena`` × ``juki`` joined ``on`` fall on each non-null level of
    ``c``: per 宛名 and 住基 person the version on the most specific level; with ``unique``
    only 宛名 that the join pairs with one person."""
    cols = ", ".join(f"a.{x} AS {x}_l, j.{x} AS {x}_r" for x in MODEL_COLUMNS)
    keep = "QUALIFY count(*) OVER (PARTITION BY a_uid) = 1" if unique else ""
    counts = dict(
        rows(
            con,
            f"m of {c.item}",
            f"""
            WITH hit AS (
                SELECT a.uid AS a_uid, j.juminhyokodo, j.version, {cols}
                FROM {atena} a JOIN {juki} j ON {on}
            ), lv AS (
                SELECT a_uid, juminhyokodo, version, {_level_sql(c)} AS level FROM hit
            ), best AS (
                SELECT * FROM lv
                QUALIFY row_number() OVER (PARTITION BY a_uid, juminhyokodo ORDER BY level = 0, level, version) = 1
            ), one AS (SELECT * FROM best {keep})
            SELECT level, count(*) FROM one WHERE level > 0 GROUP BY level
            """,
        )
    )
    return [int(counts.get(i, 0)) for i in range(1, len(c.levels))]


def _m(counted: Sequence[int], prior: Sequence[float], weight: float) -> list[float]:
    """m of each non-null level: the pairs counted on it, plus ``weight`` pairs spread as
    ``prior``, plus one pseudo-pair (a level nothing reached is unlikely, not impossible)."""
    total = sum(counted) + weight + len(counted)
    return [(n + weight * p + 1.0) / total for n, p in zip(counted, prior, strict=True)]


def _shares(counts: Sequence[int]) -> list[float]:
    n = sum(counts)
    return [x / n for x in counts] if n else [1.0 / len(counts)] * len(counts)


def _eq_sql(keys: Iterable[str]) -> str:
    return " AND ".join(f"a.{k} = j.{k}" for k in keys)


def train(
    con: duckdb.DuckDBPyConnection,
    atena: str,
    juki: str,
    labelled: str | None,
    prior: float,
    config: LinkConfig,
) -> dict[str, Any]:
    """A trained model: u by seeded random sampling of 宛名 × 住基 pairs; m counted on known
    pairs (``config.training`` "counted") or by EM ("em").

    Counted m: for each item, the 住登外者 paired with the one 住基 person that agrees with it
    on every *other* item (:data:`OTHER_ITEMS`; nearly always the same person), so each item's
    corruptions are measured on the population being linked, whatever the other items do.
    The labelled 住登者 (their own 住基 person by 住民票コード) are the prior of 氏, 名, 生年月日
    and 性別, worth :data:`LABEL_PRIOR_PAIRS` pairs: they carry the same kinds of differences,
    but fewer (their 宛名 are copied from the 住基 in the same office). 住所's prior is
    :data:`ADDRESS_PRIOR`: a 住登者 lives at its 住基 address, a 住登外者 often does not.
    """
    model = settings("link_only", prior, [blocking_sql(b) for b in config.blocking])
    left = atena
    if labelled is not None:
        left = "__link_train"
        union = f"SELECT * FROM {atena} UNION ALL SELECT * FROM {labelled}"
        run(con, left, f"CREATE OR REPLACE TEMP TABLE {left} AS {union}")
    link = linker(con, [(left, ATENA), (juki, JUKI)], model)
    link.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
    if config.training == "counted":
        trained: dict[str, Any] = link.misc.save_model_to_json()
        counted = {}
        for c, spec in zip(COMPARISONS, trained["comparisons"], strict=True):
            pseudo = level_counts(con, atena, juki, c, _eq_sql(OTHER_ITEMS[c.item]), unique=True)
            prior_m: Sequence[float] = [0.0] * len(pseudo)
            weight = 0.0
            if c.item == "jusho":
                prior_m, weight = ADDRESS_PRIOR, ADDRESS_PRIOR_PAIRS
            elif labelled is not None:
                labels = level_counts(con, labelled, juki, c, "a.juminhyokodo = j.juminhyokodo", unique=False)
                prior_m, weight = _shares(labels), min(float(sum(labels)), LABEL_PRIOR_PAIRS)
            levels = [lv for lv in spec["comparison_levels"] if not lv.get("is_null_level")]
            for lv, m in zip(levels, _m(pseudo, prior_m, weight), strict=True):
                lv["m_probability"] = m
            counted[c.item] = sum(pseudo)
        log.info("linking model: m counted on 住登外者 pairs %s", counted)
    else:
        for rule in config.em_blocking:
            link.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True, max_pairs=config.em_max_pairs
            )
        trained = link.misc.save_model_to_json()
        for c in trained["comparisons"]:  # a level EM never saw: rare, not impossible
            for lv in c["comparison_levels"]:
                if not lv.get("is_null_level") and not isinstance(lv.get("m_probability"), float | int):
                    lv["m_probability"] = 1e-6
    for c in trained["comparisons"]:  # a level no random pair reached: rarer than the sample shows
        for lv in c["comparison_levels"]:
            if not lv.get("is_null_level") and not isinstance(lv.get("u_probability"), float | int):
                lv["u_probability"] = 0.5 / config.u_max_pairs
    trained["probability_two_random_records_match"] = prior
    trained["linker_uid"] = LINKER_UID
    return trained


def load_or_train(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    tables: tuple[str, str, str | None],
    prior: float,
    config: LinkConfig,
) -> dict[str, Any]:
    """The model stored at ``path`` if there is one, else a newly trained one (``tables`` =
    宛名, 住基, labelled), written there atomically and read back as stored, so a first run
    and a rerun predict with the same numbers."""
    if path.exists():
        return read_model(path)
    text = model_text(train(con, *tables, prior, config))
    atomic_write_text(path, text)
    model: dict[str, Any] = json.loads(text)
    return model
