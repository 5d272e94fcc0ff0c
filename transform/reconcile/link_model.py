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

from jumin.core.duck import run, scalar
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
#: comparisons whose m the labelled 住登者 pairs give; 住所 comes from the 住登外者 themselves
LABELLED_ITEMS = ("uji", "na", "seinengappi", "seibetsu")
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


def _smooth(comparison: dict[str, Any], n: float, prior: Sequence[float] | None = None, weight: float = 0.0) -> None:
    """m of one comparison's levels counted on ``n`` pairs, plus pseudo-pairs: one per level
    (so a level no pair reached, a 性別 that differs, is unlikely rather than impossible), or
    ``weight`` pairs spread as ``prior``."""
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    spread = [weight * p for p in prior] if prior is not None else [1.0] * len(levels)
    total = n + sum(spread)
    for lv, extra in zip(levels, spread, strict=True):
        m = lv.get("m_probability")
        counted = m * n if isinstance(m, float | int) else 0.0
        lv["m_probability"] = (counted + extra) / total


def _m_from_pairs(
    link: Any, table: str, n: int, items: Iterable[str], prior: Sequence[float] | None = None, weight: float = 0.0
) -> dict[str, dict[str, Any]]:
    """The comparisons ``items`` with m counted on the labelled pairs in ``table``."""
    link.training.estimate_m_from_pairwise_labels(table)
    out = {}
    for c in link.misc.save_model_to_json()["comparisons"]:
        if c["output_column_name"] in items:
            _smooth(c, n, prior, weight)
            out[c["output_column_name"]] = c
    return out


def label_pairs(con: duckdb.DuckDBPyConnection, labelled: str, juki: str) -> int:
    """``__link_label_pairs``: each labelled 住登者 宛名 with the version of its own 住基 person
    that agrees on most keys (a 宛名 not updated after a move or a marriage agrees with an
    older version). Returns the number of pairs."""
    keys = ("uji_kanji", "na_kanji", "birth_year", "birth_month", "birth_day", "shi", "choaza", "banchi")
    score = " + ".join(f"(coalesce(a.{c} = j.{c}, false))::INT" for c in keys)
    run(
        con,
        "__link_label_pairs",
        f"""
        CREATE OR REPLACE TEMP TABLE __link_label_pairs AS
        SELECT '{ATENA}' AS source_dataset_l, a.uid AS uid_l, '{JUKI}' AS source_dataset_r, j.uid AS uid_r
        FROM {labelled} a JOIN {juki} j ON j.juminhyokodo = a.juminhyokodo
        QUALIFY row_number() OVER (PARTITION BY a.uid ORDER BY {score} DESC, j.version) = 1
        """,
    )
    return int(scalar(con, "__link_label_pairs", "SELECT count(*) FROM __link_label_pairs"))


def _address_pairs(con: duckdb.DuckDBPyConnection, atena: str, juki: str) -> int:
    """``__link_address_pairs``: each 住登外者 with the one 住基 person agreeing on both kanji
    name keys and the whole birth date (its version with the closest address), nearly always
    the same person; their address agreement gives 住所's m. Returns the number of pairs."""
    run(
        con,
        "__link_address_pairs",
        f"""
        CREATE OR REPLACE TEMP TABLE __link_address_pairs AS
        WITH hit AS (
            SELECT a.uid AS a_uid, j.uid AS j_uid, j.juminhyokodo, j.version,
                coalesce(a.shi = j.shi, false)::INT + coalesce(a.choaza = j.choaza, false)::INT
                    + coalesce(a.banchi = j.banchi, false)::INT AS address_score
            FROM {atena} a JOIN {juki} j
                ON a.uji_kanji = j.uji_kanji AND a.na_kanji = j.na_kanji AND a.birth_year = j.birth_year
                AND a.birth_month = j.birth_month AND a.birth_day = j.birth_day
        ), best AS (
            SELECT * FROM hit
            QUALIFY row_number() OVER (PARTITION BY a_uid, juminhyokodo ORDER BY address_score DESC, version) = 1
        )
        SELECT '{ATENA}' AS source_dataset_l, a_uid AS uid_l, '{JUKI}' AS source_dataset_r, j_uid AS uid_r
        FROM best QUALIFY count(*) OVER (PARTITION BY a_uid) = 1
        """,
    )
    return int(scalar(con, "__link_address_pairs", "SELECT count(*) FROM __link_address_pairs"))


def train(
    con: duckdb.DuckDBPyConnection,
    atena: str,
    juki: str,
    labelled: str | None,
    n_labels: int,
    prior: float,
    config: LinkConfig,
) -> dict[str, Any]:
    """A trained model: u by seeded random sampling of 宛名 × 住基 pairs, m from labelled
    pairs (``config.training`` "labels" with at least ``min_labels`` pairs) or by EM.

    With labels, 氏, 名, 生年月日 and 性別 take m from the 住登者 宛名 paired with their own 住基
    person (``__link_label_pairs``): their 宛名 differ from the 住基 the way 住登外者 do (異体字,
    missing or misspelt フリガナ, swapped dates). 住所 takes m from the 住登外者 themselves
    (:func:`_address_pairs`, with :data:`ADDRESS_PRIOR`): a 住登者 lives at the 住基 address,
    a 住登外者 often does not.
    """
    model = settings("link_only", prior, [blocking_sql(b) for b in config.blocking])
    use_labels = labelled is not None and config.training == "labels" and n_labels >= config.min_labels
    left = atena
    if use_labels:
        left = "__link_train"
        run(
            con,
            left,
            f"CREATE OR REPLACE TEMP TABLE {left} AS SELECT * FROM {atena} UNION ALL SELECT * FROM {labelled}",
        )
    link = linker(con, [(left, ATENA), (juki, JUKI)], model)
    link.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
    if use_labels:
        by_item = _m_from_pairs(link, "__link_label_pairs", n_labels, LABELLED_ITEMS)
        n_address = _address_pairs(con, atena, juki)
        by_item |= _m_from_pairs(
            link, "__link_address_pairs", n_address, ("jusho",), ADDRESS_PRIOR, ADDRESS_PRIOR_PAIRS
        )
        trained: dict[str, Any] = link.misc.save_model_to_json()
        trained["comparisons"] = [by_item[c["output_column_name"]] for c in trained["comparisons"]]
        log.info("linking model: m from %d labelled 住登者 pairs, 住所 from %d 住登外者 pairs", n_labels, n_address)
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
        log.info("linking model: m by EM (%d labelled pairs, %d needed)", n_labels, config.min_labels)
    trained["probability_two_random_records_match"] = prior
    trained["linker_uid"] = LINKER_UID
    return trained


def load_or_train(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    tables: tuple[str, str, str | None],
    n_labels: int,
    prior: float,
    config: LinkConfig,
) -> dict[str, Any]:
    """The model stored at ``path`` if there is one, else a newly trained one (``tables`` =
    宛名, 住基, labelled), written there atomically and read back as stored, so a first run
    and a rerun predict with the same numbers."""
    if path.exists():
        return read_model(path)
    text = model_text(train(con, *tables, n_labels, prior, config))
    atomic_write_text(path, text)
    model: dict[str, Any] = json.loads(text)
    return model
