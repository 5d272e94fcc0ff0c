"""Delivery contracts: the example files load, every refusal rule fires with its message, schema
violations name the JSON path, contracts round-trip, and the output checks generated from a
contract find the same violations in Great Expectations and in DuckDB."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expectations.contract import (
    contract_checks,
    duck_contract_findings,
    gx_contract_findings,
)
from jumin.core.contract import (
    DERIVED_ITEMS,
    HOUSEHOLD_ITEMS,
    PERSON_ID,
    Contract,
    ContractItem,
    QualityRule,
    RowFilter,
    age_on,
    birth_bounds,
)
from jumin.core.errors import TerminalError
from jumin.core.layouts import ATENA
from load.deliver.contract import (
    API_VERSION,
    ContractRefused,
    contract_document,
    dump_contract,
    example_contracts,
    load_contract,
)
from load.deliver.privacy import SUPPRESSED_ITEMS

pytestmark = pytest.mark.unit

EXAMPLES = example_contracts()
KIJUNBI = dt.date(2026, 11, 1)
Doc = dict[str, Any]


def example(name: str) -> Doc:
    doc: Doc = yaml.safe_load(EXAMPLES[name].read_text(encoding="utf-8"))
    return doc


def write(folder: Path, doc: Doc, name: str = "contract.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def custom(doc: Doc, key: str, value: Any) -> Doc:
    """``doc`` with the customProperties entry ``key`` set to ``value`` (added if absent)."""
    for p in doc["customProperties"]:
        if p["property"] == key:
            p["value"] = value
            return doc
    doc["customProperties"].append({"property": key, "value": value})
    return doc


def add_item(doc: Doc, name: str, label: str, source: str = "atena", **extra: Any) -> Doc:
    # every property names its logicalType: without one, the bundled ODCS schema's conditional
    # for logicalType map applies and asks for ``map``
    logical = "date" if name == "kaishibi" else "string"
    doc["schema"][0]["properties"].append(
        {"name": name, "businessName": label, "logicalType": logical, "transformSourceObjects": [source], **extra}
    )
    return doc


def row_filter(doc: Doc, **keys: Any) -> Doc:
    for p in doc["customProperties"]:
        if p["property"] == "rowFilter":
            p["value"] = {**p["value"], **keys}
    return doc


# -- the examples


@pytest.mark.unit
def test_both_examples_load() -> None:
    assert set(EXAMPLES) == {"vaccination_65plus", "child_benefit", "kenko_annai"}
    v = load_contract(EXAMPLES["vaccination_65plus"])
    assert (v.id, v.delivery, v.row_filter.min_age, v.row_filter.jutokubun) == (
        "vaccination_65plus",
        "full",
        65,
        ("1",),
    )
    assert {i.label_ja for i in v.items} >= {"氏名", "氏名_フリガナ", "生年月日", "性別", "住所_郵便番号"}
    assert any("予防接種法" in b for b in v.legal_basis) and v.purpose
    assert not (v.allow_kojinbango or v.allow_sansho_fuka or v.households) and v.dv_address_basis is None
    c = load_contract(EXAMPLES["child_benefit"])
    # 世帯番号 and 続柄 are atena layout items (the households work adds them): checked against
    # the real layout when the file is read
    assert [c.item(n).label_ja for n in HOUSEHOLD_ITEMS] == ["世帯番号", "続柄"]
    assert all(c.item(n).source == "atena" and n in ATENA.romaji for n in HOUSEHOLD_ITEMS)
    assert c.households and c.row_filter.household_heads and c.row_filter.max_age == 18 and c.delivery == "delta"
    assert c.item("age").label_ja == "年齢"
    assert c.columns[0] == PERSON_ID
    # opting out: a statutory service does not allow it, the notice services do
    k = load_contract(EXAMPLES["kenko_annai"])
    assert (v.opt_out, c.opt_out, k.opt_out) == (False, True, True)
    assert k.row_filter.min_age == 40 and any("健康増進法" in b for b in k.legal_basis)


@pytest.mark.unit
def test_examples_are_odcs_v3_1() -> None:
    for path in EXAMPLES.values():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert (doc["apiVersion"], doc["kind"]) == (API_VERSION, "DataContract") == ("v3.1.0", "DataContract")


# -- refusals: one broken file per rule, made from an example


def _unknown_item(d: Doc) -> Doc:
    return add_item(d, "ketsuekigata", "血液型")


def _kojinbango_without_flag(d: Doc) -> Doc:
    return add_item(d, "kojinbango", "個人番号")


def _kojinbango_without_bangoho(d: Doc) -> Doc:
    return custom(add_item(d, "kojinbango", "個人番号"), "allowKojinbango", True)


def _kojinbango_flag_without_bangoho(d: Doc) -> Doc:
    return custom(d, "allowKojinbango", True)


def _sansho_fuka_without_jukiho(d: Doc) -> Doc:
    return custom(d, "allowSanshoFuka", True)


def _dv_basis_not_listed(d: Doc) -> Doc:
    return custom(d, "dvAddressBasis", "配偶者暴力防止法")


def _required_address(d: Doc) -> Doc:
    d["schema"][0]["properties"][-1]["required"] = True  # 住所_郵便番号
    return d


def _wrong_label(d: Doc) -> Doc:
    d["schema"][0]["properties"][0]["businessName"] = "名前"
    return d


def _shien_item(d: Doc) -> Doc:
    return add_item(d, "kaishibi", "開始日", source="shien")


def _person_id_item(d: Doc) -> Doc:
    return add_item(d, PERSON_ID, "個人ID")


def _households_mismatch(d: Doc) -> Doc:
    return custom(d, "households", True)


def _household_items_without_flag(d: Doc) -> Doc:
    return add_item(d, "zokugara", "続柄")


def _unknown_custom(d: Doc) -> Doc:
    return custom(d, "retention", "1y")


def _twice(d: Doc) -> Doc:
    return add_item(d, "shimei", "氏名")


def _no_purpose(d: Doc) -> Doc:
    del d["description"]["purpose"]
    return d


def _empty_basis(d: Doc) -> Doc:
    return custom(d, "legalBasis", [])


def _sql_quality(d: Doc) -> Doc:
    d["schema"][0]["quality"].append({"type": "sql", "query": "SELECT 1", "mustBe": 1})
    return d


def _unknown_delivery(d: Doc) -> Doc:
    return custom(d, "delivery", "weekly")


def _wrong_type(d: Doc) -> Doc:
    d["schema"][0]["properties"][2]["logicalType"] = "string"  # 生年月日 is a date
    return d


REFUSALS: list[tuple[str, Callable[[Doc], Doc], str | None, str]] = [
    ("unknown item", _unknown_item, "ketsuekigata", "no such item (項目) in the atena layout"),
    ("個人番号 without the flag", _kojinbango_without_flag, "kojinbango", "allowKojinbango is not true"),
    (
        "個人番号 without 番号法",
        _kojinbango_without_bangoho,
        "kojinbango",
        "個人番号 may be delivered only under 番号法",
    ),
    ("allowKojinbango without 番号法", _kojinbango_flag_without_bangoho, None, "only under 番号法"),
    ("他業務参照不可 without 住基法", _sansho_fuka_without_jukiho, None, "only under 住基法 (住民基本台帳法)"),
    ("DV basis not among the bases", _dv_basis_not_listed, None, "支援措置 may be released only under a basis"),
    ("required address", _required_address, "jusho_yubinbango", "cannot be required"),
    ("wrong Japanese label", _wrong_label, "shimei", "is not the item's Japanese name '氏名'"),
    ("支援措置 list item", _shien_item, "kaishibi", "not a layout delivered to SaaS"),
    ("person_id as an item", _person_id_item, PERSON_ID, "pseudonymous id"),
    ("households without 世帯 items", _households_mismatch, None, "households is true but no 世帯 item"),
    ("世帯 item without households", _household_items_without_flag, None, "need households: true"),
    ("unknown customProperty", _unknown_custom, None, "unknown customProperties entry 'retention'"),
    ("item twice", _twice, "shimei", "asked for twice"),
    ("no purpose", _no_purpose, None, "利用目的"),
    ("no legal basis", _empty_basis, None, "legalBasis (根拠法令)"),
    ("unsupported quality rule", _sql_quality, None, "only library metrics are supported"),
    ("unknown delivery mode", _unknown_delivery, None, "unknown delivery mode 'weekly'"),
    ("logicalType against the layout", _wrong_type, "seinengappi", "the layout's item is date"),
]
MALFORMED_FILTERS: list[tuple[dict[str, Any], str]] = [
    ({"minAge": -1}, "minAge (年齢 on the 基準日) must be a whole number"),
    ({"minAge": "65"}, "minAge (年齢 on the 基準日) must be a whole number"),
    ({"minAge": 70, "maxAge": 65}, "minAge 70 is above maxAge 65"),
    ({"lgCodes": ["131015"]}, "'131015' is no 6-digit 全国地方公共団体コード"),
    ({"lgCodes": [131016]}, "131016 is no 6-digit"),
    ({"lgCodes": []}, "lgCodes must be a non-empty list"),
    ({"jutokubun": ["3"]}, "jutokubun (住登区分)"),
    ({"jutokubun": "1"}, "jutokubun (住登区分)"),
    ({"ages": [65]}, "unknown key(s) ages"),
    ({"householdHeads": True}, "householdHeads (世帯主) needs households: true"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("rule", "breaks", "item", "why"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusal(tmp_path: Path, rule: str, breaks: Callable[[Doc], Doc], item: str | None, why: str) -> None:
    path = write(tmp_path, breaks(example("vaccination_65plus")))
    with pytest.raises(ContractRefused) as e:
        load_contract(path)
    assert isinstance(e.value, TerminalError)
    assert str(path) in str(e.value) and why in str(e.value), str(e.value)
    assert e.value.item == item
    if item is not None:
        assert f"item {item!r}" in str(e.value)


@pytest.mark.unit
@pytest.mark.parametrize(("keys", "why"), MALFORMED_FILTERS, ids=[w for _, w in MALFORMED_FILTERS])
def test_malformed_filter_refused(tmp_path: Path, keys: dict[str, Any], why: str) -> None:
    path = write(tmp_path, row_filter(example("vaccination_65plus"), **keys))
    with pytest.raises(ContractRefused, match="malformed rowFilter") as e:
        load_contract(path)
    assert str(path) in str(e.value) and why in str(e.value), str(e.value)


@pytest.mark.unit
def test_what_the_bases_allow(tmp_path: Path) -> None:
    """The same requests load once the basis names the law."""
    d = _kojinbango_without_bangoho(_required_address(example("vaccination_65plus")))
    d = custom(
        _sansho_fuka_without_jukiho(d), "legalBasis", ["予防接種法", "番号法 第9条 別表", "住民基本台帳法 第30条の15"]
    )
    d = custom(d, "dvAddressBasis", "住民基本台帳法 第30条の15")
    c = load_contract(write(tmp_path, d))
    assert c.allow_kojinbango and c.allow_sansho_fuka and c.item("kojinbango").label_ja == "個人番号"
    assert c.dv_address_basis == "住民基本台帳法 第30条の15" and c.item("jusho_yubinbango").required
    full_name = "行政手続における特定の個人を識別するための番号の利用等に関する法律 第9条"
    d = custom(_kojinbango_without_bangoho(example("vaccination_65plus")), "legalBasis", [full_name])
    assert load_contract(write(tmp_path, d)).legal_basis == (full_name,)


# -- schema violations name the file and the JSON path


SCHEMA_BREAKS: list[tuple[Callable[[Doc], None], str]] = [
    (lambda d: d.__setitem__("version", 1), "at $.version: 1 is not of type 'string'"),
    (lambda d: d.pop("kind"), "at $: 'kind' is a required property"),
    (lambda d: d["schema"][0]["properties"][2].__setitem__("required", "yes"), "at $.schema[0].properties[2].required"),
    (lambda d: d["schema"][0]["properties"][1].__setitem__("colour", "red"), "at $.schema[0].properties[1]: "),
    (lambda d: d["customProperties"][0].pop("value"), "at $.customProperties[0]: 'value' is a required property"),
    (lambda d: d.__setitem__("apiVersion", "v9.9.9"), "at $.apiVersion"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("breaks", "where"), SCHEMA_BREAKS, ids=[w for _, w in SCHEMA_BREAKS])
def test_schema_violation_names_json_path(tmp_path: Path, breaks: Callable[[Doc], None], where: str) -> None:
    d = example("vaccination_65plus")
    breaks(d)
    path = write(tmp_path, d)
    with pytest.raises(ContractRefused, match="not a valid ODCS document") as e:
        load_contract(path)
    assert str(path) in str(e.value) and where in str(e.value), str(e.value)


@pytest.mark.unit
def test_unreadable_yaml_and_other_api_version(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v3.1.0\nkind: [DataContract\n", encoding="utf-8")
    with pytest.raises(ContractRefused, match="cannot read it as YAML") as e:
        load_contract(bad)
    assert str(bad) in str(e.value)
    d = example("vaccination_65plus")
    d["apiVersion"] = "v3.0.2"  # valid ODCS, not the version our files are written in
    with pytest.raises(ContractRefused, match=r"apiVersion must be v3\.1\.0"):
        load_contract(write(tmp_path, d))


# -- round trip: any contract of allowed items, dumped and read back, is the same contract

#: items a contract may ask for without a special basis: the atena layout's but 個人番号 and the
#: 世帯 items (they come with their flags below), plus the derived ones
PLAIN = [i for i in ATENA.items if i.romaji not in ("kojinbango", *HOUSEHOLD_ITEMS)]


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    kojinbango = draw(st.booleans())
    sansho = draw(st.booleans())
    dv = draw(st.booleans())
    households = draw(st.booleans()) and all(n in ATENA.romaji for n in HOUSEHOLD_ITEMS)
    basis = ["予防接種法 第5条"] + (["番号法 第9条"] if kojinbango else []) + (["住民基本台帳法"] if sansho else [])
    chosen = draw(st.lists(st.sampled_from(PLAIN), min_size=1, max_size=8, unique_by=lambda i: i.romaji))
    extra = [ATENA.item("kojinbango")] if kojinbango else []
    extra += [ATENA.item(n) for n in HOUSEHOLD_ITEMS] if households else []
    items = [
        ContractItem(i.romaji, i.ja, "atena", required=draw(st.booleans()) and (dv or i.romaji not in SUPPRESSED_ITEMS))
        for i in [*chosen, *extra]
    ]
    if draw(st.booleans()):
        items.append(ContractItem("age", DERIVED_ITEMS["age"][0], "atena", required=draw(st.booleans())))
    items = draw(st.permutations(items))
    ages = sorted(draw(st.lists(st.integers(0, 150), min_size=2, max_size=2)))
    min_age = draw(st.sampled_from([None, ages[0]]))
    max_age = draw(st.sampled_from([None, ages[1]]))
    lg_codes = draw(st.sampled_from([None, ("131016",), ("131016", "012025")]))
    jutokubun = draw(st.sampled_from([("1",), ("2",), ("1", "2"), ("2", "1")]))
    lo = draw(st.one_of(st.none(), st.integers(0, 1000)))
    hi = draw(st.one_of(st.none(), st.integers(lo or 0, 2000)))
    table_rules = [QualityRule("row_count", min_value=lo, max_value=hi)] if lo is not None or hi is not None else []
    col = draw(st.sampled_from([i.name for i in items]))
    # in the order a file gives them: the items' rules, then the dataset's
    quality = draw(
        st.lists(
            st.sampled_from(
                [
                    QualityRule("not_null", col),
                    QualityRule("unique", col),
                    QualityRule("in_set", col, values=("1", "2")),
                ]
            ),
            max_size=2,
        )
    )
    quality += table_rules
    return Contract(
        id=draw(st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)),
        version=draw(st.sampled_from(["1.0.0", "2.1.0"])),
        title=draw(st.text(min_size=1, max_size=20).filter(str.strip)),
        saas=draw(st.sampled_from(["予防接種SaaS", "子育て支援SaaS"])),
        purpose=draw(st.text(min_size=1, max_size=40).filter(str.strip)),
        legal_basis=tuple(basis),
        items=tuple(items),
        row_filter=RowFilter(min_age, max_age, lg_codes, jutokubun, household_heads=households and draw(st.booleans())),
        allow_sansho_fuka=sansho,
        allow_kojinbango=kojinbango,
        dv_address_basis=basis[0] if dv else None,
        opt_out=draw(st.booleans()),
        households=households,
        delivery=draw(st.sampled_from(["full", "delta"])),
        quality=tuple(quality),
        saas_account=draw(st.sampled_from(["", "yobosesshu", "kosodate_2"])),
    )


@pytest.mark.unit
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts())
def test_contract_round_trips(contract: Contract) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{contract.id}.yaml"
        path.write_text(dump_contract(contract), encoding="utf-8")
        assert load_contract(path) == contract


@pytest.mark.unit
def test_examples_round_trip(tmp_path: Path) -> None:
    for path in EXAMPLES.values():
        c = load_contract(path)
        assert load_contract(write(tmp_path, contract_document(c))) == c


# -- ages on the 基準日


@pytest.mark.unit
def test_age_is_reached_on_the_day_before_the_birthday() -> None:
    assert age_on(dt.date(1961, 11, 2), KIJUNBI) == 65  # 65歳に達した日 = 誕生日の前日
    assert age_on(dt.date(1961, 11, 3), KIJUNBI) == 64
    assert age_on(dt.date(2000, 2, 29), dt.date(2025, 2, 28)) == 25
    assert age_on(dt.date(2000, 2, 29), dt.date(2025, 2, 27)) == 24
    assert age_on(dt.date(2024, 3, 1), dt.date(2025, 2, 28)) == 1  # the day before 1 March
    assert birth_bounds(RowFilter(min_age=65), KIJUNBI) == (None, dt.date(1961, 11, 2))
    assert birth_bounds(RowFilter(max_age=18), KIJUNBI) == (dt.date(2007, 11, 3), None)


@pytest.mark.unit
@given(
    st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)),
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)),
    st.integers(0, 120),
    st.integers(0, 120),
)
def test_birth_bounds_match_ages(birth: dt.date, kijunbi: dt.date, a: int, b: int) -> None:
    f = RowFilter(min_age=min(a, b), max_age=max(a, b))
    earliest, latest = birth_bounds(f, kijunbi)
    assert earliest is not None and latest is not None
    assert (earliest <= birth <= latest) == (f.min_age <= age_on(birth, kijunbi) <= f.max_age)  # type: ignore[operator]


# -- the output's checks: Great Expectations and DuckDB find the same


def frame(
    contract: Contract, rows: list[dict[str, Any]], drop: tuple[str, ...] = (), add: tuple[str, ...] = ()
) -> pa.Table:
    types = {"seinengappi": pa.date32(), "age": pa.int32()}
    cols = [c for c in contract.columns if c not in drop] + list(add)
    return pa.table({c: pa.array([r.get(c) for r in rows], types.get(c, pa.string())) for c in cols})


def both(contract: Contract, table: pa.Table) -> list[tuple[int, str | None, str | None]]:
    """The findings of both engines, required to be the same."""
    con = duckdb.connect()
    con.register("output", table)
    fast = duck_contract_findings(con, contract, "output", KIJUNBI)
    reference = gx_contract_findings(contract, table.to_pandas(types_mapper=pd.ArrowDtype), KIJUNBI)
    assert fast == reference
    return fast


def named(contract: Contract, findings: list[tuple[int, str | None, str | None]]) -> set[tuple[str, str | None]]:
    checks = contract_checks(contract, KIJUNBI)
    return {(checks[i].name, p) for i, p, _ in findings}


def person(pid: str | None, **values: Any) -> dict[str, Any]:
    base = {
        PERSON_ID: pid,
        "shimei": "佐藤　一郎",
        "shimei_furigana": "サトウ　イチロウ",
        "seinengappi": dt.date(1950, 4, 1),
        "seibetsu": "1",
        "jusho_todofuken": "東京都",
        "jusho_yubinbango": "1000001",
        "setaibango": "000000000000001",
        "zokugara": "世帯主",
        "age": 76,
    }
    return {**base, **values}


@pytest.mark.unit
def test_vaccination_checks_find_the_same_in_both_engines() -> None:
    c = load_contract(EXAMPLES["vaccination_65plus"])
    clean = [person("a"), person("b", seinengappi=dt.date(1961, 11, 2))]  # 65 on the 基準日
    assert both(c, frame(c, clean)) == []
    rows = [
        *clean,
        person("young", seinengappi=dt.date(1961, 11, 3)),  # 64 on the 基準日
        person("noname", shimei=None),
        person("nobirth", seinengappi=None),
        person("sex", seibetsu="9"),
        person("twice"),
        person("twice"),
        person(None),
    ]
    found = named(c, both(c, frame(c, rows)))
    assert found == {
        ("filter_age_birth", "young"),
        ("required", "noname"),
        ("required", "nobirth"),
        ("filter_age_known", "nobirth"),
        ("quality_in_set", "sex"),
        ("person_id_unique", "twice"),
        ("person_id_not_null", None),
    }
    # an extra column (an item the contract does not name would leak) and an empty output
    extra = both(c, frame(c, clean, add=("kojinbango",)))
    assert named(c, extra) == {("columns", None)}
    assert extra[0][2] == ",".join(sorted([*c.columns, "kojinbango"]))
    assert named(c, both(c, frame(c, []))) == {("quality_row_count", None)}


@pytest.mark.unit
def test_missing_column_gives_the_column_finding_alone() -> None:
    c = load_contract(EXAMPLES["vaccination_65plus"])
    found = both(c, frame(c, [person("a", shimei=None)], drop=("seibetsu",)))
    assert named(c, found) == {("columns", None)}


@pytest.mark.unit
def test_age_checks_and_filters_of_a_generated_contract() -> None:
    d = custom(example("vaccination_65plus"), "allowSanshoFuka", False)
    d = row_filter(add_item(d, "age", "年齢", logicalType="integer"), minAge=65, maxAge=74, jutokubun=["1", "2"])
    d = add_item(add_item(d, "jutokubun", "住登区分"), "tagyomusanshofukafuragu", "他業務参照不可フラグ")
    with tempfile.TemporaryDirectory() as folder:
        c = load_contract(write(Path(folder), d))
    ok: dict[str, Any] = {
        "jutokubun": "1",
        "tagyomusanshofukafuragu": "0",
        "seinengappi": dt.date(1955, 1, 1),
        "age": 71,
    }
    rows = [
        person("a", **ok),
        person("old", **{**ok, "age": 80, "seinengappi": dt.date(1946, 1, 1)}),
        person("young", **{**ok, "age": 60}),
        person("kubun", **{**ok, "jutokubun": "3"}),
        person("fuka", **{**ok, "tagyomusanshofukafuragu": "1"}),
        person("noage", **{**ok, "age": None}),
    ]
    found = named(c, both(c, frame(c, rows)))
    assert found == {
        ("filter_age_birth", "old"),
        ("filter_age", "old"),
        ("filter_age", "young"),
        ("filter_jutokubun", "kubun"),
        ("filter_sansho_fuka", "fuka"),
        ("filter_age_known_age", "noage"),
    }


@pytest.mark.unit
def test_child_benefit_checks_leave_heads_unbounded() -> None:
    c = load_contract(EXAMPLES["child_benefit"])
    names = {x.name for x in contract_checks(c, KIJUNBI)}
    assert not any(n.startswith("filter_age") for n in names)  # 世帯主 are delivered at any age
    rows = [person("child", age=5, zokugara="子"), person("head", age=40), person("noage", age=None)]
    assert named(c, both(c, frame(c, rows))) == {("required", "noage")}


@pytest.mark.unit
def test_the_example_in_the_docs_loads(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "contracts.md").read_text(encoding="utf-8")
    block = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[0]
    path = tmp_path / "docs_example.yaml"
    path.write_text(block, encoding="utf-8")
    c = load_contract(path)
    assert (c.id, c.row_filter.min_age, [i.label_ja for i in c.items]) == ("vaccination_65plus", 65, ["氏名", "性別"])


@st.composite
def outputs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Small outputs of the generated contract below: values from small pools, with gaps and
    repeats, so every check sometimes fails."""
    pools: dict[str, list[Any]] = {
        PERSON_ID: ["p1", "p2", "p3", None],
        "shimei": ["佐藤　一郎", None],
        "seinengappi": [dt.date(1955, 1, 1), dt.date(1946, 1, 1), dt.date(1961, 11, 2), dt.date(1961, 11, 3), None],
        "seibetsu": ["1", "2", "9", None],
        "jutokubun": ["1", "2", None],
        "tagyomusanshofukafuragu": ["0", "1", None],
        "age": [64, 65, 74, 75, None],
    }
    return draw(st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in pools.items()}), max_size=6))


