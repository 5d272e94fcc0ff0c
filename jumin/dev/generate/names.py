"""Name pools: Japanese 氏/名 with their readings, 異体字 and IVS forms, and foreign names.

Faker's ja_JP provider is used once, seeded, and only through its ``*_pair()`` calls: those
are the only ones that keep kanji and kana consistent. Its pools are small (tens of names),
so a ranked list of common surnames and era-typical given names is added. Persons then draw
indices into these pools with numpy; strings are assembled later, per output encoding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from faker import Faker

log = logging.getLogger(__name__)

#: Common surnames, most frequent first (rank drives a Zipf-like weight), with readings.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
    ("前田", "マエダ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"),
    ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("坂本", "サカモト"),
    ("斉藤", "サイトウ"),
    ("福田", "フクダ"),
    ("太田", "オオタ"),
    ("西村", "ニシムラ"),
    ("藤井", "フジイ"),
    ("金子", "カネコ"),
    ("岡本", "オカモト"),
    ("藤原", "フジワラ"),
    ("中野", "ナカノ"),
    ("三浦", "ミウラ"),
    ("原田", "ハラダ"),
    ("中川", "ナカガワ"),
    ("松田", "マツダ"),
    ("竹内", "タケウチ"),
    ("小野", "オノ"),
    ("田村", "タムラ"),
    ("中山", "ナカヤマ"),
    ("和田", "ワダ"),
    ("石田", "イシダ"),
    ("森田", "モリタ"),
    ("上田", "ウエダ"),
    ("原", "ハラ"),
    ("内田", "ウチダ"),
    ("柴田", "シバタ"),
    ("酒井", "サカイ"),
    ("宮崎", "ミヤザキ"),
    ("横山", "ヨコヤマ"),
    ("高木", "タカギ"),
    ("安藤", "アンドウ"),
    ("宮本", "ミヤモト"),
    ("大野", "オオノ"),
    ("小島", "コジマ"),
    ("谷口", "タニグチ"),
    ("今井", "イマイ"),
    ("工藤", "クドウ"),
    ("高田", "タカダ"),
    ("増田", "マスダ"),
    ("丸山", "マルヤマ"),
    ("杉山", "スギヤマ"),
    ("村田", "ムラタ"),
    ("大塚", "オオツカ"),
    ("新井", "アライ"),
    ("小山", "コヤマ"),
    ("平野", "ヒラノ"),
    ("藤本", "フジモト"),
    ("河野", "コウノ"),
    ("上野", "ウエノ"),
    ("野口", "ノグチ"),
    ("武田", "タケダ"),
    ("松井", "マツイ"),
    ("千葉", "チバ"),
    ("岩崎", "イワサキ"),
    ("菅原", "スガワラ"),
    ("木下", "キノシタ"),
    ("久保", "クボ"),
    ("佐野", "サノ"),
    ("野村", "ノムラ"),
    ("松尾", "マツオ"),
    ("市川", "イチカワ"),
    ("菊地", "キクチ"),
    ("杉本", "スギモト"),
    ("古川", "フルカワ"),
    ("大西", "オオニシ"),
    ("島田", "シマダ"),
    ("水野", "ミズノ"),
    ("桜井", "サクライ"),
    ("高野", "タカノ"),
    ("渡部", "ワタナベ"),
    ("吉川", "ヨシカワ"),
    ("山内", "ヤマウチ"),
    ("西田", "ニシダ"),
    ("飯田", "イイダ"),
    ("菊池", "キクチ"),
    ("西川", "ニシカワ"),
    ("小松", "コマツ"),
    ("北村", "キタムラ"),
    ("安田", "ヤスダ"),
    ("五十嵐", "イガラシ"),
    ("川口", "カワグチ"),
    ("平田", "ヒラタ"),
    ("関", "セキ"),
    ("中田", "ナカタ"),
    ("久保田", "クボタ"),
    ("服部", "ハットリ"),
    ("東", "ヒガシ"),
    ("岩田", "イワタ"),
    ("土屋", "ツチヤ"),
    ("川崎", "カワサキ"),
    ("福島", "フクシマ"),
    ("本田", "ホンダ"),
    ("辻", "ツジ"),
    ("樋口", "ヒグチ"),
    ("秋山", "アキヤマ"),
    ("田口", "タグチ"),
    ("永井", "ナガイ"),
    ("山中", "ヤマナカ"),
    ("中西", "ナカニシ"),
    ("吉村", "ヨシムラ"),
    ("川上", "カワカミ"),
    ("石原", "イシハラ"),
    ("大橋", "オオハシ"),
    ("松岡", "マツオカ"),
    ("馬場", "ババ"),
    ("浜田", "ハマダ"),
    ("森本", "モリモト"),
    ("星野", "ホシノ"),
    ("矢野", "ヤノ"),
    ("浅野", "アサノ"),
    ("大久保", "オオクボ"),
    ("松下", "マツシタ"),
    ("大石", "オオイシ"),
    ("小池", "コイケ"),
    ("内藤", "ナイトウ"),
    ("田辺", "タナベ"),
    ("浜野", "ハマノ"),
    ("辻本", "ツジモト"),
    ("葛西", "カサイ"),
    ("葛城", "カツラギ"),
    ("尾崎", "オザキ"),
    ("黒沢", "クロサワ"),
    ("高島", "タカシマ"),
    ("長崎", "ナガサキ"),
    ("大沢", "オオサワ"),
    ("斎木", "サイキ"),
    ("広瀬", "ヒロセ"),
    ("広田", "ヒロタ"),
)

# Given names by birth cohort: a 1940 birth is far likelier to be 和子 than 陽翔, and the
# collisions 名寄せ has to cope with follow the cohorts.
GIVEN_MALE: dict[str, tuple[tuple[str, str], ...]] = {
    "old": (
        ("清", "キヨシ"),
        ("茂", "シゲル"),
        ("博", "ヒロシ"),
        ("実", "ミノル"),
        ("進", "ススム"),
        ("勇", "イサム"),
        ("正", "タダシ"),
        ("武", "タケシ"),
        ("和夫", "カズオ"),
        ("正男", "マサオ"),
        ("一郎", "イチロウ"),
        ("三郎", "サブロウ"),
        ("昭", "アキラ"),
        ("勝", "マサル"),
        ("稔", "ミノル"),
        ("豊", "ユタカ"),
        ("修", "オサム"),
        ("弘", "ヒロシ"),
        ("隆", "タカシ"),
        ("幸雄", "ユキオ"),
    ),
    "mid": (
        ("誠", "マコト"),
        ("大輔", "ダイスケ"),
        ("健一", "ケンイチ"),
        ("拓也", "タクヤ"),
        ("和也", "カズヤ"),
        ("達也", "タツヤ"),
        ("直人", "ナオト"),
        ("秀樹", "ヒデキ"),
        ("聡", "サトシ"),
        ("剛", "ツヨシ"),
        ("学", "マナブ"),
        ("哲也", "テツヤ"),
        ("健太", "ケンタ"),
        ("雄太", "ユウタ"),
        ("亮", "リョウ"),
        ("翔太", "ショウタ"),
        ("太郎", "タロウ"),
        ("康平", "コウヘイ"),
        ("俊介", "シュンスケ"),
        ("浩二", "コウジ"),
    ),
    "new": (
        ("蓮", "レン"),
        ("湊", "ミナト"),
        ("陽翔", "ハルト"),
        ("悠真", "ユウマ"),
        ("大翔", "ヒロト"),
        ("蒼", "アオイ"),
        ("樹", "イツキ"),
        ("悠人", "ユウト"),
        ("颯太", "ソウタ"),
        ("陸", "リク"),
        ("隼人", "ハヤト"),
        ("翼", "ツバサ"),
        ("陽太", "ヨウタ"),
        ("優斗", "ユウト"),
        ("涼", "リョウ"),
        ("光", "ヒカル"),
        ("律", "リツ"),
        ("朝陽", "アサヒ"),
        ("碧", "アオイ"),
        ("新", "アラタ"),
    ),
}
GIVEN_FEMALE: dict[str, tuple[tuple[str, str], ...]] = {
    "old": (
        ("和子", "カズコ"),
        ("幸子", "サチコ"),
        ("節子", "セツコ"),
        ("洋子", "ヨウコ"),
        ("恵子", "ケイコ"),
        ("京子", "キョウコ"),
        ("弘子", "ヒロコ"),
        ("美智子", "ミチコ"),
        ("文子", "フミコ"),
        ("良子", "ヨシコ"),
        ("千代", "チヨ"),
        ("ハル", "ハル"),
        ("キヨ", "キヨ"),
        ("久子", "ヒサコ"),
        ("静子", "シズコ"),
        ("光子", "ミツコ"),
        ("典子", "ノリコ"),
        ("昭子", "アキコ"),
        ("悦子", "エツコ"),
        ("信子", "ノブコ"),
    ),
    "mid": (
        ("久美子", "クミコ"),
        ("由美子", "ユミコ"),
        ("真由美", "マユミ"),
        ("裕子", "ユウコ"),
        ("智子", "トモコ"),
        ("直美", "ナオミ"),
        ("明美", "アケミ"),
        ("恵美", "エミ"),
        ("愛", "アイ"),
        ("舞", "マイ"),
        ("彩", "アヤ"),
        ("美穂", "ミホ"),
        ("香織", "カオリ"),
        ("沙織", "サオリ"),
        ("麻衣", "マイ"),
        ("由香", "ユカ"),
        ("千尋", "チヒロ"),
        ("美和", "ミワ"),
        ("優子", "ユウコ"),
        ("陽子", "ヨウコ"),
    ),
    "new": (
        ("陽菜", "ヒナ"),
        ("結衣", "ユイ"),
        ("葵", "アオイ"),
        ("凛", "リン"),
        ("紬", "ツムギ"),
        ("芽依", "メイ"),
        ("結菜", "ユイナ"),
        ("さくら", "サクラ"),
        ("美咲", "ミサキ"),
        ("春香", "ハルカ"),
        ("ひかり", "ヒカリ"),
        ("奈々", "ナナ"),
        ("杏", "アン"),
        ("莉子", "リコ"),
        ("澪", "ミオ"),
        ("心春", "コハル"),
        ("咲良", "サクラ"),
        ("花", "ハナ"),
        ("結愛", "ユア"),
        ("彩花", "アヤカ"),
    ),
}
COHORTS = ("old", "mid", "new")

#: 異体字 of surname kanji a register may hold instead of the common form, and that another
#: office may write either way (髙橋/高橋). All are CP932 (髙 and 﨑 are NEC/IBM extensions)
#: except 𠮷, which a CP932 file writes as 吉.
VARIANTS: dict[str, tuple[str, ...]] = {
    "高": ("髙",),
    "崎": ("﨑",),
    "辺": ("邊", "邉"),
    "浜": ("濱", "濵"),
    "斎": ("齋",),
    "沢": ("澤",),
    "島": ("嶋",),
    "桜": ("櫻",),
    "広": ("廣",),
    "吉": ("𠮷",),
}
#: 旧字体 and 異体字 of given-name kanji (惠子/恵子, 眞由美/真由美), all CP932
GIVEN_VARIANTS: dict[str, tuple[str, ...]] = {
    "恵": ("惠",),
    "真": ("眞",),
    "実": ("實",),
    "静": ("靜",),
    "穂": ("穗",),
    "清": ("淸",),
}
#: Kanji of surnames with ideographic variation sequences in 戸籍 names (VS17/VS18 of
#: Adobe-Japan1 / Moji_Joho: 葛󠄀/葛󠄁, 一点/二点しんにょうの辻); CP932 cannot carry them.
IVS: dict[str, tuple[str, ...]] = {
    "葛": ("\U000e0100", "\U000e0101"),
    "辻": ("\U000e0100", "\U000e0101"),
    "邊": ("\U000e0100", "\U000e0101"),
    "邉": ("\U000e0100", "\U000e0101"),
    "飯": ("\U000e0100", "\U000e0101"),
}
#: Substitutes for characters outside CP932 after IVS removal; 〓 (げた) is the customary
#: mark for a character the legacy set cannot show.
CP932_FALLBACK: dict[str, str] = {"𠮷": "吉", "𡈽": "土", "﨑": "崎", "髙": "高"}
GETA = "〓"
#: variant → common form of every 異体字 above: the fold under which two spellings are the same
#: name (with IVS stripped); the ground truth's 表記ゆれ (hyoki) is defined by it
ITAIJI_FOLD: dict[str, str] = {
    **{alt: plain for table in (VARIANTS, GIVEN_VARIANTS) for plain, alts in table.items() for alt in alts},
    "𡈽": "土",
}
_FOLD_TABLE = str.maketrans(ITAIJI_FOLD)

# Foreign residents: (文化圏, 氏 romaji, 名 romaji, 氏 kana, 名 kana, 氏 漢字, 名 漢字).
# Korean and Chinese names carry a kanji form (氏名_外国人漢字) and often a 通称.
FOREIGN: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("CN", "WANG", "WEI", "ワン", "ウェイ", "王", "偉"),
    ("CN", "LI", "NA", "リー", "ナー", "李", "娜"),
    ("CN", "ZHANG", "MIN", "チャン", "ミン", "張", "敏"),
    ("CN", "CHEN", "JING", "チェン", "ジン", "陳", "静"),
    ("CN", "LIU", "YANG", "リュウ", "ヤン", "劉", "洋"),
    ("KR", "KIM", "MINJUN", "キム", "ミンジュン", "金", "民俊"),
    ("KR", "PARK", "JIEUN", "パク", "ジウン", "朴", "智恩"),
    ("KR", "LEE", "SEOYEON", "イ", "ソヨン", "李", "瑞妍"),
    ("KR", "CHOI", "HYUNWOO", "チェ", "ヒョンウ", "崔", "賢宇"),
    ("VN", "NGUYEN", "VAN AN", "グエン", "ヴァン　アン", "", ""),
    ("VN", "TRAN", "THI HOA", "チャン", "ティ　ホア", "", ""),
    ("VN", "PHAM", "THI LAN", "ファム", "ティ　ラン", "", ""),
    ("VN", "LE", "VAN NAM", "レ", "ヴァン　ナム", "", ""),
    ("PH", "SANTOS", "MARIA", "サントス", "マリア", "", ""),
    ("PH", "REYES", "JOSE", "レイエス", "ホセ", "", ""),
    ("PH", "CRUZ", "ANNA", "クルス", "アンナ", "", ""),
    ("BR", "SILVA", "PEDRO", "シルバ", "ペドロ", "", ""),
    ("BR", "OLIVEIRA", "LUCAS", "オリベイラ", "ルーカス", "", ""),
    ("BR", "SOUZA", "ANA", "ソウザ", "アナ", "", ""),
    ("NP", "GURUNG", "BIKASH", "グルン", "ビカシュ", "", ""),
    ("NP", "SHRESTHA", "SITA", "シュレスタ", "シタ", "", ""),
    ("US", "SMITH", "JOHN", "スミス", "ジョン", "", ""),
    ("US", "JOHNSON", "EMILY", "ジョンソン", "エミリー", "", ""),
    ("GB", "BROWN", "MICHAEL", "ブラウン", "マイケル", "", ""),
    ("AU", "WILLIAMS", "SARAH", "ウィリアムズ", "サラ", "", ""),
)
KANJI_CULTURES = ("CN", "KR")
_FAKER_DRAWS = 400


def fullwidth(text: str) -> str:
    """ASCII letters, digits and space as their full-width forms (Ｎ items allow no ASCII)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def strip_variation_selectors(text: str) -> str:
    """``text`` without IVS (U+E0100–E01EF) and standard variation selectors (U+FE00–FE0F)."""
    return "".join(c for c in text if not (0xE0100 <= ord(c) <= 0xE01EF or 0xFE00 <= ord(c) <= 0xFE0F))


