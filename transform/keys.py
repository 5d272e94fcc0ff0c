"""Matching keys for 名寄せ and reconciliation: pure functions of one value, the original kept
beside the key by whoever calls them.

:func:`kana_key` follows the fuzzy kana search rules of the 住民記録 standard (see
``docs/architecture.md`` and the domain brief): a key under which spellings a clerk would call
the same reading collide, e.g. オオノ, オーノ, オウノ, おおの and ｵｰﾉ. :func:`banchi_key` gives
the numbers of an address tail (丁目-番-号) whatever their writing (漢数字, 全角, 「番地の」).
Still to come here: the kanji key (IVS, MJ縮退, 旧字体) and the 町字 part of the address key.
"""

from __future__ import annotations

import re
import unicodedata

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
