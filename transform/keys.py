"""Matching keys for 名寄せ and reconciliation: pure functions of one value, the original kept
beside the key by whoever calls them.

:func:`kana_key` follows the fuzzy kana search rules of the 住民記録 standard (see
``docs/architecture.md`` and the domain brief): a key under which spellings a clerk would call
the same reading collide, e.g. オオノ, オーノ, オウノ, おおの and ｵｰﾉ. :func:`banchi_key` gives
the numbers of an address tail (丁目-番-号) whatever their writing (漢数字, 全角, 「番地の」).
The kanji key (:func:`kanji_key`: IVS stripped, compatibility ideographs, MJ縮退, 旧字体) lets
the 異体字 spellings of one name collide: 髙橋 and 高橋, 渡邊, 渡邉 and 渡辺. The rules, their
examples and their known limits are written out for operators in ``docs/matching-keys.md``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jntajis

#: every dash a long-vowel mark is written with: ー ― － ‐ ｰ - and their kin
DASHES = "ー―－‐-‑‒–—ｰ〜～~"
#: spaces between 氏 and 名 (full- and half-width, no-break)
SPACES = " 　\u00a0\t"
#: kana the standard treats as one: ヂ/ジ, ヅ/ズ, ヴ/ブ, ヲ/オ (before 濁点 are dropped)
SAME_KANA = str.maketrans({"ヂ": "ジ", "ヅ": "ズ", "ヴ": "ブ", "ヲ": "オ", "ヰ": "イ", "ヱ": "エ"})
#: small kana and their large forms
SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
#: the vowel row (段) of each plain katakana, for the long-vowel mark after it
VOWEL_OF = {
    kana: vowel
    for vowel, row in (
        ("ア", "アカサタナハマヤラワ"),
        ("イ", "イキシチニヒミリ"),
        ("ウ", "ウクスツヌフムユル"),
        ("エ", "エケセテネヘメレ"),
        ("オ", "オコソトノホモヨロ"),
    )
    for kana in row
}
_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in range(ord("ぁ"), ord("ゖ") + 1)}
_VOICING_MARKS = {0x3099: None, 0x309A: None}
_TO_LONG_MARK = str.maketrans(dict.fromkeys(DASHES, "ー"))
_NO_SPACES = str.maketrans(dict.fromkeys(SPACES, None))


def to_katakana(text: str) -> str:
    """Full-width katakana: half-width kana and hiragana folded (NFKC joins ｽﾞ into ズ)."""
    return unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA)


def drop_voicing(text: str) -> str:
    """Remove 濁点 and 半濁点: ガ→カ, パ→ハ, バ→ハ."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).translate(_VOICING_MARKS))


def lengthen(text: str) -> str:
    """Write long vowels out: a long-vowel mark becomes the vowel of the kana before it, and ウ
    after an オ段 kana becomes オ (オーノ, オウノ → オオノ). A mark with no vowel before it
    (at the start, after ン or ッ) is dropped."""
    out: list[str] = []
    for ch in text:
        prev = out[-1] if out else ""
        if ch == "ー":
            if prev in VOWEL_OF:
                out.append(VOWEL_OF[prev])
            continue
        if ch == "ウ" and VOWEL_OF.get(prev) == "オ":
            ch = "オ"
        out.append(ch)
    return "".join(out)


def kana_key(reading: str | None) -> str | None:
    """The fuzzy search key of a reading (フリガナ), or None for a missing one.

    Applied in this order: half-width and hiragana to full-width katakana; every dash to ー;
    spaces removed; ヂ/ヅ/ヴ/ヲ (and the old ヰ/ヱ) to ジ/ズ/ブ/オ (イ/エ); small kana to large;
    濁点 and 半濁点 dropped; long vowels written out (:func:`lengthen`). Characters that are
    not kana (a stray kanji, a Latin letter) are kept as NFKC gives them, so they still
    separate readings.
    """
    if reading is None:
        return None
    text = to_katakana(reading).translate(_TO_LONG_MARK).translate(_NO_SPACES)
    text = drop_voicing(text.translate(SAME_KANA).translate(SMALL_KANA))
    key = lengthen(text)
    return key or None


