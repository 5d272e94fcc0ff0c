"""Matching keys on real Japanese readings: the 住民記録 fuzzy kana search rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform.keys import banchi_key, drop_voicing, kana_key, kanji_to_int, lengthen, to_katakana

pytestmark = pytest.mark.unit

#: each group: spellings of one reading that the search rules call the same
SAME = [
    ("オオノ", "オーノ", "オウノ", "おおの", "ｵｰﾉ", "オ―ノ", "オ－ノ"),  # long vowels, オ段+ウ, dashes
    ("サイトウ", "サイトー", "さいとう", "ｻｲﾄｳ"),
    ("スズキ", "ススキ", "すずき", "ｽｽﾞｷ"),  # 濁点 ignored, half-width with ﾞ
    ("ジュン", "ヂュン", "シュン", "じゅん"),  # ヂ/ジ, 濁点
    ("ツヅキ", "ツズキ", "つづき"),  # ヅ/ズ
    ("ヴラド", "ブラド", "フラド"),  # ヴ/ブ, then 濁点
    ("ハットリ", "ハツトリ", "パットリ", "バットリ"),  # small ッ, ハ/パ/バ
    ("キャロル", "キヤロル"),  # small ャ
    ("サトウ　イチロウ", "サトー イチロー", "さとう いちろう", "サトウイチロウ", "ｻﾄｳ ｲﾁﾛｰ"),  # spaces
    ("ヲノ", "オノ"),  # ヲ/オ
    ("ユウコ", "ユーコ", "ゆうこ"),
]
#: readings the rules keep apart
DIFFERENT = [
    ("オノ", "オオノ"),  # a long vowel is not nothing
    ("サトウ", "サトミ"),
    ("スズキ", "スズカ"),
    ("イトウ", "イトオカ"),
    ("ヴァイオリン", "バイオリン"),  # ヴァ is ブ+ァ→フア, バ is ハ: only ヴ/ブ is one
]


@pytest.mark.parametrize("group", SAME, ids=lambda g: g[0])
def test_spellings_of_one_reading_share_a_key(group: tuple[str, ...]) -> None:
    keys = {kana_key(s) for s in group}
    assert len(keys) == 1, {s: kana_key(s) for s in group}


@pytest.mark.parametrize("pair", DIFFERENT, ids=lambda p: "-".join(p))
def test_different_readings_keep_different_keys(pair: tuple[str, str]) -> None:
    assert kana_key(pair[0]) != kana_key(pair[1])


def test_the_steps() -> None:
    assert to_katakana("ｻﾄｳ すずき") == "サトウ スズキ"
    assert drop_voicing("ガギグゲゴパピプペポバ") == "カキクケコハヒフヘホハ"
    assert lengthen("オーノ") == lengthen("オウノ") == "オオノ"
    assert lengthen("ーン") == "ン" and lengthen("ンー") == "ン"  # a mark with no vowel before it
    assert kana_key("オーノ") == "オオノ"
    assert kana_key("サトウ　イチロウ") == "サトオイチロオ"


def test_missing_and_empty_readings_have_no_key() -> None:
    assert kana_key(None) is None
    assert kana_key("") is None
    assert kana_key("　 ") is None


def test_what_is_not_kana_still_tells_readings_apart() -> None:
    assert kana_key("ジョン スミス") != kana_key("ジョン 　")
    assert kana_key("サトウＡ") == "サトオA"  # NFKC folds the full-width letter, it is kept


KATAKANA = st.text(
    alphabet=st.sampled_from(
        list(
            "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポァィゥェォッャュョーヴ"
        )
    ),
    max_size=12,
)


@given(KATAKANA)
def test_a_key_is_its_own_key(reading: str) -> None:
    key = kana_key(reading)
    assert key is None or kana_key(key) == key


@given(KATAKANA, st.sampled_from(["", " ", "　"]))
def test_hiragana_half_width_and_spaces_do_not_change_a_key(reading: str, space: str) -> None:
    hiragana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" and c not in "ヵヶヴ" else c for c in reading)
    half = unicodedata_half(reading)
    spaced = space.join(reading)
    assert kana_key(hiragana) == kana_key(reading) == kana_key(spaced)
    if half is not None:
        assert kana_key(half) == kana_key(reading)


def unicodedata_half(text: str) -> str | None:
    """Half-width katakana for ``text`` where every character has one (ヮ, ヵ, ヶ, ヴ… do not)."""
    table = dict(
        zip(
            "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォッャュョー",
            "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｯｬｭｮｰ",
            strict=True,
        )
    )
    voiced = {
        "ガ": "ｶﾞ",
        "ギ": "ｷﾞ",
        "グ": "ｸﾞ",
        "ゲ": "ｹﾞ",
        "ゴ": "ｺﾞ",
        "ザ": "ｻﾞ",
        "ジ": "ｼﾞ",
        "ズ": "ｽﾞ",
        "ゼ": "ｾﾞ",
        "ゾ": "ｿﾞ",
        "ダ": "ﾀﾞ",
        "ヂ": "ﾁﾞ",
        "ヅ": "ﾂﾞ",
        "デ": "ﾃﾞ",
        "ド": "ﾄﾞ",
        "バ": "ﾊﾞ",
        "ビ": "ﾋﾞ",
        "ブ": "ﾌﾞ",
        "ベ": "ﾍﾞ",
        "ボ": "ﾎﾞ",
        "パ": "ﾊﾟ",
        "ピ": "ﾋﾟ",
        "プ": "ﾌﾟ",
        "ペ": "ﾍﾟ",
        "ポ": "ﾎﾟ",
        "ヴ": "ｳﾞ",
    }
    out = []
    for c in text:
        if c in table:
            out.append(table[c])
        elif c in voiced:
            out.append(voiced[c])
        else:
            return None
    return "".join(out)


@pytest.mark.parametrize(
    ("tail", "key"),
    [
        ("三丁目4番5号", "3-4-5"),
        ("3-4-5", "3-4-5"),
        ("３－４－５", "3-4-5"),
        ("3丁目4番地の5", "3-4-5"),
        ("三丁目四番地五", "3-4-5"),
        ("三丁目四番五号", "3-4-5"),
        ("一丁目1番1号", "1-1-1"),
        ("十二番地", "12"),
        ("二十三番地の十", "23-10"),
        ("百五番地", "105"),
        ("一〇五番地", "105"),
        ("2丁目 15-3", "2-15-3"),
        ("字小川123番地", "123"),
        ("４番地の１２", "4-12"),
        ("05番", "5"),
    ],
)
def test_address_tails_give_their_numbers(tail: str, key: str) -> None:
    assert banchi_key(tail) == key


def test_a_tail_without_a_number_has_no_key() -> None:
    assert banchi_key(None) is None
    assert banchi_key("番地なし") is None


def test_kanji_numbers() -> None:
    assert [
        kanji_to_int(t) for t in ("三", "十", "十二", "二十", "二十三", "百", "百五", "千二百三十四", "一〇五")
    ] == [
        3,
        10,
        12,
        20,
        23,
        100,
        105,
        1234,
        105,
    ]
