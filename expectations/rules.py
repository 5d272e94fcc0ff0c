"""The validation rules of a layout, derived from its declaration.

A :class:`Rule` is plain data: which columns, which check, which error code and what to tell a
clerk. The same list becomes the Great Expectations suite (:mod:`expectations.suite`) and the
DuckDB query that runs it fast (:mod:`expectations.sql`), so the two cannot drift apart; a test
runs both on the same data and demands the same findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jumin.core.layouts import Item, Layout

Kind = Literal["not_null", "regex", "calendar", "length", "in_set", "check_digit", "unique", "a_ge_b", "consecutive"]
#: rows where every clause holds: column has one of the values ("" = empty, "*" = not empty)
Condition = tuple[tuple[str, tuple[str, ...]], ...]
NOT_EMPTY = "*"

# Classes of characters per item type. Literal characters, not \u escapes, so Python's re,
# RE2 (pandas on Arrow strings) and DuckDB all read the pattern the same way.
HALF_WIDTH = r"^[\x20-\x7E]*$"
DIGITS = r"^[0-9]+$"
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: code points of the standard character set outside JIS X 0208 (which comes from CP932):
#: CJK ideographs with their extensions and compatibility forms (the MJ range), kana, CJK
#: symbols, full-width forms, IVS selectors, and plane 16, where MJ+ (行政事務標準文字) puts its
#: additions.
EXTRA_RANGES = (
    (0x3000, 0x303F),
    (0x3040, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF01, 0xFF5E),
    (0x20000, 0x2FFFF),
    (0x30000, 0x323AF),
    (0xE0100, 0xE01EF),
    (0x100000, 0x10FFFD),
)
#: never allowed in a full-width item, even where CP932 can encode them: C0/C1 controls,
#: ASCII and NBSP, 外字 (U+E000–F8FF; only through the municipality's map), half-width kana
EXCLUDED = ((0x00, 0xA0), (0xE000, 0xF8FF), (0xFF61, 0xFF9F))


def _jis_x_0208_code_points() -> set[int]:
    out = set()
    for cp in range(0x80, 0x10000):
        if not 0xD800 <= cp <= 0xDFFF:
            try:
                chr(cp).encode("cp932")
            except UnicodeEncodeError:
                continue
            out.add(cp)
    return out


def full_width_pattern() -> str:
    """The allow-list of full-width items as one character class (literal characters)."""
    allowed = _jis_x_0208_code_points()
    for lo, hi in EXTRA_RANGES:
        allowed.update(range(lo, hi + 1))
    for lo, hi in EXCLUDED:
        allowed.difference_update(range(lo, hi + 1))
    cps = sorted(allowed)
    parts, start, prev = [], cps[0], cps[0]
    for cp in [*cps[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
        start = prev = cp
    return "^[" + "".join(parts) + "]*$"


FULL_WIDTH = full_width_pattern()
#: full-width katakana, the long-vowel mark, the middle dot and the full-width space
KATAKANA = "^[\u30a1-\u30f6\u30fc\u30fb\u3000]*$"
#: full-width Latin letters, the full-width space and the marks foreign names use (，．－’)
ALPHABET = "^[\uff21-\uff3a\uff41-\uff5a\u3000\uff0c\uff0e\uff0d\u2019]*$"
_CHARSET = {
    "katakana": (KATAKANA, "全角カタカナのみ使用できます"),
    "alphabet": (ALPHABET, "全角英字のみ使用できます (姓と名の間は全角空白)"),
}

_PATTERN = {"X": HALF_WIDTH, "N": FULL_WIDTH, "9": DIGITS, "DATE": ISO_DATE}
_CHARSET_HINT = {
    "X": "半角英数字・記号のみ使用できます",
    "N": "全角文字 (JIS X 0208・MJ の文字・IVS) のみ使用できます (半角文字・外字は不可)",
    "9": "半角数字のみ使用できます",
    "DATE": "YYYY-MM-DD 形式で入力してください",
}


@dataclass(frozen=True)
class Rule:
    """One check on one or more columns, with the code and hint a failure produces."""

    kind: Kind
    columns: tuple[str, ...]
    code: str
    #: the item a finding names (its value is shown in the receipt)
    item: str
    name: str
    hint: str
    #: only rows meeting this condition are checked
    when: Condition | None = None
    regex: str = ""
    min_length: int = 0
    max_length: int = 0
    values: tuple[str, ...] = ()
    scheme: str = ""


def item_rules(item: Item, layout: Layout) -> list[Rule]:
    """Rules on one item's values (and the conditions under which they apply)."""
    col = item.romaji
    out: list[Rule] = []
    if item.required and not item.required_when:
        out.append(Rule("not_null", (col,), "E0001", col, "required", "必須項目です"))
    if item.required_when:
        other, values = item.required_when
        shown = "・".join({"": "空欄", NOT_EMPTY: "入力あり"}.get(v, v) for v in values)
        out.append(
            Rule(
                "not_null",
                (col,),
                "E0004",
                col,
                f"required_when_{other}",
                f"「{layout.item(other).ja}」が {shown} のとき必須です",
                when=(item.required_when,),
            )
        )
    # a 不詳 date may be anything; its text is kept and checked only by length
    plain: Condition | None = ((item.fusho_flag, ("0", "")),) if item.fusho_flag else None
    regex, hint = _CHARSET[item.charset] if item.charset else (_PATTERN[item.type], _CHARSET_HINT[item.type])
    out.append(
        Rule("regex", (col,), "E0002", col, f"charset_{item.charset or item.type}", hint, when=plain, regex=regex)
    )
    if item.pattern:
        pat = item.pattern
        out.append(Rule("regex", (col,), "E0002", col, f"pattern_{pat.name}", pat.hint, regex=pat.regex))
    if item.type == "DATE":
        out.append(
            Rule(
                "calendar",
                (col,),
                "E0002",
                col,
                "calendar_date",
                "暦にない日付です (不詳の場合は不詳フラグを1に)" if item.fusho_flag else "暦にない日付です",
                when=plain,
            )
        )
    out.append(
        Rule(
            "length",
            (col,),
            "E0003",
            col,
            "length",
            f"{item.length}文字ちょうどで入力してください"
            if item.fixed
            else f"{item.length}文字以内で入力してください",
            min_length=item.length if item.fixed else 1,
            max_length=item.length,
        )
    )
    if item.codes:
        shown = ", ".join(f"{k}={v}" for k, v in list(item.codes.items())[:6])
        more = " …" if len(item.codes) > 6 else ""
        out.append(
            Rule(
                "in_set",
                (col,),
                "E0002",
                col,
                "code_set",
                f"コード表にない値です ({shown}{more})",
                values=tuple(sorted(item.codes)),
            )
        )
    if item.check:
        code = "W0001" if item.check == "juminhyokodo" else "E0004"
        out.append(
            Rule(
                "check_digit",
                (col,),
                code,
                col,
                f"check_digit_{item.check}",
                "検査数字が一致しません",
                scheme=item.check,
            )
        )
    return out