def to_cp932_safe(text: str) -> str:
    """The form of ``text`` a CP932 export would carry.

    IVS are dropped (the base character stays); characters CP932 cannot encode fall back to a
    common form, or to 〓 when none is known, as legacy systems print them.
    """
    out = []
    for c in strip_variation_selectors(text):
        try:
            c.encode("cp932")
            out.append(c)
        except UnicodeEncodeError:
            out.append(CP932_FALLBACK.get(c, GETA))
    return "".join(out)


def fold_kanji(text: str) -> str:
    """The kanji key under which two spellings are one name: IVS and variation selectors
    stripped, every 異体字 of ``ITAIJI_FOLD`` written in its common form (邊→辺, 𠮷→吉)."""
    return strip_variation_selectors(text).translate(_FOLD_TABLE)


def _unique_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pairs in first-seen order without repeats (dict keeps insertion order; sets do not)."""
    return list(dict.fromkeys(pairs))


@dataclass(frozen=True)
class Alternatives:
    """For every index ``i`` of a pool, the indices that may stand in for it:
    ``values[offsets[i]:offsets[i + 1]]`` (a CSR table, so choices are vectorised)."""

    offsets: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, lists: Sequence[Sequence[int]]) -> Alternatives:
        """The table of one list of alternatives per index."""
        counts = np.array([len(x) for x in lists], dtype=np.int64)
        offsets = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts)])
        return cls(offsets, np.array([v for x in lists for v in x], dtype=np.int64))

    def count(self, idx: np.ndarray) -> np.ndarray:
        """Number of alternatives of each index."""
        counts: np.ndarray = self.offsets[idx + 1] - self.offsets[idx]
        return counts

    def pick(self, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One alternative of each ``idx``, chosen by ``u`` in [0, 1); ``idx`` itself where it
        has none."""
        if not len(self.values):
            return idx.copy()
        n = self.count(idx)
        k = self.offsets[idx] + np.minimum((u * n).astype(np.int64), np.maximum(n - 1, 0))
        return np.where(n > 0, self.values[np.minimum(k, len(self.values) - 1)], idx)


