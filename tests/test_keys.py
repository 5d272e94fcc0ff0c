"""Matching keys on real Japanese names, readings, addresses and birth dates: the 住民記録 fuzzy
kana search rules, 異体字 in names, 町字 and 番地 of addresses, 不詳 dates."""

from __future__ import annotations

import unicodedata

import jntajis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform.keys import (
    COMPAT_KEPT_BY_NFKC,
    ITAIJI,
    JIS1983_GROUPS,
    JOYO2010_GROUPS,
    KYUJITAI_GROUPS,
    banchi_key,
    drop_voicing,
    in_jisx0208,
    kana_key,
    kanji_char_key,
    kanji_key,
    kanji_to_int,
    lengthen,
    mj_shrink,
    split_shimei,
    strip_ivs,
    to_katakana,
)

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


# --- kanji key ------------------------------------------------------------------------------

IVS_1 = "\U000e0100"  # VARIATION SELECTOR-17, the first IVS
#: each group: 異体字 spellings of one name that must share a key
SAME_NAME = [
    ("高橋", "髙橋"),  # 髙 (はしごだか, outside JIS X 0208): MJ縮退
    ("吉野", "𠮷野"),  # 𠮷 (つちよし, U+20BB7): MJ縮退
    ("渡辺", "渡邊", "渡邉"),  # 邊 and 邉 are in JIS X 0208: the 旧字体 table
    ("浜田", "濱田", "濵田"),  # 濱 in JIS X 0208 (table), 濵 in JIS X 0212 only (MJ縮退)
    ("崎山", "\ufa11山", "嵜山"),  # 﨑 U+FA11: NFKC keeps it, the compatibility table maps it
    ("山崎", "山\ufa11", "山嵜"),
    ("斎藤", "齋藤"),
    ("斉藤", "齊藤"),
    ("桜井", "櫻井"),
    ("沢田", "澤田"),
    ("広瀬", "廣瀬"),
    ("国分", "國分"),
    ("真田", "眞田"),
    ("恵子", "惠子"),
    ("徳川", "德川"),  # 德: outside JIS X 0208 (cp932 has it as an IBM extension)
    ("島田", "嶋田", "嶌田"),
    ("富田", "冨田"),
    ("桧山", "檜山"),  # swapped by JIS X 0208:1983
    ("森鴎外", "森鷗外"),  # 鷗: no MJ縮退 into JIS X 0208, the table
    ("葛西", "葛" + IVS_1 + "西", "葛\U000e0101西"),  # IVS: glyph variants of one character
    ("辻本", "辻" + IVS_1 + "本"),
    ("佐藤一郎", "佐藤　一郎", "佐藤 一郎", "佐藤　 一郎"),  # the space between 氏 and 名
    ("ｻﾄｳ", "サトウ"),  # NFKC: half-width kana
    ("ＳＭＩＴＨ　ＪＯＨＮ", "SMITH JOHN"),  # NFKC: full-width letters
    ("塚本", "\ufa10本"),  # 塚 U+FA10: NFKC folds this compatibility ideograph
]
#: names the key keeps apart
OTHER_NAME = [
    ("斉藤", "斎藤"),  # two surnames: 斉 (セイ, ひとしい) and 斎 (サイ, ものいみ)
    ("齊藤", "齋藤"),  # their 旧字体 stay apart too
    ("高橋", "髙梨"),
    ("渡辺", "渡部"),
    ("弁", "辯"),  # 弁's three 旧字体 are three characters: not in the table
    ("藤原", "藤腹"),
]


@pytest.mark.parametrize("group", SAME_NAME, ids=lambda g: g[0])
def test_variant_spellings_of_one_name_share_a_key(group: tuple[str, ...]) -> None:
    keys = {kanji_key(s) for s in group}
    assert len(keys) == 1, {s: kanji_key(s) for s in group}


@pytest.mark.parametrize("pair", OTHER_NAME, ids=lambda p: "-".join(p))
def test_different_names_keep_different_keys(pair: tuple[str, str]) -> None:
    assert kanji_key(pair[0]) != kanji_key(pair[1])


def test_the_key_is_the_plain_form() -> None:
    assert kanji_key("髙橋") == "高橋"
    assert kanji_key("渡邉　美紀") == "渡辺美紀"
    assert kanji_key("\ufa11山") == "崎山"
    assert kanji_key(None) is None
    assert kanji_key("") is None
    assert kanji_key("　 ") is None


def test_ivs_are_stripped() -> None:
    assert strip_ivs("葛" + IVS_1 + "西") == "葛西"
    assert strip_ivs("辻\U000e01ef") == "辻"
    assert strip_ivs("禰\ufe00") == "禰"  # a standard variation selector
    assert strip_ivs("葛西") == "葛西"


