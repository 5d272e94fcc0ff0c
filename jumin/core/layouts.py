"""Input layouts, declared once as data.

Every layout lists its items (項目) with the standard's Japanese name, the romaji API name,
the type (``X`` half-width, ``N`` full-width, ``9`` integer, ``DATE`` YYYY-MM-DD), the length
in characters and the rules that apply. Parsing, the Great Expectations suite, the Parquet
schema and ``docs/layouts.md`` are all generated from these declarations, so a change here
changes all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ItemType = Literal["X", "N", "9", "DATE"]
Check = Literal["kojinbango", "lg_code", "juminhyokodo"]


@dataclass(frozen=True)
class Item:
    """One item (項目) of a layout."""

    ja: str
    romaji: str
    type: ItemType
    length: int
    required: bool = False
    #: allowed values with their Japanese meaning; empty means any value of the type
    codes: dict[str, str] = field(default_factory=dict)
    #: check-digit scheme validated for this item
    check: Check | None = None
    #: ``fixed`` when the value must have exactly ``length`` characters
    fixed: bool = False
    #: a DATE that may be 不詳 (non-calendar); the flag item that allows it
    fusho_flag: str | None = None
    #: ``katakana`` for full-width katakana only (フリガナ); ``alphabet`` for full-width Latin
    #: letters (外国人 names)
    charset: Literal["katakana", "alphabet"] | None = None
    #: required only when another item has one of the listed values (相関; "" = empty, "*" = any
    #: value)
    required_when: tuple[str, tuple[str, ...]] | None = None
    #: the values must match this pattern (for value sets too large for ``codes``, 続柄)
    pattern: Pattern | None = None
    note: str = ""


@dataclass(frozen=True)
class Pattern:
    """A value rule given as a regular expression (anchored, literal characters so Python's re,
    RE2 and DuckDB read it alike), with the rule's name and the hint a failure shows."""

    name: str
    regex: str
    hint: str


@dataclass(frozen=True)
class DisplayColumn:
    """A column a file of the layout may carry for people to read, which is not an item: the
    parser skips it (under its Japanese or English header) and nothing of it is stored. The
    review file of 名寄せ candidates shows the records beside each candidate this way."""

    ja: str
    en: str
    note: str = ""


@dataclass(frozen=True)
class Period:
    """The days a row of a layout without history rows is in force (支援措置, 提供停止の申出):
    from the DATE item ``start`` through ``end``. The snapshot of a 基準日 keeps the rows in force
    on it, and validation checks that ``end`` is not before ``start``."""

    start: str
    end: str
    #: the ``end`` day itself is in force (支援措置's 終了日) or not (a 撤回日 takes effect on
    #: its day)
    end_inclusive: bool
    #: an empty ``end`` means in force without end (the item is optional then)
    open_ended: bool = False


@dataclass(frozen=True)
class Layout:
    """A file layout: its items, its key and its version."""

    name: str
    version: str
    title: str
    key: tuple[str, ...]
    #: the item that identifies a person across history rows
    person: str
    items: tuple[Item, ...]
    #: columns for reading only, skipped by the parser (see :class:`DisplayColumn`)
    display: tuple[DisplayColumn, ...] = ()
    #: the data file may also be an ``.xlsx`` workbook (its first sheet), not only CSV
    spreadsheet: bool = False
    #: staged as bitemporal snapshots and deltas; False for decision sets, which their stage
    #: reads from the accepted zone
    snapshot: bool = True
    #: for a layout without history rows: the items giving the days a row is in force
    period: Period | None = None

    @property
    def romaji(self) -> list[str]:
        """Item names in file order."""
        return [i.romaji for i in self.items]

    def item(self, romaji: str) -> Item:
        """The item called ``romaji``."""
        for i in self.items:
            if i.romaji == romaji:
                return i
        raise KeyError(f"{self.name}: no item {romaji!r}")

    def header_aliases(self) -> dict[str, str]:
        """Header text (Japanese name or romaji) → romaji name."""
        aliases = {i.romaji: i.romaji for i in self.items}
        aliases.update({i.ja: i.romaji for i in self.items})
        return aliases

    def display_headers(self) -> frozenset[str]:
        """Header text of the display columns (Japanese or English), which the parser skips."""
        return frozenset(h for c in self.display for h in (c.ja, c.en))