def _renderers() -> dict[str, Callable[[str], str]]:
    """Per file encoding, what a name becomes in the file (CP932 loses IVS and 𠮷)."""
    return {"utf-8": lambda s: s, "cp932": to_cp932_safe}


# Readings (フリガナ) as clerks vary or mistype them. Long vowels written with ー or ウ/オ
# (サトウ/サトー, オオノ/オーノ/オウノ, ユウコ/ユーコ, イイダ/イーダ) are one reading under the
# 住民記録 fuzzy search rules; so is a lost 濁点 (ダ→タ); a typo (one kana replaced) is not.
_O_DAN = set("オコソトノホモヨロゴゾドボポョォ")
_U_DAN = set("ウクスツヌフムユルグズブプュゥ")
_I_DAN = set("イキシチニヒミリギジビピ")
_VOICED = "ガギグゲゴザジズゼゾダデドバビブベボパピプペポ"
_UNVOICED = "カキクケコサシスセソタテトハヒフヘホハヒフヘホ"
_TYPO_KANA = "カキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
_SMALL = set("ァィゥェォッャュョヮ")
_TYPO_SKIP = set("アイウエオンーヂヅヴヲ") | _SMALL
KANA_VARIANT_KINDS = ("long_vowel", "dakuten", "typo")
_TYPOS_PER_READING = 3