def test_only_iso2022_jp_rejects_what_jis_x_0208_lacks() -> None:
    assert in_jisx0208("高橋") and in_jisx0208("渡邊") and in_jisx0208("ア")
    for outside in ("髙", "\ufa11", "德", "濵", "𠮷"):
        assert not in_jisx0208(outside)
    # why not euc_jp or cp932: each takes characters outside JIS X 0208
    "濵".encode("euc_jp")  # JIS X 0212
    "髙﨑德".encode("cp932")  # IBM extensions


def test_mj_shrink_picks_the_first_candidate_in_jis_x_0208() -> None:
    assert mj_shrink("髙") == "高"
    assert mj_shrink("𠮷") == "吉"
    assert mj_shrink("濵") == "浜"
    assert mj_shrink("德") == "徳"
    assert mj_shrink("𩸽") == "𩸽"  # ほっけ: no MJ縮退 into JIS X 0208, kept
    # the library's own transliteration would lose them
    assert jntajis.jnta_shrink_translit("髙𠮷") == "\ufffd\ufffd"


def test_every_compatibility_ideograph_nfkc_keeps_is_decided() -> None:
    kept = [chr(c) for c in range(0xFA0E, 0xFA2A) if unicodedata.normalize("NFKC", chr(c)) == chr(c)]
    assert sorted(COMPAT_KEPT_BY_NFKC) == kept
    for ch, key in COMPAT_KEPT_BY_NFKC.items():
        if key != ch:  # mapped: MJ縮退's 戸籍 scheme relates the two
            scheme = jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE
            assert key in jntajis.mj_shrink_candidates(ch, int(scheme)), ch
        assert kanji_char_key(ch) == ITAIJI.get(key, key)


def test_every_kyujitai_pair_is_one_character_in_koseki_practice() -> None:
    scheme = int(jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE)
    for group in KYUJITAI_GROUPS:
        new = group[0]
        for old in group[1:]:
            related = new in jntajis.mj_shrink_candidates(old, scheme) or old in jntajis.mj_shrink_candidates(
                new, scheme
            )
            assert related, (old, new)


def test_the_itaiji_table_is_closed() -> None:
    groups = (*KYUJITAI_GROUPS, *JIS1983_GROUPS, *JOYO2010_GROUPS)
    variants = [v for g in groups for v in g[1:]]
    assert len(variants) == len(set(variants)) == len(ITAIJI)
    assert not set(ITAIJI.values()) & set(ITAIJI)  # a key character is never a variant again
    assert all(in_jisx0208(new) for new in ITAIJI.values())
    assert all(kanji_char_key(old) == new for old, new in ITAIJI.items())


def test_shimei_splits_on_the_first_space() -> None:
    assert split_shimei("佐藤　一郎") == ("佐藤", "一郎")
    assert split_shimei("佐藤 一郎") == ("佐藤", "一郎")
    assert split_shimei("　佐藤　　一郎　") == ("佐藤", "一郎")
    assert split_shimei("ＳＭＩＴＨ　ＪＯＨＮ　ＰＡＵＬ") == ("ＳＭＩＴＨ", "ＪＯＨＮ　ＰＡＵＬ")
    assert split_shimei("佐藤一郎") == ("佐藤一郎", None)
    assert split_shimei(None) == (None, None)
    assert split_shimei("　") == (None, None)


NAME_CHARS = st.sampled_from(
    [
        *"高髙橋吉𠮷野渡辺邊邉浜濱濵田崎﨑嵜山斎齋斉齊藤桜櫻井葛辻徳德真眞島嶋冨富龍竜一郎子ｻﾄｳアイ　 ",
        IVS_1,
        "\ufe00",
        "\ufa10",
        "\ufa1f",
        "𩸽",
        "鄕",  # MJ縮退 (JIS包摂規準): 郷
        "碃",  # MJ縮退 (告示582号): 晴
    ]
)
NAMES = st.text(alphabet=NAME_CHARS, max_size=10)


@given(NAMES)
def test_a_kanji_key_is_its_own_key(name: str) -> None:
    key = kanji_key(name)
    assert key is None or kanji_key(key) == key


@given(NAMES)
def test_no_variation_selector_or_space_survives(name: str) -> None:
    key = kanji_key(name) or ""
    assert not any(0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF for c in key)
    assert " " not in key and "　" not in key


@given(NAMES, NAMES)
def test_ivs_and_spaces_do_not_change_a_kanji_key(a: str, b: str) -> None:
    assert kanji_key(a + IVS_1 + "　" + b) == kanji_key(a + b)
