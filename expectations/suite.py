"""The Great Expectations suite of a layout, generated from its declaration.

Every expectation carries ``meta`` = {code, item, rule}: the error code it raises (E0001–E0004
or W0001), the item it is about and a short rule name, so each failing row maps straight to a
line of the receipt.
"""

from __future__ import annotations

from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from expectations.custom import ExpectColumnValuesToHaveValidCheckDigit
from jumin.layouts import Item, Layout

# Classes of characters per item type. Literal characters, not \u escapes, so both Python's
# re and RE2 (used by pandas on Arrow strings) read the pattern the same way.
HALF_WIDTH = r"^[\x20-\x7E]*$"
DIGITS = r"^[0-9]+$"
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: full-width: no ASCII or C1 controls, no NBSP, no special spaces, zero-width or bidi marks,
#: line separators or BOM, no half-width katakana (U+FF61–FF9F), no private use (外字, U+E000–F8FF).
#: Latin-1 symbols such as ×÷°±§ stay allowed: JIS X 0208 has them.
FULL_WIDTH = ("^[^\\x00-\\xA0\u2000-\u200f\u2028-\u202f\u205f-\u206f\ufeff"
              "\uff61-\uff9f\ue000-\uf8ff]*$")
#: full-width katakana, the long-vowel mark, the middle dot and the full-width space
KATAKANA = "^[\u30a1-\u30f6\u30fc\u30fb\u3000]*$"

_PATTERN = {"X": HALF_WIDTH, "N": FULL_WIDTH, "9": DIGITS, "DATE": ISO_DATE}


def _meta(code: str, item: str, rule: str, hint: str) -> dict[str, str]:
    """What a failure means: code, item, rule name and a hint in Japanese for the receipt."""
    return {"code": code, "item": item, "rule": rule, "hint": hint}


_CHARSET_HINT = {"X": "半角英数字・記号のみ使用できます", "N": "全角文字のみ使用できます (半角文字・外字は不可)",
                 "9": "半角数字のみ使用できます", "DATE": "YYYY-MM-DD 形式で入力してください"}


def _when(column: str, values: tuple[str, ...]) -> str:
    """A pandas row condition: ``column`` has one of ``values`` ("" stands for empty)."""
    parts = [f'{column}.isna()' if v == "" else f'{column} == "{v}"' for v in values]
    return " | ".join(f"({p})" for p in parts)


def item_expectations(item: Item, layout: Layout) -> list[Expectation]:
    """Expectations checking one item's values on their own (and its conditions)."""
    col = item.romaji
    out: list[Expectation] = []
    if item.required and not item.required_when:
        out.append(gx.expectations.ExpectColumnValuesToNotBeNull(
            column=col, meta=_meta("E0001", col, "required", "必須項目です")))
    if item.required_when:
        other, values = item.required_when
        shown = "・".join(v or "空欄" for v in values)
        out.append(gx.expectations.ExpectColumnValuesToNotBeNull(
            column=col, row_condition=_when(other, values), condition_parser="pandas",
            meta=_meta("E0004", col, f"required_when_{other}",
                       f"「{layout.item(other).ja}」が {shown} のとき必須です")))
    # A 不詳 date may be anything; its text is kept and checked only by length.
    plain_date = (_when(item.fusho_flag, ("0", "")) if item.fusho_flag else None)
    conditional: dict[str, Any] = (
        {"row_condition": plain_date, "condition_parser": "pandas"} if plain_date else {})
    pattern = KATAKANA if item.charset == "katakana" else _PATTERN[item.type]
    out.append(gx.expectations.ExpectColumnValuesToMatchRegex(
        column=col, regex=pattern,
        meta=_meta("E0002", col, f"charset_{item.charset or item.type}",
                   "全角カタカナのみ使用できます" if item.charset else _CHARSET_HINT[item.type]),
        **conditional))
    if item.type == "DATE":
        out.append(gx.expectations.ExpectColumnValuesToMatchStrftimeFormat(
            column=col, strftime_format="%Y-%m-%d",
            meta=_meta("E0002", col, "calendar_date",
                       "暦にない日付です (不詳の場合は不詳フラグを1に)" if item.fusho_flag
                       else "暦にない日付です"),
            **conditional))
    out.append(gx.expectations.ExpectColumnValueLengthsToBeBetween(
        column=col, min_value=item.length if item.fixed else 1, max_value=item.length,
        meta=_meta("E0003", col, "length",
                   f"{item.length}文字ちょうどで入力してください" if item.fixed
                   else f"{item.length}文字以内で入力してください")))
    if item.codes:
        out.append(gx.expectations.ExpectColumnValuesToBeInSet(
            column=col, value_set=sorted(item.codes),
            meta=_meta("E0002", col, "code_set", "コード表にない値です ("
                       + ", ".join(f"{k}={v}" for k, v in list(item.codes.items())[:6])
                       + (" …" if len(item.codes) > 6 else "") + ")")))
    if item.check:
        code = "W0001" if item.check == "juminhyokodo" else "E0004"
        out.append(ExpectColumnValuesToHaveValidCheckDigit(
            column=col, scheme=item.check,
            meta=_meta(code, col, f"check_digit_{item.check}", "検査数字が一致しません")))
    return out


def cross_field_expectations(layout: Layout) -> list[Expectation]:
    """Rules across items or rows (相関チェック)."""
    names = set(layout.romaji)
    out: list[Expectation] = [gx.expectations.ExpectCompoundColumnsToBeUnique(
        column_list=list(layout.key),
        meta=_meta("E0004", layout.key[-1], "key_unique",
                   "キー (" + "・".join(layout.item(k).ja for k in layout.key)
                   + ") が重複しています"))]
    if {"idobi", "shoribi"} <= names:
        out.append(gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="shoribi", column_B="idobi", or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("E0004", "shoribi", "idobi_not_after_shoribi", "処理日が異動日より前です")))
    if {"idobi", "seinengappi"} <= names:
        flag = layout.item("seinengappi").fusho_flag
        # a 不詳 birth date may be text such as 年月日不詳: only compare calendar dates
        when: dict[str, Any] = ({"row_condition": _when(flag, ("0", "")),
                                 "condition_parser": "pandas"} if flag else {})
        out.append(gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="idobi", column_B="seinengappi", or_equal=True,
            ignore_row_if="either_value_is_missing", **when,
            meta=_meta("E0004", "seinengappi", "seinengappi_not_after_idobi",
                       "生年月日が異動日より後です")))
    if {"kaishibi", "shuryobi"} <= names:
        out.append(gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="shuryobi", column_B="kaishibi", or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("E0004", "shuryobi", "kaishibi_not_after_shuryobi",
                       "終了日が開始日より前です")))
    return out


def build_suite(layout: Layout) -> gx.ExpectationSuite:
    """The full suite for ``layout``, named ``<layout>_v<version>``."""
    suite = gx.ExpectationSuite(name=f"{layout.name}_v{layout.version}")
    for item in layout.items:
        for e in item_expectations(item, layout):
            suite.add_expectation(e)
    for e in cross_field_expectations(layout):
        suite.add_expectation(e)
    return suite