SEIBETSU = {"0": "不明", "1": "男", "2": "女"}
FLAG01 = {"0": "なし", "1": "あり"}

# 異動事由 codes of this project (the standard's numeric codes are unconfirmed, see docs/codes.md).
# The first digit is the group: 1 記載, 2 消除, 3 修正.
IDOJIYU: dict[str, str] = {
    "10": "出生",
    "11": "国内転入",
    "12": "国外転入",
    "13": "職権記載",
    "14": "帰化",
    "15": "住登外者登録",
    "19": "その他記載",
    "20": "死亡",
    "21": "国内転出",
    "22": "国外転出",
    "23": "職権消除",
    "24": "失踪宣告",
    "29": "その他消除",
    "30": "転居",
    "31": "世帯変更",
    "32": "氏名変更",
    "33": "軽微な修正",
    "34": "職権修正",
    "35": "住登外者情報変更",
    "39": "その他修正",
}
IDOJIYU_GROUP = {"1": "記載", "2": "消除", "3": "修正"}


def idojiyu_group(code: str) -> str:
    """記載, 消除 or 修正 for an 異動事由 code."""
    return IDOJIYU_GROUP[code[0]]


#: 続柄 (relation to the 世帯主): these terms alone, or a chain of the relation terms joined with
#: 「の」 of at most ZOKUGARA_MAX_TERMS terms (子の妻, 妻の父, 子の子の子の子); 夫/妻 may carry
#: （未届） (内縁)
ZOKUGARA_ALONE = ("世帯主", "縁故者", "同居人")
ZOKUGARA_TERMS = (
    "夫（未届）",
    "妻（未届）",
    "夫",
    "妻",
    "子",
    "父",
    "母",
    "兄",
    "姉",
    "弟",
    "妹",
    "祖父",
    "祖母",
    "孫",
    "養父",
    "養母",
    "伯父",
    "伯母",
    "叔父",
    "叔母",
    "甥",
    "姪",
)
ZOKUGARA_MAX_TERMS = 4


def zokugara_pattern() -> str:
    """The regular expression of a valid 続柄 (see ``ZOKUGARA_TERMS``)."""
    term = "(?:" + "|".join(ZOKUGARA_TERMS) + ")"
    return f"^(?:{'|'.join(ZOKUGARA_ALONE)}|{term}(?:の{term}){{0,{ZOKUGARA_MAX_TERMS - 1}}})$"


ZOKUGARA = Pattern(
    "zokugara",
    zokugara_pattern(),
    f"続柄は {'・'.join(ZOKUGARA_ALONE)}、または 妻・子・父 などを「の」で{ZOKUGARA_MAX_TERMS}つまでつないだもの"
    "です (例 子の妻, 子の子)",
)


def _name_items() -> tuple[Item, ...]:
    return (
        Item("氏名", "shimei", "N", 100, required=True, note="氏と名の間に全角空白1つ (佐藤　一郎)"),
        Item("氏_日本人", "uji_nihonjin", "N", 50),
        Item("名_日本人", "na_nihonjin", "N", 50),
        Item("氏名_外国人アルファベット", "shimei_gaikokujinromaji", "N", 100, charset="alphabet", note="全角英字"),
        Item("氏名_外国人漢字", "shimei_gaikokujinkanji", "N", 100),
        Item("通称", "tsusho", "N", 100),
        Item(
            "氏名_フリガナ",
            "shimei_furigana",
            "N",
            100,
            charset="katakana",
            note="全角カタカナ; 2025年改正で住民票に追加、未設定可",
        ),
    )