def cross_field_rules(layout: Layout) -> list[Rule]:
    """Rules across items or rows (相関チェック)."""
    names = set(layout.romaji)
    key_ja = "・".join(layout.item(k).ja for k in layout.key)
    out = [Rule("unique", layout.key, "E0004", layout.key[-1], "key_unique", f"キー ({key_ja}) が重複しています")]
    if {"idobi", "shoribi"} <= names:
        out.append(
            Rule(
                "a_ge_b",
                ("shoribi", "idobi"),
                "E0004",
                "shoribi",
                "idobi_not_after_shoribi",
                "処理日が異動日より前です",
            )
        )
    if {"idobi", "seinengappi"} <= names:
        flag = layout.item("seinengappi").fusho_flag
        # a 不詳 birth date may be text such as 年月日不詳: only compare calendar dates
        out.append(
            Rule(
                "a_ge_b",
                ("idobi", "seinengappi"),
                "E0004",
                "seinengappi",
                "seinengappi_not_after_idobi",
                "生年月日が異動日より後です",
                when=((flag, ("0", "")),) if flag else None,
            )
        )
    if "rirekibango" in names:
        out.append(
            Rule(
                "consecutive",
                (layout.person, "rirekibango"),
                "E0004",
                "rirekibango",
                "rirekibango_consecutive",
                "履歴番号が連続していません (一つ前の履歴番号の行がありません)",
            )
        )
    if {"tsusho", "shimei_gaikokujinromaji", "shimei_gaikokujinkanji"} <= names:
        # 通称 belongs to foreign residents, who carry a foreign-script name
        out.append(
            Rule(
                "not_null",
                ("shimei_gaikokujinromaji",),
                "E0004",
                "shimei_gaikokujinromaji",
                "tsusho_needs_foreign_name",
                "通称があるときは氏名_外国人アルファベットまたは氏名_外国人漢字が必要です",
                when=(("tsusho", (NOT_EMPTY,)), ("shimei_gaikokujinkanji", ("",))),
            )
        )
    if (p := layout.period) is not None:
        # an empty end (open-ended) is no finding: the rule skips a missing value
        start, end = layout.item(p.start), layout.item(p.end)
        out.append(
            Rule(
                "a_ge_b",
                (p.end, p.start),
                "E0004",
                p.end,
                f"{p.start}_not_after_{p.end}",
                f"{end.ja}が{start.ja}より前です",
            )
        )
    return out


def rules_for(layout: Layout) -> list[Rule]:
    """Every rule of ``layout``, in a stable order (the index is the rule's id)."""
    return [r for item in layout.items for r in item_rules(item, layout)] + cross_field_rules(layout)