@pytest.mark.unit
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_engines_agree_on_random_outputs(rows: list[dict[str, Any]]) -> None:
    d = example("vaccination_65plus")
    d = row_filter(add_item(d, "age", "年齢", logicalType="integer"), minAge=65, maxAge=74)
    d = add_item(add_item(d, "jutokubun", "住登区分"), "tagyomusanshofukafuragu", "他業務参照不可フラグ")
    d["schema"][0]["quality"] = [{"type": "library", "metric": "rowCount", "mustBeBetween": [1, 4]}]
    with tempfile.TemporaryDirectory() as folder:
        c = load_contract(write(Path(folder), d))
    both(c, frame(c, rows))


@pytest.mark.unit
def test_key_twice_refused_and_label_filled_in(tmp_path: Path) -> None:
    text = EXAMPLES["vaccination_65plus"].read_text(encoding="utf-8")
    twice = tmp_path / "twice.yaml"
    twice.write_text(text + "kind: DataContract\n", encoding="utf-8")
    with pytest.raises(ContractRefused, match="key 'kind' appears twice") as e:
        load_contract(twice)
    assert str(twice) in str(e.value)
    d = example("vaccination_65plus")
    del d["schema"][0]["properties"][0]["businessName"]
    assert load_contract(write(tmp_path, d)).item("shimei").label_ja == "氏名"
