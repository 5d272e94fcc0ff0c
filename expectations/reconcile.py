"""The discrepancy rules of reconciliation (突合), declared once as data.

Deterministic reconciliation compares each 住登者 宛名 with the 住基 person of the same
住民票コード on the same 基準日. The comparison runs over one joined frame, the 突合表 (columns
in :data:`FRAME_COLUMNS`, built by ``transform.reconcile.deterministic``): one row per 住登者
宛名 of a municipality and one per 住基 resident of it without a 宛名. Each :class:`DiscrepancyRule`
says which rows it looks at and what must hold there; the same list becomes one DuckDB query
(:func:`findings_sql`, the default engine) and a Great Expectations suite (:func:`build_suite`,
the reference), and a test demands identical findings from both.

Names are compared on their kanji keys (``transform.keys.kanji_key``), so a name written with
異体字 or IVS is not 氏名不一致 (D003); it is reported apart as H001 表記ゆれ, which is not a
discrepancy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from expectations import config as _config  # noqa: F401  (sets GX_ANALYTICS_ENABLED before GX loads)
from jumin.core.duck import quote_ident, quote_literal

Check = Literal["present", "equal"]

#: the 突合表: ``in_atena`` / ``juki_known`` / ``juki_here`` are "1" or "0"; ``a_*`` are the
#: 宛名's values, ``j_*`` the 住基's; ``*_key`` are the matching keys compared; every column is
#: text and never NULL ("" when missing), so both engines compare the same way
FRAME_COLUMNS = (
    "_row",
    "lg_code",
    "atenabango",
    "juminhyokodo",
    "in_atena",  # a 住登者 宛名 of this municipality carries the code
    "juki_known",  # the code appears in 住基 history (any municipality)
    "juki_here",  # the 住基 person is resident in this municipality on the 基準日
    "a_status",
    "j_status",  # the latest 住基 異動 of the person here (e.g. "20 死亡")
    "a_shimei",
    "a_shimei_key",
    "a_seinengappi",
    "a_seibetsu",
    "a_jusho",
    "a_jusho_key",
    "j_shimei",
    "j_shimei_key",
    "j_seinengappi",
    "j_seibetsu",
    "j_jusho",
    "j_jusho_key",
)


@dataclass(frozen=True)
class DiscrepancyRule:
    """One kind of discrepancy: where it is looked for (``when``: columns that must be "1"),
    what must hold there (``check``) and which columns a finding reports."""

    kind: str
    title: str
    item: str
    check: Check
    #: ``present``: the column that must be "1"; ``equal``: the two columns that must be equal
    columns: tuple[str, ...]
    when: tuple[str, ...]
    #: the 宛名's and the 住基's value reported with a finding
    values: tuple[str, str]
    #: a finding of this rule is dropped where the named rule also finds the row (H001 is a
    #: spelling difference only where the keys agree, i.e. where D003 does not fire)
    unless: str | None = None
    discrepancy: bool = True


BOTH = ("in_atena", "juki_here")

RULES: tuple[DiscrepancyRule, ...] = (
    DiscrepancyRule(
        "D001",
        "住基では消除済み (宛名は住登者のまま)",
        "idojiyu",
        "present",
        ("juki_here",),
        ("in_atena", "juki_known"),
        ("a_status", "j_status"),
    ),
    DiscrepancyRule(
        "D002",
        "住民票コードが住基にない",
        "juminhyokodo",
        "present",
        ("juki_known",),
        ("in_atena",),
        ("juminhyokodo", "j_status"),
    ),
    DiscrepancyRule(
        "D003", "氏名不一致", "shimei", "equal", ("a_shimei_key", "j_shimei_key"), BOTH, ("a_shimei", "j_shimei")
    ),
    DiscrepancyRule(
        "D004",
        "生年月日不一致",
        "seinengappi",
        "equal",
        ("a_seinengappi", "j_seinengappi"),
        BOTH,
        ("a_seinengappi", "j_seinengappi"),
    ),
    DiscrepancyRule(
        "D005", "性別不一致", "seibetsu", "equal", ("a_seibetsu", "j_seibetsu"), BOTH, ("a_seibetsu", "j_seibetsu")
    ),
    DiscrepancyRule(
        "D006", "住所不一致", "jusho", "equal", ("a_jusho_key", "j_jusho_key"), BOTH, ("a_jusho", "j_jusho")
    ),
    DiscrepancyRule(
        "D007",
        "住基の住民が宛名にない",
        "juminhyokodo",
        "present",
        ("in_atena",),
        ("juki_here",),
        ("a_status", "j_status"),
    ),
    DiscrepancyRule(
        "H001",
        "表記ゆれ (異体字・IVS のみの違い、不一致ではない)",
        "shimei",
        "equal",
        ("a_shimei", "j_shimei"),
        BOTH,
        ("a_shimei", "j_shimei"),
        unless="D003",
        discrepancy=False,
    ),
)
RULE_OF = {r.kind: r for r in RULES}


def rule_condition_sql(rule: DiscrepancyRule) -> str:
    """WHERE clause of the rows the rule finds."""
    where = [f"{quote_ident(c)} = '1'" for c in rule.when]
    if rule.check == "present":
        where.append(f"{quote_ident(rule.columns[0])} <> '1'")
    else:
        a, b = (quote_ident(c) for c in rule.columns)
        where.append(f"{a} <> {b}")
    if rule.unless is not None:
        where.append(f"NOT ({rule_condition_sql(RULE_OF[rule.unless])})")
    return " AND ".join(where)


def findings_sql(source: str, rules: tuple[DiscrepancyRule, ...] = RULES) -> str:
    """Every finding over the 突合表 ``source``: ``_row``, the keys, ``kind``, ``item`` and the two
    values, ordered by row then rule."""
    parts = []
    for order, rule in enumerate(rules):
        a, j = (quote_ident(c) for c in rule.values)
        parts.append(
            f"SELECT _row, lg_code, nullif(atenabango, '') AS atenabango, juminhyokodo, "
            f"{quote_literal(rule.kind)} AS kind, {quote_literal(rule.item)} AS item, "
            f"{a} AS atena_value, {j} AS juki_value, {order} AS _rule "
            f"FROM {source} WHERE {rule_condition_sql(rule)}"
        )
    return f"SELECT * EXCLUDE (_rule) FROM ({' UNION ALL '.join(parts)}) ORDER BY _row, _rule"


# -- Great Expectations reference


def _expectation(rule: DiscrepancyRule) -> Any:
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import AndCondition, Column, Condition

    conditions: list[Condition] = [Column(c) == "1" for c in rule.when]
    common: dict[str, Any] = {
        "row_condition": conditions[0] if len(conditions) == 1 else AndCondition(conditions=conditions),
        "meta": {"kind": rule.kind, "item": rule.item, "title": rule.title},
    }
    if rule.check == "present":
        return gx.expectations.ExpectColumnValuesToBeInSet(column=rule.columns[0], value_set=["1"], **common)
    return gx.expectations.ExpectColumnPairValuesToBeEqual(
        column_A=rule.columns[0], column_B=rule.columns[1], ignore_row_if="neither", **common
    )


def build_suite(rules: tuple[DiscrepancyRule, ...] = RULES) -> Any:
    """The reconciliation rules as a GX suite over the 突合表 (one expectation per rule)."""
    import great_expectations as gx

    return gx.ExpectationSuite(name="reconcile_v1", expectations=[_expectation(r) for r in rules])


def gx_findings(frame: Any, rules: tuple[DiscrepancyRule, ...] = RULES) -> list[tuple[int, str]]:
    """(``_row``, kind) of every finding of the suite run by Great Expectations on the pandas
    ``frame`` (the 突合表), ordered as :func:`findings_sql` orders them."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = context.data_sources.add_pandas("reconcile").add_dataframe_asset("taisho")
    suite = context.suites.add(build_suite(rules))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch.add_batch_definition_whole_dataframe("all"), suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"]},
    )
    hits: dict[str, set[int]] = {}
    for r in result.results:
        assert r.expectation_config is not None and r.expectation_config.meta is not None
        kind = str(r.expectation_config.meta["kind"])
        if r.exception_info.get("raised_exception"):
            raise RuntimeError(f"reconcile rule {kind} could not run: {r.exception_info.get('exception_message')}")
        hits[kind] = {int(h["_row"]) for h in ([] if r.success else r.result.get("unexpected_index_list") or [])}
    order = {r.kind: i for i, r in enumerate(rules)}
    out: list[tuple[int, str]] = []
    for rule in rules:
        rows = hits[rule.kind] - (hits[rule.unless] if rule.unless else set())
        out.extend((row, rule.kind) for row in rows)
    return sorted(out, key=lambda h: (h[0], order[h[1]]))