_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = re.compile(f"[{''.join(_KANJI_DIGITS)}{''.join(_KANJI_UNITS)}]+")
#: what separates the numbers of a 丁目-番-号 tail (after NFKC, longest first)
_SEPARATORS = re.compile(r"丁目|番地の|番地|番の|番|号の|号|地割|の|[-‐‑‒–—―ー]")
_NUMBER = re.compile(r"[0-9]+")


def kanji_to_int(text: str) -> int:
    """A number in 漢数字: 三 → 3, 十二 → 12, 二十三 → 23, 百五 → 105, 一〇五 → 105 (digit by digit)."""
    if not any(c in _KANJI_UNITS for c in text):
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _KANJI_UNITS:
            total += (1 if digit is None else digit) * _KANJI_UNITS[c]
            digit = None
        else:
            digit = _KANJI_DIGITS[c]
    return total + (digit or 0)


def banchi_key(tail: str | None) -> str | None:
    """The numbers of an address tail (丁目, 番地, 号), joined by ``-``: 三丁目4番5号, 3-4-5,
    ３－４－５, 3丁目4番地の5 and 三丁目四番地五 all give ``3-4-5``. Other text (a 字 name, a
    building) is not part of the key; None when the tail has no number."""
    if tail is None:
        return None
    text = _KANJI_NUMBER.sub(lambda m: str(kanji_to_int(m.group())), unicodedata.normalize("NFKC", tail))
    numbers = _NUMBER.findall(_SEPARATORS.sub("-", text))
    return "-".join(str(int(n)) for n in numbers) or None


# --- 氏名: the kanji key ---------------------------------------------------------------------

#: variation selectors: standard (U+FE00–U+FE0F) and ideographic (IVS, U+E0100–U+E01EF)
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")

#: The twelve CJK compatibility ideographs NFKC keeps (U+FA0E, FA0F, FA11, FA13, FA14, FA1F, FA21,
#: FA23, FA24, FA27, FA28, FA29: Unicode counts them as unified ideographs, so they have no
#: decomposition). They are decided here and nowhere else: the four that MJ縮退's 戸籍法関連通達
#: scheme relates to a JIS X 0208 character are mapped, the other eight stay as they are (MJ縮退's
#: looser schemes would turn 﨩 into 搗, a different character).
COMPAT_KEPT_BY_NFKC: dict[str, str] = {
    "\ufa0e": "\ufa0e",
    "\ufa0f": "\ufa0f",
    "\ufa11": "崎",  # 﨑 (たつさき), the commonest: 﨑山, 山﨑
    "\ufa13": "\ufa13",
    "\ufa14": "\ufa14",
    "\ufa1f": "臈",  # 﨟 as in 上﨟
    "\ufa21": "\ufa21",
    "\ufa23": "赳",  # 﨣
    "\ufa24": "返",  # 﨤
    "\ufa27": "\ufa27",
    "\ufa28": "\ufa28",
    "\ufa29": "\ufa29",
}

#: MJ縮退 schemes, most trusted first: JIS包摂規準・UCS統合規則 (the same character by the code
#: standards), 戸籍法関連通達 (the same character in 戸籍 practice), 法務省告示582号別表第四, and
#: last the CITPC's inference from reading and glyph
MJ_SCHEMES = (
    jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE,
    jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE,
    jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582,
    jntajis.MJShrinkSchemeCombo.INFERENCE_BY_READING_AND_GLYPH,
)