def long_vowel_variants(kana: str) -> list[str]:
    """The reading with one long vowel written another way (ー for ウ/オ/イ, ウ for オ)."""
    out = []
    for i in range(1, len(kana)):
        prev, c, head, tail = kana[i - 1], kana[i], kana[:i], kana[i + 1 :]
        if c == "ウ" and (prev in _O_DAN or prev in _U_DAN):
            out.append(f"{head}ー{tail}")
        elif c == "オ" and prev in _O_DAN:
            out += [f"{head}ー{tail}", f"{head}ウ{tail}"]
        elif c == "イ" and prev in _I_DAN:
            out.append(f"{head}ー{tail}")
    return [v for v in dict.fromkeys(out) if v != kana]


def dakuten_variants(kana: str) -> list[str]:
    """The reading with one 濁点 or 半濁点 lost (ダ→タ, パ→ハ)."""
    return [f"{kana[:i]}{_UNVOICED[_VOICED.index(c)]}{kana[i + 1 :]}" for i, c in enumerate(kana) if c in _VOICED]


def typo_variants(rng: np.random.Generator, kana: str) -> list[str]:
    """The reading with one kana replaced by an unrelated one (not a vowel, small kana or a
    濁点 away from the original), so no fuzzy rule makes it the same reading."""
    spots = [i for i, c in enumerate(kana) if c not in _TYPO_SKIP and kana[i + 1 : i + 2] not in _SMALL]
    out = []
    for _ in range(_TYPOS_PER_READING if spots else 0):
        i = spots[int(rng.integers(0, len(spots)))]
        plain = _UNVOICED[_VOICED.index(kana[i])] if kana[i] in _VOICED else kana[i]
        choices = [k for k in _TYPO_KANA if k != plain]
        out.append(f"{kana[:i]}{choices[int(rng.integers(0, len(choices)))]}{kana[i + 1 :]}")
    return [v for v in dict.fromkeys(out) if v != kana]