def _seinengappi_items() -> tuple[Item, ...]:
    return (
        Item("性別", "seibetsu", "X", 1, required=True, codes=SEIBETSU),
        Item(
            "生年月日",
            "seinengappi",
            "DATE",
            10,
            fusho_flag="seinengappi_fushofuragu",
            required_when=("seinengappi_fushofuragu", ("0", "")),
            note="不詳の場合は暦にない日付や空欄も可; 元の文字列を保持",
        ),
        Item("生年月日_不詳フラグ", "seinengappi_fushofuragu", "X", 1, codes=FLAG01),
        Item(
            "生年月日_不詳表記",
            "seinengappi_fushohyoki",
            "N",
            72,
            required_when=("seinengappi_fushofuragu", ("1",)),
            note="例: 昭和○年頃",
        ),
    )


def _ido_items() -> tuple[Item, ...]:
    return (
        Item("異動事由", "idojiyu", "X", 2, required=True, codes=IDOJIYU, fixed=True),
        Item("異動日", "idobi", "DATE", 10, required=True, note="異動の効力が生じた日"),
        Item("処理日", "shoribi", "DATE", 10, required=True, note="記録した日 (異動日以後)"),
    )


ATENA = Layout(
    name="atena",
    version="1",
    title="宛名基本情報 (住登者・住登外者)",
    key=("atenabango", "rirekibango"),
    person="atenabango",
    items=(
        Item(
            "宛名番号",
            "atenabango",
            "X",
            15,
            required=True,
            note="団体内で一意; 全国では (全国地方公共団体コード, 宛名番号)",
        ),
        Item("履歴番号", "rirekibango", "9", 5, required=True, note="1から異動ごとに増える"),
        Item("住登区分", "jutokubun", "X", 1, required=True, codes={"1": "住登者", "2": "住登外者"}),
        Item(
            "住民票コード",
            "juminhyokodo",
            "X",
            11,
            check="juminhyokodo",
            fixed=True,
            required_when=("jutokubun", ("1",)),
            note="住登者は必須; 検査数字は警告のみ",
        ),
        Item("個人番号", "kojinbango", "X", 12, check="kojinbango", fixed=True),
        *_name_items(),
        *_seinengappi_items(),
        Item("住所_市区町村コード", "jusho_shikuchosonkodo", "X", 6, required=True, check="lg_code", fixed=True),
        Item("住所_町字コード", "jusho_choazakodo", "X", 7, fixed=True, note="0000000 = 町字なし"),
        Item("住所_都道府県", "jusho_todofuken", "N", 4),
        Item("住所_市区郡町村名", "jusho_shikugunchosonmei", "N", 12),
        Item("住所_町字", "jusho_choaza", "N", 120),
        Item("住所_番地号表記", "jusho_banchigohyoki", "N", 50),
        Item("住所_方書", "jusho_katagaki", "N", 300),
        Item("住所_郵便番号", "jusho_yubinbango", "X", 7, fixed=True),
        *_ido_items(),
        Item("代表宛名フラグ", "daihyo_atena_flag", "9", 1, codes={"0": "代表", "1": "非代表"}),
        Item("名寄せ先宛名番号", "nayosesakiatenabango", "X", 15),
        Item(
            "他業務参照不可フラグ",
            "tagyomusanshofukafuragu",
            "X",
            1,
            codes=FLAG01,
            note="1 = 住基ネット由来、他業務で参照不可",
        ),
        Item(
            "世帯番号",
            "setaibango",
            "X",
            15,
            required_when=("zokugara", ("*",)),
            note="団体内で世帯ごとに一意、再利用しない; 住登者の行のみ",
        ),
        Item(
            "続柄",
            "zokugara",
            "N",
            20,
            required_when=("setaibango", ("*",)),
            pattern=ZOKUGARA,
            note="世帯主との続柄: "
            + "・".join(ZOKUGARA_ALONE)
            + " または "
            + "・".join(ZOKUGARA_TERMS)
            + " を「の」で"
            + str(ZOKUGARA_MAX_TERMS)
            + "つまでつないだもの",
        ),
    ),
)