#: 旧字体 (and other 異体字) → the form the key uses, as groups "key form + variants". Every pair
#: here is one character in 戸籍/住基 practice: the 康熙字典体 the 常用漢字表 gives in brackets
#: (櫻→桜, 國→国, 龍→竜), the 異体字 of the 人名用漢字表 and of surnames (嶋→島, 冨→富, 邉→辺,
#: 嵜→崎); each is related by MJ縮退's 戸籍法関連通達 scheme (a test checks it). They are in JIS X
#: 0208, which MJ縮退 leaves alone here (it only maps what JIS X 0208 lacks: 髙, 𠮷, 濵, 德),
#: except 鷗, for which MJ縮退 has no JIS X 0208 form. Kept apart on purpose: 斉 and 斎 (齊 is the
#: 旧字体 of 斉, 齋 that of 斎: two surnames, 斉藤 ≠ 斎藤); 弁 and its three 旧字体 辨, 瓣, 辯
#: (three different characters the 当用漢字 merged).
KYUJITAI_GROUPS = (
    "亜亞 悪惡 圧壓 囲圍 医醫 為爲 壱壹 隠隱 営營 栄榮 衛衞 駅驛 円圓 塩鹽 応應 欧歐 殴毆 桜櫻 奥奧 "
    "価價 仮假 画畫 会會 壊壞 懐懷 拡擴 殻殼 覚覺 学學 楽樂 巻卷 勧勸 歓歡 観觀 関關 陥陷 顔顏 帰歸 "
    "気氣 偽僞 戯戲 犠犧 旧舊 拠據 挙擧 峡峽 挟挾 狭狹 暁曉 区區 駆驅 勲勳 径徑 恵惠 経經 渓溪 蛍螢 "
    "軽輕 継繼 鶏鷄 芸藝 欠缺 倹儉 剣劍 圏圈 検檢 権權 献獻 県縣 険險 顕顯 験驗 厳嚴 広廣 効效 恒恆 "
    "鉱鑛礦砿 号號 国國 済濟 砕碎 斎齋 剤劑 雑雜 参參 惨慘 桟棧 蚕蠶 賛贊 残殘 糸絲 歯齒 児兒 辞辭 "
    "湿濕 実實 舎舍 写寫 釈釋 寿壽 収收 従從 渋澁 獣獸 縦縱 粛肅 処處 叙敍 奨奬 将將 焼燒 称稱 証證 "
    "乗乘 剰剩 壌壤 嬢孃 条條 浄淨 畳疊 譲讓 醸釀 触觸 寝寢 慎愼 真眞 尽盡 図圖 粋粹 酔醉 随隨 髄髓 "
    "数數 枢樞 声聲 静靜 斉齊 摂攝 窃竊 専專 浅淺 戦戰 践踐 銭錢 潜潛 繊纖 禅禪 双雙 壮壯 捜搜 挿插 "
    "争爭 総總 荘莊 装裝 騒騷 蔵藏 臓臟 属屬 続續 堕墮 対對 体體 帯帶 滞滯 台臺 滝瀧 択擇 沢澤 単單 "
    "担擔 胆膽 団團 弾彈 断斷 痴癡 遅遲 昼晝 虫蟲 鋳鑄 庁廳 聴聽 鎮鎭 逓遞 鉄鐵 転轉 点點 伝傳 党黨 "
    "盗盜 灯燈 当當 闘鬪 独獨 読讀 届屆 縄繩 弐貳 悩惱 脳腦 覇霸 廃廢 拝拜 売賣 麦麥 発發 髪髮 抜拔 "
    "蛮蠻 秘祕 浜濱 払拂 仏佛 並竝 変變 辺邊邉 舗舖 宝寶 万萬 満滿 黙默 訳譯 薬藥 与與 予豫 余餘 誉譽 "
    "揺搖 様樣 謡謠 来來 乱亂 覧覽 竜龍 両兩 猟獵 塁壘 励勵 礼禮 霊靈 齢齡 恋戀 炉爐 労勞 楼樓 湾灣 "
    "稲稻 穂穗 富冨 島嶋嶌 峰峯 館舘 槙槇 渕淵 野埜 岳嶽 村邨 弥彌 崎嵜 曽曾 穏穩 褒襃 冊册 禄祿 鴎鷗 "
    "尭堯"
).split()
#: the pairs whose glyphs JIS X 0208:1983 swapped (one code point in JIS C 6226-1978, so the same
#: character to every legacy system: 桧山 and 檜山 are one name); the 22nd, 砿/礦, is in 鉱 above
JIS1983_GROUPS = (
    "鯵鰺 鴬鶯 蛎蠣 撹攪 竃竈 潅灌 諌諫 頚頸 蕊蘂 靭靱 賎賤 壷壺 砺礪 梼檮 涛濤 迩邇 蝿蠅 桧檜 侭儘 薮藪 篭籠"
).split()
#: 常用漢字表 (2010): the 通用字体 outside JIS X 0208 and their 許容字体 inside it (one character)
JOYO2010_GROUPS = "填塡 剥剝 頬頰 叱𠮟".split()
ITAIJI: dict[str, str] = {
    variant: group[0] for group in (*KYUJITAI_GROUPS, *JIS1983_GROUPS, *JOYO2010_GROUPS) for variant in group[1:]
}