@dataclass(frozen=True)
class KanaPool:
    """Every reading a record can carry: the readings of the name pools first, then their
    variants; ``alternatives[kind]`` gives the variants of each reading by kind
    (``KANA_VARIANT_KINDS``)."""

    strings: tuple[str, ...]
    alternatives: dict[str, Alternatives]


def _kana_pool(readings: Sequence[str], seed: int) -> tuple[KanaPool, dict[str, int]]:
    """The pool of ``readings`` and their variants, and each reading's index in it."""
    rng = np.random.default_rng([seed, 0x4B414E41])
    index = {r: i for i, r in enumerate(dict.fromkeys(readings))}
    originals = list(index)
    lists: dict[str, list[list[int]]] = {kind: [] for kind in KANA_VARIANT_KINDS}
    for r in originals:
        found = {"long_vowel": long_vowel_variants(r), "dakuten": dakuten_variants(r), "typo": typo_variants(rng, r)}
        for kind in KANA_VARIANT_KINDS:
            lists[kind].append([index.setdefault(v, len(index)) for v in found[kind]])
    alternatives = {kind: Alternatives.of(v + [[]] * (len(index) - len(v))) for kind, v in lists.items()}
    return KanaPool(tuple(index), alternatives), index


@dataclass(frozen=True)
class NamePools:
    """Every name string a person can carry, addressed by index.

    ``uji_*`` holds surname *forms*: the first ``n_uji_base`` are plain forms (sampled with
    ``uji_weights``); after them come 異体字 forms (``variant_forms``) and IVS forms
    (``ivs_forms``), each pointing back to its plain form through ``uji_base`` and to the same
    form without IVS through ``uji_no_ivs``. Given names likewise: the plain names, then their
    異体字 forms (``given_variant_forms``). ``*_fold`` numbers the kanji keys
    (:func:`fold_kanji`): two forms with the same number are one name spelt two ways.

    ``uji_itaiji`` / ``uji_ivs`` / ``given_itaiji`` list, per file encoding, the forms another
    office may write instead of a form (another 異体字; IVS added or dropped) that the file
    can tell apart from it. ``uji_other`` lists, per plain surname, really different surnames a
    clerk may write instead (same reading first: 斎藤/斉藤, 菊地/菊池).
    """

    uji_kanji: tuple[str, ...]
    uji_kana: tuple[str, ...]
    uji_base: np.ndarray
    uji_no_ivs: np.ndarray
    n_uji_base: int
    uji_weights: np.ndarray
    variant_forms: np.ndarray
    ivs_forms: np.ndarray
    uji_fold: np.ndarray
    uji_itaiji: dict[str, Alternatives]
    uji_ivs: dict[str, Alternatives]
    uji_other: Alternatives
    given_kanji: tuple[str, ...]
    given_kana: tuple[str, ...]
    given_base: np.ndarray
    given_variant_forms: np.ndarray
    given_fold: np.ndarray
    given_itaiji: dict[str, Alternatives]
    #: given-name indices (plain names) per (sex "1"/"2", cohort)
    given_by: dict[tuple[str, str], np.ndarray]
    foreign: tuple[tuple[str, str, str, str, str, str, str], ...]
    kana: KanaPool
    #: index into ``kana.strings`` of every surname form's and given name's reading
    uji_kana_id: np.ndarray
    given_kana_id: np.ndarray

    def foreign_strings(self) -> tuple[list[str], list[str], list[str], list[bool]]:
        """Per foreign name: full-width alphabet name, katakana, kanji name, kanji culture."""
        alpha = [fullwidth(f"{f[1]} {f[2]}") for f in self.foreign]
        kana = [f"{f[3]}\u3000{f[4]}" for f in self.foreign]
        kanji = [f"{f[5]}\u3000{f[6]}" if f[5] else "" for f in self.foreign]
        return alpha, kana, kanji, [f[0] in KANJI_CULTURES for f in self.foreign]


