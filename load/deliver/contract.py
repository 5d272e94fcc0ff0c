"""Delivery contracts: one versioned ODCS file per SaaS, read, checked and refused here.

:func:`load_contract` reads a YAML file in the Open Data Contract Standard (``kind:
DataContract``, ``apiVersion: v3.1.0``), validates it against the ODCS JSON schema shipped in
``open-data-contract-standard`` (an error names the file and the JSON path), then maps it to a
:class:`jumin.core.contract.Contract` and checks it against the real layouts and the legal
bases. A contract asking for what its basis does not allow is refused with
:class:`ContractRefused`, naming the file, the item and why. :func:`contract_document` is the
way back (Contract → ODCS document), so a contract round-trips. The mapping is documented in
``docs/contracts.md``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]

from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.contract import (
    BANGOHO,
    DELIVERABLE_LAYOUTS,
    DELIVERY_MODES,
    DERIVED_ITEMS,
    HOUSEHOLD_ITEMS,
    JUKIHO,
    PERSON_ID,
    Contract,
    ContractItem,
    Delivery,
    QualityRule,
    RowFilter,
    names_law,
)
from jumin.core.errors import TerminalError
from jumin.core.landing import SAAS_ACCOUNT
from jumin.core.layouts import LAYOUTS, Item
from load.deliver.privacy import SUPPRESSED_ITEMS

#: the ODCS version our files are written in (the bundled schema validates v2.2.0 to v3.2.0)
API_VERSION = "v3.1.0"
#: the example contracts shipped with the project
CONTRACTS = Path(__file__).parent / "contracts"
#: customProperties of the contract: ODCS property name → required
CUSTOM_PROPERTIES = {
    "saas": True,
    "legalBasis": True,
    "optOut": True,
    "delivery": True,
    "rowFilter": False,
    "allowSanshoFuka": False,
    "allowKojinbango": False,
    "dvAddressBasis": False,
    "households": False,
    "saasAccount": False,
}
ROW_FILTER_KEYS = ("minAge", "maxAge", "lgCodes", "jutokubun", "householdHeads")
_LOGICAL = {"X": "string", "N": "string", "9": "integer", "DATE": "date"}
#: the delivered rows are persons: 住登区分 is the atena layout's
_JUTOKUBUN = LAYOUTS["atena"].item("jutokubun").codes


class ContractRefused(TerminalError):
    """A contract file that is malformed or asks for what it may not have."""

    def __init__(self, path: str | Path, reason: str, item: str | None = None) -> None:
        self.path, self.item, self.reason = str(path), item, reason
        where = f"item {item!r}: " if item else ""
        super().__init__(f"contract {self.path} refused: {where}{reason}")


@functools.cache
def odcs_schema() -> dict[str, Any]:
    """The ODCS JSON schema of the installed ``open-data-contract-standard``."""
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_document(doc: Any, path: str | Path) -> None:
    """Refuse ``doc`` unless it is a valid ODCS DataContract; the error names the JSON path."""
    validator = jsonschema.Draft201909Validator(odcs_schema())
    errors = list(validator.iter_errors(doc))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        assert best is not None
        more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ContractRefused(path, f"not a valid ODCS document at {best.json_path}: {best.message}{more}")


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses a key written twice in one mapping (plain YAML keeps the last
    one silently, so a second ``schema:`` or ``kind:`` would replace the first unseen)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_contract(path: str | Path) -> Contract:
    """The contract in the ODCS YAML file ``path``, validated and checked (see module doc)."""
    try:
        doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader)  # _Loader is a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ContractRefused(path, f"cannot read it as YAML: {e}") from e
    return contract_from_document(doc, path)


def contract_from_document(doc: Any, path: str | Path = "<document>") -> Contract:
    """The contract of the parsed ODCS document ``doc`` (``path`` names it in errors)."""
    validate_document(doc, path)
    if doc.get("kind") != "DataContract":
        raise ContractRefused(path, f"kind must be DataContract, not {doc.get('kind')!r}")
    if doc.get("apiVersion") != API_VERSION:
        raise ContractRefused(path, f"apiVersion must be {API_VERSION}, not {doc.get('apiVersion')!r}")
    custom = _custom_properties(doc.get("customProperties") or [], path)
    purpose = (doc.get("description") or {}).get("purpose")
    if not isinstance(purpose, str) or not purpose.strip():
        raise ContractRefused(path, "description.purpose (利用目的) is missing or empty")
    schema = doc.get("schema") or []
    if len(schema) != 1:
        raise ContractRefused(path, f"schema must hold exactly one object (the dataset), not {len(schema)}")
    obj = schema[0]
    items, quality = _items(obj.get("properties") or [], path)
    quality += tuple(_quality(q, None, path) for q in obj.get("quality") or [])
    contract = Contract(
        id=doc["id"],
        version=doc["version"],
        title=doc.get("name") or doc["id"],
        saas=_string(custom["saas"], "saas", path),
        purpose=purpose,
        legal_basis=_strings(custom["legalBasis"], "legalBasis (根拠法令)", path),
        items=items,
        row_filter=_row_filter(custom.get("rowFilter", {}), path),
        allow_sansho_fuka=_flag(custom, "allowSanshoFuka", path),
        allow_kojinbango=_flag(custom, "allowKojinbango", path),
        dv_address_basis=_optional_string(custom.get("dvAddressBasis"), "dvAddressBasis", path),
        opt_out=_flag(custom, "optOut", path),
        households=_flag(custom, "households", path),
        delivery=_delivery(custom["delivery"], path),
        quality=quality,
        saas_account=_optional_string(custom.get("saasAccount"), "saasAccount", path) or "",
    )
    check_contract(contract, path)
    return contract


def check_contract(contract: Contract, path: str | Path = "<contract>") -> None:
    """Refuse a contract whose items, flags or bases do not fit together (see docs/contracts.md)."""
    if not contract.legal_basis:
        raise ContractRefused(path, "legalBasis (根拠法令) names no law")
    if not SAAS_ACCOUNT.fullmatch(contract.account):
        raise ContractRefused(
            path,
            f"saasAccount {contract.account!r} (default: the contract id) is not an account name of the landing "
            "zone: a-z first, then a-z, 0-9 or _, at most 26 characters",
        )
    names = [i.name for i in contract.items]
    if not names:
        raise ContractRefused(path, "the contract asks for no item")
    for name in {n for n in names if names.count(n) > 1}:
        raise ContractRefused(path, "asked for twice", name)
    for item in contract.items:
        _check_item(item, contract, path)
    if contract.allow_sansho_fuka and not names_law(contract.legal_basis, JUKIHO):
        raise ContractRefused(
            path,
            "allowSanshoFuka: rows marked 他業務参照不可 (他業務参照不可フラグ = 1, from 住基ネット) may be used "
            "only under 住基法 (住民基本台帳法), which legalBasis does not name",
        )
    if contract.allow_kojinbango and not names_law(contract.legal_basis, BANGOHO):
        raise ContractRefused(
            path, "allowKojinbango: 個人番号 may be used only under 番号法, which legalBasis does not name"
        )
    if contract.dv_address_basis is not None and contract.dv_address_basis not in contract.legal_basis:
        raise ContractRefused(
            path,
            f"dvAddressBasis {contract.dv_address_basis!r}: addresses of persons under 支援措置 may be released "
            "only under a basis that legalBasis lists",
        )
    asked = [n for n in HOUSEHOLD_ITEMS if n in names]
    if contract.households != bool(asked):
        raise ContractRefused(
            path,
            "households is true but no 世帯 item (setaibango 世帯番号, zokugara 続柄) is asked for"
            if contract.households
            else f"世帯 item(s) {', '.join(asked)} need households: true",
        )
    if contract.row_filter.household_heads and not contract.households:
        raise ContractRefused(path, "malformed rowFilter: householdHeads (世帯主) needs households: true")
    for rule in contract.quality:
        if rule.kind == "row_count" and None not in (rule.min_value, rule.max_value):
            if rule.min_value > rule.max_value:  # type: ignore[operator]
                raise ContractRefused(path, f"rowCount: {rule.min_value} is above {rule.max_value}")
        if rule.column is not None and rule.column not in names:
            raise ContractRefused(
                path,
                f"a quality rule is about a column that is no item of the contract ({PERSON_ID} is always checked)",
                rule.column,
            )


def _check_item(item: ContractItem, contract: Contract, path: str | Path) -> None:
    if item.name == PERSON_ID:
        raise ContractRefused(
            path, f"{PERSON_ID} is the pseudonymous id every delivery carries, not an item", item.name
        )
    if item.source not in DELIVERABLE_LAYOUTS:
        raise ContractRefused(
            path,
            f"source {item.source!r} is not a layout delivered to SaaS (only {', '.join(DELIVERABLE_LAYOUTS)}; "
            "the 支援措置 list and 名寄せ判定 never leave)",
            item.name,
        )
    layout = LAYOUTS[item.source]
    label = _label(item.name, item.source)
    if label is None:
        raise ContractRefused(
            path,
            f"no such item (項目) in the {layout.name} layout ({layout.title}) nor a derived item "
            f"({', '.join(DERIVED_ITEMS)})",
            item.name,
        )
    if item.label_ja != label:
        raise ContractRefused(
            path, f"businessName {item.label_ja!r} is not the item's Japanese name {label!r}", item.name
        )
    if item.name == "kojinbango" and not contract.allow_kojinbango:
        raise ContractRefused(path, "個人番号 is asked for but allowKojinbango is not true", item.name)
    if item.name == "kojinbango" and not names_law(contract.legal_basis, BANGOHO):
        raise ContractRefused(
            path,
            "個人番号 may be delivered only under 番号法 "
            "(行政手続における特定の個人を識別するための番号の利用等に関する法律), which legalBasis does not name",
            item.name,
        )
    if item.required and item.name in SUPPRESSED_ITEMS and contract.dv_address_basis is None:
        raise ContractRefused(
            path,
            f"{item.label_ja} cannot be required: address and 世帯 items of persons under 支援措置 are "
            "suppressed (left empty) unless dvAddressBasis names a legal basis",
            item.name,
        )


def _label(name: str, source: str) -> str | None:
    """The Japanese label of item ``name`` of layout ``source``, or None if it has none."""
    layout = LAYOUTS[source]
    if name in layout.romaji:
        return layout.item(name).ja
    if name in DERIVED_ITEMS and DERIVED_ITEMS[name][1] in layout.romaji:
        return DERIVED_ITEMS[name][0]
    return None


def _logical_type(name: str, source: str) -> str:
    layout = LAYOUTS[source]
    item: Item | None = layout.item(name) if name in layout.romaji else None
    return "integer" if item is None else _LOGICAL[item.type]


def _items(
    properties: list[dict[str, Any]], path: str | Path
) -> tuple[tuple[ContractItem, ...], tuple[QualityRule, ...]]:
    items: list[ContractItem] = []
    quality: list[QualityRule] = []
    for p in properties:
        name = p["name"]
        sources = p.get("transformSourceObjects") or []
        if len(sources) != 1:
            raise ContractRefused(path, "transformSourceObjects must name exactly one layout (atena or juki)", name)
        source = sources[0]
        label = p.get("businessName")
        item = ContractItem(name=name, label_ja=label or "", source=source, required=bool(p.get("required", False)))
        if source in LAYOUTS and label is None:
            item = replace(item, label_ja=_label(name, source) or "")
        if source in DELIVERABLE_LAYOUTS and _label(name, source) is not None:
            want = _logical_type(name, source)
            if p.get("logicalType", want) != want:
                raise ContractRefused(path, f"logicalType {p['logicalType']!r}: the layout's item is {want}", name)
        items.append(item)
        quality.extend(_quality(q, name, path) for q in p.get("quality") or [])
    return tuple(items), tuple(quality)


def _quality(q: dict[str, Any], column: str | None, path: str | Path) -> QualityRule:
    """One ODCS quality rule as a :class:`QualityRule`; anything we cannot check is refused."""
    metric = q.get("metric")
    where = column or "the dataset"
    if q.get("type", "library") != "library" or metric is None:
        raise ContractRefused(path, f"quality rule on {where}: only library metrics are supported", column)
    if metric == "rowCount":
        if column is not None:
            raise ContractRefused(path, "rowCount is a rule of the dataset, not of an item", column)
        return _row_count(q, path)
    if column is None:
        raise ContractRefused(path, f"quality metric {metric} needs an item: put it under the item's quality")
    if q.get("mustBe") != 0 or any(k.startswith("must") and k != "mustBe" for k in q):
        raise ContractRefused(path, f"quality metric {metric} is supported with mustBe: 0 only", column)
    if metric == "nullValues":
        return QualityRule("not_null", column)
    if metric == "duplicateValues":
        return QualityRule("unique", column)
    if metric == "invalidValues":
        valid = (q.get("arguments") or {}).get("validValues")
        if not isinstance(valid, list) or not valid or not all(isinstance(v, str) for v in valid):
            raise ContractRefused(path, "invalidValues needs arguments.validValues, a list of strings", column)
        return QualityRule("in_set", column, values=tuple(valid))
    raise ContractRefused(path, f"quality metric {metric} is not supported", column)


def _row_count(q: dict[str, Any], path: str | Path) -> QualityRule:
    def whole(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
            raise ContractRefused(path, f"rowCount bound {v!r} is not a whole number")
        return int(v)

    if "mustBe" in q:
        return QualityRule("row_count", min_value=whole(q["mustBe"]), max_value=whole(q["mustBe"]))
    if "mustBeBetween" in q:
        lo, hi = (whole(v) for v in q["mustBeBetween"])
        return QualityRule("row_count", min_value=lo, max_value=hi)
    bounds = {
        "mustBeGreaterOrEqualTo": (0, 0),
        "mustBeGreaterThan": (0, 1),
        "mustBeLessOrEqualTo": (1, 0),
        "mustBeLessThan": (1, -1),
    }
    for key, (side, shift) in bounds.items():
        if key in q:
            v = whole(q[key]) + shift
            return QualityRule("row_count", min_value=None if side else v, max_value=v if side else None)
    raise ContractRefused(path, "rowCount needs one of mustBe, mustBeBetween, mustBe(Greater|Less)(Than|OrEqualTo)")


def _custom_properties(props: list[dict[str, Any]], path: str | Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in props:
        key = p["property"]
        if key not in CUSTOM_PROPERTIES:
            raise ContractRefused(
                path, f"unknown customProperties entry {key!r} (known: {', '.join(CUSTOM_PROPERTIES)})"
            )
        if key in out:
            raise ContractRefused(path, f"customProperties entry {key!r} appears twice")
        out[key] = p["value"]
    missing = [k for k, required in CUSTOM_PROPERTIES.items() if required and k not in out]
    if missing:
        raise ContractRefused(path, f"customProperties lacks {', '.join(missing)}")
    return out


def _string(v: Any, what: str, path: str | Path) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ContractRefused(path, f"{what} must be a non-empty string, not {v!r}")
    return v


def _optional_string(v: Any, what: str, path: str | Path) -> str | None:
    return None if v is None else _string(v, what, path)


def _strings(v: Any, what: str, path: str | Path) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(s, str) and s.strip() for s in v):
        raise ContractRefused(path, f"{what} must be a list of non-empty strings, not {v!r}")
    return tuple(v)


def _flag(custom: dict[str, Any], key: str, path: str | Path) -> bool:
    v = custom.get(key, False)
    if not isinstance(v, bool):
        raise ContractRefused(path, f"{key} must be true or false, not {v!r}")
    return v


def _delivery(v: Any, path: str | Path) -> Delivery:
    for mode in DELIVERY_MODES:
        if v == mode:
            return mode
    raise ContractRefused(path, f"unknown delivery mode {v!r} (known: {', '.join(DELIVERY_MODES)})")


def _row_filter(v: Any, path: str | Path) -> RowFilter:
    def bad(why: str) -> ContractRefused:
        return ContractRefused(path, f"malformed rowFilter: {why}")

    if not isinstance(v, dict):
        raise bad(f"must be a mapping of {', '.join(ROW_FILTER_KEYS)}, not {v!r}")
    unknown = sorted(set(v) - set(ROW_FILTER_KEYS))
    if unknown:
        raise bad(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(ROW_FILTER_KEYS)})")
    ages: list[int | None] = []
    for key in ("minAge", "maxAge"):
        age = v.get(key)
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150):
            raise bad(f"{key} (年齢 on the 基準日) must be a whole number from 0 to 150, not {age!r}")
        ages.append(age)
    min_age, max_age = ages
    if min_age is not None and max_age is not None and min_age > max_age:
        raise bad(f"minAge {min_age} is above maxAge {max_age}")
    lg_codes = v.get("lgCodes")
    if lg_codes is not None:
        if not isinstance(lg_codes, list) or not lg_codes:
            raise bad(f"lgCodes must be a non-empty list of 全国地方公共団体コード (or absent = all), not {lg_codes!r}")
        for code in lg_codes:
            if not isinstance(code, str) or not is_valid_lg_code(code):
                raise bad(f"lgCodes: {code!r} is no 6-digit 全国地方公共団体コード with a valid check digit (quote it)")
        if len(set(lg_codes)) != len(lg_codes):
            raise bad("lgCodes lists a municipality twice")
    jutokubun = v.get("jutokubun", ["1"])
    if (
        not isinstance(jutokubun, list)
        or not jutokubun
        or len(set(jutokubun)) != len(jutokubun)
        or not all(isinstance(k, str) and k in _JUTOKUBUN for k in jutokubun)
    ):
        shown = ", ".join(f'"{k}" {v}' for k, v in _JUTOKUBUN.items())
        raise bad(f"jutokubun (住登区分) must be a non-empty list of distinct codes among {shown}, not {jutokubun!r}")
    heads = v.get("householdHeads", False)
    if not isinstance(heads, bool):
        raise bad(f"householdHeads must be true or false, not {heads!r}")
    return RowFilter(
        household_heads=heads,
        min_age=min_age,
        max_age=max_age,
        lg_codes=None if lg_codes is None else tuple(lg_codes),
        jutokubun=tuple(jutokubun),
    )


# -- the way back: Contract → ODCS document


def _quality_document(rule: QualityRule) -> list[dict[str, Any]]:
    if rule.kind == "row_count":
        lo, hi = rule.min_value, rule.max_value
        if lo is not None and hi is not None:
            q: dict[str, Any] = {"mustBe": lo} if lo == hi else {"mustBeBetween": [lo, hi]}
        elif lo is not None:
            q = {"mustBeGreaterOrEqualTo": lo}
        elif hi is not None:
            q = {"mustBeLessOrEqualTo": hi}
        else:
            q = {"mustBeGreaterOrEqualTo": 0}
        return [{"type": "library", "metric": "rowCount", **q}]
    metric = {"not_null": "nullValues", "unique": "duplicateValues", "in_set": "invalidValues"}[rule.kind]
    q = {"type": "library", "metric": metric, "mustBe": 0}
    if rule.kind == "in_set":
        q["arguments"] = {"validValues": list(rule.values)}
    return [q]


def contract_document(contract: Contract) -> dict[str, Any]:
    """The ODCS document of ``contract`` (what :func:`contract_from_document` reads back)."""
    properties = []
    for item in contract.items:
        p: dict[str, Any] = {
            "name": item.name,
            "businessName": item.label_ja,
            "logicalType": _logical_type(item.name, item.source)
            if item.source in LAYOUTS and item.name in LAYOUTS[item.source].romaji
            else "integer",
            "required": item.required,
            "transformSourceObjects": [item.source],
        }
        rules = [q for r in contract.quality if r.column == item.name for q in _quality_document(r)]
        if rules:
            p["quality"] = rules
        properties.append(p)
    obj: dict[str, Any] = {"name": contract.id, "logicalType": "object", "properties": properties}
    table_rules = [q for r in contract.quality if r.column is None for q in _quality_document(r)]
    if table_rules:
        obj["quality"] = table_rules
    f = contract.row_filter
    row_filter: dict[str, Any] = {"jutokubun": list(f.jutokubun)}
    if f.min_age is not None:
        row_filter["minAge"] = f.min_age
    if f.max_age is not None:
        row_filter["maxAge"] = f.max_age
    if f.lg_codes is not None:
        row_filter["lgCodes"] = list(f.lg_codes)
    if f.household_heads:
        row_filter["householdHeads"] = True
    custom = {
        "saas": contract.saas,
        "legalBasis": list(contract.legal_basis),
        "rowFilter": row_filter,
        "allowSanshoFuka": contract.allow_sansho_fuka,
        "allowKojinbango": contract.allow_kojinbango,
        "dvAddressBasis": contract.dv_address_basis,
        "optOut": contract.opt_out,
        "households": contract.households,
        "delivery": contract.delivery,
    }
    if contract.saas_account:
        custom["saasAccount"] = contract.saas_account
    return {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": contract.id,
        "version": contract.version,
        "name": contract.title,
        "status": "active",
        "description": {"purpose": contract.purpose},
        "schema": [obj],
        "customProperties": [{"property": k, "value": v} for k, v in custom.items()],
    }


class _Dumper(yaml.SafeDumper):
    """YAML that reads back as written: a string holding a character YAML would fold or drop
    in a plain scalar (line breaks such as U+0085, controls) is written double-quoted, with
    escapes."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> Any:
    plain = all(ch.isprintable() or ch == "\u3000" for ch in value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else '"')


_Dumper.add_representer(str, _represent_str)


def dump_contract(contract: Contract) -> str:
    """``contract`` as ODCS YAML text (:func:`load_contract` reads back the same contract)."""
    text: str = yaml.dump(contract_document(contract), Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    return text


def example_contracts() -> dict[str, Path]:
    """The example contracts shipped with the project: id (file stem) → path."""
    return {p.stem: p for p in sorted(CONTRACTS.glob("*.yaml"))}