def strip_ivs(text: str) -> str:
    """``text`` without variation selectors: the ideographic ones (IVS, U+E0100–U+E01EF) that
    pick a glyph of 葛 or 辻, and the standard ones (U+FE00–U+FE0F). NFKC keeps both, so a key
    has to strip them itself; the original string keeps them."""
    return _VARIATION_SELECTORS.sub("", text)


def in_jisx0208(text: str) -> bool:
    """True when every character of ``text`` is in JIS X 0208 (or ASCII).

    ``iso2022_jp`` is the strict codec: ``euc_jp`` also takes JIS X 0212 (濵) and ``cp932`` the
    NEC/IBM extensions (髙, 﨑, 德), which legacy systems store but JIS X 0208 does not have.
    """
    try:
        text.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def mj_shrink(ch: str) -> str:
    """MJ縮退 of one character outside JIS X 0208: the first candidate, scheme by scheme in the
    order of :data:`MJ_SCHEMES`, that JIS X 0208 has (髙→高, 𠮷→吉, 濵→浜, 德→徳); ``ch`` itself
    when no scheme gives one. The first candidate alone would not do: it may be the input or a
    form JIS X 0208 lacks. ``jntajis.jnta_shrink_translit`` is not used: it turns 髙 and 𠮷 into
    U+FFFD."""
    for scheme in MJ_SCHEMES:
        for candidate in jntajis.mj_shrink_candidates(ch, int(scheme)):
            if candidate != ch and in_jisx0208(candidate):
                return candidate
    return ch


@lru_cache(maxsize=1 << 16)
def kanji_char_key(ch: str) -> str:
    """The key of one character (after IVS stripping and NFKC): compatibility ideographs by
    :data:`COMPAT_KEPT_BY_NFKC`, characters outside JIS X 0208 by :func:`mj_shrink`, then
    旧字体 by :data:`ITAIJI`. Cached: names use a few thousand distinct characters."""
    if ch in COMPAT_KEPT_BY_NFKC:
        ch = COMPAT_KEPT_BY_NFKC[ch]
    elif not in_jisx0208(ch):
        ch = mj_shrink(ch)
    return ITAIJI.get(ch, ch)


def kanji_key(text: str | None) -> str | None:
    """A key under which the 異体字 spellings of one name collide, or None for a missing or
    blank one: 髙橋 = 高橋, 𠮷野 = 吉野, 渡邊 = 渡邉 = 渡辺, 﨑山 = 崎山, 櫻井 = 桜井; but
    斉藤 ≠ 斎藤.

    Applied in this order: variation selectors stripped (:func:`strip_ivs`); NFKC (full-width
    letters and digits, half-width kana, compatibility ideographs such as 塚 U+FA10); then per
    character :func:`kanji_char_key`; spaces removed. For matching only: callers keep the
    original.
    """
    if text is None:
        return None
    folded = unicodedata.normalize("NFKC", strip_ivs(text))
    key = "".join("".join(map(kanji_char_key, folded)).split())
    return key or None


def split_shimei(shimei: str | None) -> tuple[str | None, str | None]:
    """(氏, 名) of a 氏名 written 氏 + space + 名: split on the first full- or half-width space
    (佐藤　一郎 → 佐藤, 一郎); no space gives (the whole, None), a missing or blank 氏名
    (None, None). A foreign name in alphabet splits the same way, so callers use 氏_日本人 and
    名_日本人 where a row has them."""
    if shimei is None:
        return None, None
    parts = re.split(f"[{SPACES}]+", shimei.strip(SPACES), maxsplit=1)
    if not parts[0]:
        return None, None
    return parts[0], parts[1] if len(parts) > 1 else None