JUKI = Layout(
    name="juki",
    version="1",
    title="住基 本人確認情報 (変更情報を含む)",
    key=("juminhyokodo", "rirekibango"),
    person="juminhyokodo",
    items=(
        Item("住民票コード", "juminhyokodo", "X", 11, required=True, check="juminhyokodo", fixed=True),
        Item("履歴番号", "rirekibango", "9", 5, required=True),
        Item("氏名", "shimei", "N", 100, required=True),
        Item("氏名_フリガナ", "shimei_furigana", "N", 100, charset="katakana"),
        *_seinengappi_items(),
        Item("住所_市区町村コード", "jusho_shikuchosonkodo", "X", 6, required=True, check="lg_code", fixed=True),
        Item("住所", "jusho", "N", 300, required=True),
        Item("個人番号", "kojinbango", "X", 12, check="kojinbango", fixed=True),
        *_ido_items(),
    ),
)

SHIEN = Layout(
    name="shien",
    version="1",
    title="DV等支援措置対象者",
    key=("atenabango", "kaishibi"),
    person="atenabango",
    items=(
        Item("宛名番号", "atenabango", "X", 15, required=True),
        Item("区分", "kubun", "X", 1, required=True, codes={"1": "申出者", "2": "併せて支援を求める者"}),
        Item("開始日", "kaishibi", "DATE", 10, required=True),
        Item("終了日", "shuryobi", "DATE", 10, required=True, note="延長時は新しい行"),
    ),
    period=Period("kaishibi", "shuryobi", end_inclusive=True),
)

#: 提供先 of an opt-out that covers every service allowing opting out
TEIKYOSAKI_ALL = "*"

TEIKYOSAKI = Pattern(
    "teikyosaki",
    r"^(?:\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$",
    "提供先は 提供を止める事業の契約ID (半角英数字と _ . -、例 kenko_annai)、"
    "または提供停止を認めるすべての事業なら * です",
)

#: 提供停止の申出 (opt-out registry): a resident asks that their data no longer be provided to
#: a service whose contract allows opting out (``optOut``); a withdrawal (撤回) is the same row
#: sent again with 撤回日
TEIKYOTEISHI = Layout(
    name="teikyoteishi",
    version="1",
    title="提供停止の申出 (オプトアウト)",
    key=("atenabango", "teikyosaki", "moshidebi"),
    person="atenabango",
    items=(
        Item("宛名番号", "atenabango", "X", 15, required=True, note="申出をした住民の自団体の宛名"),
        Item(
            "提供先",
            "teikyosaki",
            "X",
            64,
            required=True,
            pattern=TEIKYOSAKI,
            note="提供を止める事業の契約ID; * = 提供停止を認めるすべての事業",
        ),
        Item("申出日", "moshidebi", "DATE", 10, required=True, note="この日から提供しない"),
        Item(
            "撤回日",
            "tekkaibi",
            "DATE",
            10,
            note="申出の撤回を受け付けた日 (この日から再び提供); 空欄 = 撤回なし; 撤回は同じ行に撤回日を記入して再送",
        ),
        Item("受付者", "uketsukesha", "N", 50, note="申出を受け付けた職員 (全角)"),
    ),
    period=Period("moshidebi", "tekkaibi", end_inclusive=False, open_ended=True),
)

#: "required when 判定 has a value": a row left without 判定 (not decided) is one E0001 on 判定,
#: not three; every decided row names who decided and when ("*" = any value, as in the rules)
DECIDED = ("hantei", ("*",))

#: 判定 of a 名寄せ candidate; the latest decision on a pair is the one in effect
HANTEI: dict[str, str] = {
    "一致": "同一人 (名寄せする)",
    "不一致": "別人 (今後この組を候補にしない)",
    "保留": "判断保留 (候補に残す)",
    "解除": "名寄せ解除 (以前の一致を取り消す)",
}