def _faker_pairs(seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(kanji, kana) pairs drawn from Faker ja_JP, seeded once; romaji is not needed."""
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    last = _unique_pairs([fake.last_name_pair()[:2] for _ in range(_FAKER_DRAWS)])
    male = _unique_pairs([fake.first_name_male_pair()[:2] for _ in range(_FAKER_DRAWS)])
    female = _unique_pairs([fake.first_name_female_pair()[:2] for _ in range(_FAKER_DRAWS)])
    return last, male, female


@dataclass(frozen=True)
class _Form:
    kanji: str
    kana: str
    base: int
    #: the form without IVS (itself for a form without)
    no_ivs: int


def _variant_forms(names: Sequence[tuple[str, str]], table: dict[str, tuple[str, ...]]) -> list[_Form]:
    """The plain names, then every 異体字 form (one common kanji written as a variant)."""
    forms = [_Form(k, r, i, i) for i, (k, r) in enumerate(names)]
    seen = {f.kanji for f in forms}
    for i, (kanji, kana) in enumerate(names):
        for plain, alts in table.items():
            for alt in alts if plain in kanji else ():
                variant = kanji.replace(plain, alt)
                if variant not in seen:
                    seen.add(variant)
                    forms.append(_Form(variant, kana, i, len(forms)))
    return forms


def _ivs_forms(forms: list[_Form]) -> list[_Form]:
    """IVS forms of every form without: the selector after the first kanji of ``IVS``."""
    out = []
    for f, form in enumerate(forms):
        for kanji, seqs in IVS.items():
            if kanji in form.kanji:
                out += [_Form(form.kanji.replace(kanji, kanji + seq, 1), form.kana, form.base, f) for seq in seqs]
    return out


def _stand_ins(forms: list[_Form], related: Callable[[int, int], bool]) -> dict[str, Alternatives]:
    """Per file encoding, the forms ``g`` with ``related(f, g)`` that the file writes
    differently from ``f``."""
    out = {}
    for encoding, render in _renderers().items():
        written = [render(f.kanji) for f in forms]
        out[encoding] = Alternatives.of(
            [
                [g for g in range(len(forms)) if g != f and related(f, g) and written[g] != written[f]]
                for f in range(len(forms))
            ]
        )
    return out


def _other_surnames(base: list[tuple[str, str]]) -> Alternatives:
    """Per plain surname, different surnames a clerk may write by mistake: the same reading
    in other kanji, else surnames sharing a kanji, else the next one."""
    out = []
    for i, (kanji, kana) in enumerate(base):
        same_reading = [j for j, (k, r) in enumerate(base) if j != i and r == kana]
        sharing = [j for j, (k, _) in enumerate(base) if j != i and set(k) & set(kanji)]
        out.append(same_reading or sharing[:8] or [(i + 1) % len(base)])
    return Alternatives.of(out)


def _fold_ids(kanji: Sequence[str]) -> np.ndarray:
    """Equal numbers for names with the same kanji key."""
    keys: dict[str, int] = {}
    return np.array([keys.setdefault(fold_kanji(k), len(keys)) for k in kanji], dtype=np.int64)


def build_name_pools(seed: int) -> NamePools:
    """All name pools for one run; the same ``seed`` gives the same pools."""
    faker_last, faker_male, faker_female = _faker_pairs(seed)
    # one plain surname per kanji key: 嶋田 from Faker would be a spelling of 島田, not a name
    folded: dict[str, tuple[str, str]] = {}
    for pair in _unique_pairs([*SURNAMES, *faker_last]):
        folded.setdefault(fold_kanji(pair[0]), pair)
    base = list(folded.values())
    plain_forms = _variant_forms(base, VARIANTS)
    ivs = _ivs_forms(plain_forms)
    forms = plain_forms + ivs
    rank = np.arange(len(base), dtype=np.float64)
    weights = 1.0 / (rank + 8.0)  # Zipf-like: 佐藤 and 鈴木 are common, the tail is long
    given: list[tuple[str, str]] = []
    given_by: dict[tuple[str, str], np.ndarray] = {}
    for sex, table, extra in (("1", GIVEN_MALE, faker_male), ("2", GIVEN_FEMALE, faker_female)):
        for cohort in COHORTS:
            # Faker's names carry no era, so they join every cohort.
            names = _unique_pairs([*table[cohort], *extra])
            idx = []
            for pair in names:
                if pair not in given:
                    given.append(pair)
                idx.append(given.index(pair))
            given_by[(sex, cohort)] = np.array(idx, dtype=np.int64)
    given_forms = _variant_forms(given, GIVEN_VARIANTS)
    n_base, n_plain = len(base), len(plain_forms)
    kana, kana_index = _kana_pool([f.kana for f in forms] + [f.kana for f in given_forms], seed)
    log.debug(
        "name pools: %d surnames (+%d variant, %d IVS forms), %d given names (+%d variant), %d readings",
        n_base,
        n_plain - n_base,
        len(ivs),
        len(given),
        len(given_forms) - len(given),
        len(kana.strings),
    )
    return NamePools(
        uji_kanji=tuple(f.kanji for f in forms),
        uji_kana=tuple(f.kana for f in forms),
        uji_base=np.array([f.base for f in forms], dtype=np.int64),
        uji_no_ivs=np.array([f.no_ivs for f in forms], dtype=np.int64),
        n_uji_base=n_base,
        uji_weights=weights / weights.sum(),
        variant_forms=np.arange(n_base, n_plain, dtype=np.int64),
        ivs_forms=np.arange(n_plain, len(forms), dtype=np.int64),
        uji_fold=_fold_ids([f.kanji for f in forms]),
        uji_itaiji=_stand_ins(forms, lambda f, g: f < n_plain and g < n_plain and forms[f].base == forms[g].base),
        uji_ivs=_stand_ins(forms, lambda f, g: forms[g].no_ivs == f or forms[f].no_ivs == g),
        uji_other=_other_surnames(base),
        given_kanji=tuple(f.kanji for f in given_forms),
        given_kana=tuple(f.kana for f in given_forms),
        given_base=np.array([f.base for f in given_forms], dtype=np.int64),
        given_variant_forms=np.arange(len(given), len(given_forms), dtype=np.int64),
        given_fold=_fold_ids([f.kanji for f in given_forms]),
        given_itaiji=_stand_ins(given_forms, lambda f, g: given_forms[f].base == given_forms[g].base),
        given_by=given_by,
        foreign=FOREIGN,
        kana=kana,
        uji_kana_id=np.array([kana_index[f.kana] for f in forms], dtype=np.int64),
        given_kana_id=np.array([kana_index[f.kana] for f in given_forms], dtype=np.int64),
    )


def cohort_of(birth_year: np.ndarray) -> np.ndarray:
    """Index into ``COHORTS`` for each birth year (before 1960, 1960–1994, 1995 on)."""
    return np.searchsorted(np.array([1960, 1995]), birth_year, side="right")