#: what the review file (名寄せ候補) shows beside the items of a decision: the municipality's own
#: record and, of the candidate, only what the decision needs (never its street address; for a
#: person under 支援措置 no address information at all). load/review.py writes them in this order.
REVIEW_DISPLAY: tuple[DisplayColumn, ...] = (
    DisplayColumn("宛名_氏名", "own_name", "自団体の宛名の氏名"),
    DisplayColumn("宛名_フリガナ", "own_kana"),
    DisplayColumn("宛名_生年月日", "own_birth_date", "送付されたとおり (不詳の表記を含む)"),
    DisplayColumn("宛名_性別", "own_sex"),
    DisplayColumn("宛名_住所", "own_address", "自団体の宛名の住所 (方書を含む)"),
    DisplayColumn("順位", "rank", "この宛名の候補の中での順位 (1 = 最有力)"),
    DisplayColumn("候補_種別", "candidate_kind", "住基 (住民票コード) または 宛名 (他団体等の宛名番号)"),
    DisplayColumn("候補_氏名", "candidate_name"),
    DisplayColumn("候補_フリガナ", "candidate_kana"),
    DisplayColumn("候補_生年月日", "candidate_birth_date"),
    DisplayColumn("候補_性別", "candidate_sex"),
    DisplayColumn(
        "候補_住所_市区町村", "candidate_municipality", "候補の住所の市区町村名のみ; 支援措置対象者は 非表示"
    ),
    DisplayColumn(
        "候補_町字一致",
        "candidate_choaza_agrees",
        "一致 / 旧住所で一致 / 不一致 / 不明; 町字そのものは表示しない; 支援措置対象者は 非表示",
    ),
    DisplayColumn(
        "候補_番地一致",
        "candidate_banchi_agrees",
        "町字と番地号がともに一致するか (一致 / 旧住所で一致 / 不一致 / 不明); 支援措置対象者は 非表示",
    ),
    DisplayColumn("一致確率", "match_probability", "照合モデルによる同一人の確率 (判定による候補は空欄)"),
    DisplayColumn("根拠", "reasons", "比較した項目ごとの一致度と重み (例 氏: 一致 (+8.1))"),
    DisplayColumn("前回の判定", "previous_decision", "この組に現在有効な判定 (保留など)"),
)

NAYOSE = Layout(
    name="nayose",
    version="1",
    title="名寄せ判定",
    key=("atenabango", "kohobango"),
    person="atenabango",
    items=(
        Item("宛名番号", "atenabango", "X", 15, required=True, note="判定する自団体の宛名"),
        Item(
            "候補番号",
            "kohobango",
            "X",
            22,
            required=True,
            note="住基の候補は住民票コード (11桁); 宛名の候補は <全国地方公共団体コード>-<宛名番号> "
            "(例 141097-000000000000003); 支援措置対象者である他団体の宛名は名寄せ候補ファイルの S で始まる "
            "22文字の番号 (団体を伏せたもの)",
        ),
        Item("判定", "hantei", "N", 3, required=True, codes=HANTEI),
        Item("判定者", "hanteisha", "N", 50, required_when=DECIDED, note="判定した職員 (全角)"),
        Item("判定日", "hanteibi", "DATE", 10, required_when=DECIDED),
        Item("理由", "riyu", "N", 200, note="全角 (数字・英字も全角で)"),
    ),
    display=REVIEW_DISPLAY,
    spreadsheet=True,
    snapshot=False,
)

LAYOUTS: dict[str, Layout] = {x.name: x for x in (ATENA, JUKI, SHIEN, TEIKYOTEISHI, NAYOSE)}


def get_layout(name: str, version: str | None = None) -> Layout:
    """The layout called ``name``; raises KeyError for an unknown name or version."""
    layout = LAYOUTS[name]
    if version is not None and version != layout.version:
        raise KeyError(f"{name} version {version} (known: {layout.version})")
    return layout
