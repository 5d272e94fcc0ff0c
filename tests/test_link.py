"""Probabilistic linking of 住登外者 (transform/reconcile/link.py) on synthetic KEYED tables.

A small synthetic world (住基 persons with name and address history, 住登外者 with the
corruptions of the real data, labelled 住登者) is linked once; hand-made cases on top of it
check each rule: corrupted true pairs are found with sensible reasons, a namesake born a few
days apart or of the other 性別 is never ``auto``, a day/month swap can be, two equally good
candidates go to review, a rerun with the stored model gives the same bytes, blocking grows
linearly. The world is also the quality probe and the speed benchmark at national scale:

    .venv/bin/python -m tests.test_link synth /tmp/linkbench --persons 1000000 --atena 50000
    .venv/bin/python -m tests.test_link bench /tmp/linkbench
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jumin.core.duck import connect
from transform.config import LinkConfig
from transform.keys import kana_key, kanji_key
from transform.reconcile import link_model
from transform.reconcile.link import LINKS_WITH_LG, count_comparisons, link_jutogaisha
from transform.reconcile.schema import KEYED

# ----------------------------------------------------------------------------- the world

#: common surnames (the sample generator's list, Zipf-weighted by rank), kanji:reading
SURNAMES = (
    "佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト 中村:ナカムラ "
    "小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ 松本:マツモト 井上:イノウエ "
    "木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ 森:モリ 池田:イケダ 橋本:ハシモト "
    "阿部:アベ 石川:イシカワ 山下:ヤマシタ 中島:ナカジマ 石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ "
    "長谷川:ハセガワ 藤田:フジタ 後藤:ゴトウ 近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト "
    "斉藤:サイトウ 福田:フクダ 太田:オオタ 西村:ニシムラ 藤井:フジイ 金子:カネコ 岡本:オカモト 藤原:フジワラ "
    "中野:ナカノ 三浦:ミウラ 原田:ハラダ 中川:ナカガワ 松田:マツダ 竹内:タケウチ 小野:オノ 田村:タムラ "
    "中山:ナカヤマ 和田:ワダ 石田:イシダ 森田:モリタ 上田:ウエダ 原:ハラ 内田:ウチダ 柴田:シバタ "
    "酒井:サカイ 宮崎:ミヤザキ 横山:ヨコヤマ 高木:タカギ 安藤:アンドウ 宮本:ミヤモト 大野:オオノ 小島:コジマ "
    "谷口:タニグチ 今井:イマイ 工藤:クドウ 高田:タカダ 増田:マスダ 丸山:マルヤマ 杉山:スギヤマ 村田:ムラタ "
    "大塚:オオツカ 新井:アライ 小山:コヤマ 平野:ヒラノ 藤本:フジモト 河野:コウノ 上野:ウエノ 野口:ノグチ "
    "武田:タケダ 松井:マツイ 千葉:チバ 岩崎:イワサキ 菅原:スガワラ 木下:キノシタ 久保:クボ 佐野:サノ "
    "野村:ノムラ 松尾:マツオ 市川:イチカワ 菊地:キクチ 杉本:スギモト 古川:フルカワ 大西:オオニシ 島田:シマダ "
    "水野:ミズノ 桜井:サクライ 高野:タカノ 渡部:ワタナベ 吉川:ヨシカワ 山内:ヤマウチ 西田:ニシダ 飯田:イイダ "
    "菊池:キクチ 西川:ニシカワ 小松:コマツ 北村:キタムラ 安田:ヤスダ 五十嵐:イガラシ 川口:カワグチ 平田:ヒラタ "
    "関:セキ 中田:ナカタ 久保田:クボタ 服部:ハットリ 東:ヒガシ 岩田:イワタ 土屋:ツチヤ 川崎:カワサキ "
    "福島:フクシマ 本田:ホンダ 辻:ツジ 樋口:ヒグチ 秋山:アキヤマ 田口:タグチ 永井:ナガイ 山中:ヤマナカ "
    "中西:ナカニシ 吉村:ヨシムラ 川上:カワカミ 石原:イシハラ 大橋:オオハシ 松岡:マツオカ 馬場:ババ 浜田:ハマダ "
    "森本:モリモト 星野:ホシノ 矢野:ヤノ 浅野:アサノ 大久保:オオクボ 松下:マツシタ 大石:オオイシ 小池:コイケ "
    "内藤:ナイトウ 田辺:タナベ 浜野:ハマノ 辻本:ツジモト 葛西:カサイ 葛城:カツラギ 尾崎:オザキ 黒沢:クロサワ "
    "高島:タカシマ 長崎:ナガサキ 大沢:オオサワ 斎木:サイキ 広瀬:ヒロセ 広田:ヒロタ"
).split()
#: given names by sex and birth cohort (before 1960, 1960–1994, 1995 on), 20 each
GIVEN = (
    "清:キヨシ 茂:シゲル 博:ヒロシ 実:ミノル 進:ススム 勇:イサム 正:タダシ 武:タケシ 和夫:カズオ 正男:マサオ "
    "一郎:イチロウ 三郎:サブロウ 昭:アキラ 勝:マサル 稔:ミノル 豊:ユタカ 修:オサム 弘:ヒロシ 隆:タカシ 幸雄:ユキオ "
    "誠:マコト 大輔:ダイスケ 健一:ケンイチ 拓也:タクヤ 和也:カズヤ 達也:タツヤ 直人:ナオト 秀樹:ヒデキ 聡:サトシ "
    "剛:ツヨシ 学:マナブ 哲也:テツヤ 健太:ケンタ 雄太:ユウタ 亮:リョウ 翔太:ショウタ 太郎:タロウ 康平:コウヘイ "
    "俊介:シュンスケ 浩二:コウジ 蓮:レン 湊:ミナト 陽翔:ハルト 悠真:ユウマ 大翔:ヒロト 蒼:アオイ 樹:イツキ "
    "悠人:ユウト 颯太:ソウタ 陸:リク 隼人:ハヤト 翼:ツバサ 陽太:ヨウタ 優斗:ユウト 涼:リョウ 光:ヒカル 律:リツ "
    "朝陽:アサヒ 碧:アオイ 新:アラタ "
    "和子:カズコ 幸子:サチコ 節子:セツコ 洋子:ヨウコ 恵子:ケイコ 京子:キョウコ 弘子:ヒロコ 美智子:ミチコ "
    "文子:フミコ 良子:ヨシコ 千代:チヨ ハル:ハル キヨ:キヨ 久子:ヒサコ 静子:シズコ 光子:ミツコ 典子:ノリコ "
    "昭子:アキコ 悦子:エツコ 信子:ノブコ 久美子:クミコ 由美子:ユミコ 真由美:マユミ 裕子:ユウコ 智子:トモコ "
    "直美:ナオミ 明美:アケミ 恵美:エミ 愛:アイ 舞:マイ 彩:アヤ 美穂:ミホ 香織:カオリ 沙織:サオリ 麻衣:マイ "
    "由香:ユカ 千尋:チヒロ 美和:ミワ 優子:ユウコ 陽子:ヨウコ 陽菜:ヒナ 結衣:ユイ 葵:アオイ 凛:リン 紬:ツムギ "
    "芽依:メイ 結菜:ユイナ さくら:サクラ 美咲:ミサキ 春香:ハルカ ひかり:ヒカリ 奈々:ナナ 杏:アン 莉子:リコ "
    "澪:ミオ 心春:コハル 咲良:サクラ 花:ハナ 結愛:ユア 彩花:アヤカ"
).split()
#: 異体字 a 宛名 may spell a surname with (kanji_key folds them back)
ITAIJI = {"高": "髙", "辺": "邊", "崎": "﨑", "浜": "濱", "斎": "齋", "島": "嶋", "沢": "澤"}
#: characters a typo or an unmapped 外字 puts in a name (kanji_key cannot fold them back)
KANJI_NOISE = "亜唖娃阿哀愛挨姶逢葵茜穐悪握渥旭葦芦鯵梓圧斡扱宛姐虻飴絢綾鮎或粟袷安庵按暗案闇鞍杏"
KANA_NOISE = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
N_LAKE, N_OUTSIDE, N_CHOAZA = 20, 10, 150


def muni_code(i: int) -> str:
    """A municipality's code (131000 … for the lake's, 131200 … for outside ones)."""
    return f"{13100 + i:05d}0"


@dataclass
class World:
    """KEYED tables and the truth: 住登外者 rec_id → 住民票コード (None when not in the 住基),
    its kind, and the other 住登外者 of the same person outside the 住基."""

    juki: pa.Table
    atena: pa.Table
    labelled: pa.Table
    truth: dict[str, str | None]
    kinds: dict[str, str]
    same_person: dict[str, str] = field(default_factory=dict)


class _Rows:
    """Accumulates KEYED rows column by column, keys computed once per distinct value."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {f.name: [] for f in KEYED}
        self._kanji: dict[str, str] = {}
        self._kana: dict[str, str] = {}

    def kanji(self, s: str) -> str:
        if s not in self._kanji:
            self._kanji[s] = kanji_key(s) or ""
        return self._kanji[s]

    def kana(self, s: str) -> str:
        if s not in self._kana:
            self._kana[s] = kana_key(s) or ""
        return self._kana[s]

    def add(self, **row: Any) -> None:
        """One row: uji/na as written and their readings ("" none), the rest as KEYED."""
        uji, na, uji_yomi, na_yomi = row.pop("uji"), row.pop("na"), row.pop("uji_yomi"), row.pop("na_yomi")
        y, m, d = row["birth_year"], row["birth_month"], row["birth_day"]
        row |= {
            "shimei": f"{uji}\u3000{na}",
            "shimei_furigana": f"{uji_yomi}\u3000{na_yomi}" if uji_yomi else "",
            "uji_kanji": self.kanji(uji),
            "na_kanji": self.kanji(na),
            "uji_kana": self.kana(uji_yomi) if uji_yomi else "",
            "na_kana": self.kana(na_yomi) if na_yomi else "",
            "seinengappi_text": f"{y}-{m}-{d}" if m else f"{y}年月日不詳",
            "jusho": f"{row['jusho_shikuchosonkodo']}{row['choaza']}{row['banchi']}",
        }
        row.setdefault("atenabango", "")
        row.setdefault("juminhyokodo", "")
        row.setdefault("jutokubun", "")
        row.setdefault("version", 0)
        for k, col in self.cols.items():
            col.append(row[k])

    def table(self) -> pa.Table:
        return pa.table(self.cols, schema=KEYED)


def _typo(rng: np.random.Generator, s: str, noise: str) -> str:
    j = int(rng.integers(0, len(s)))
    return s[:j] + noise[int(rng.integers(0, len(noise)))] + s[j + 1 :]


def _long_vowel(s: str) -> str:
    """A reading written with long-vowel marks (サトウ → サトー), which kana_key folds."""
    return s.replace("ウ", "ー", 1) if "ウ" in s[1:] else s


def make_world(n_persons: int, n_atena: int, n_labelled: int, seed: int = 1) -> World:
    """住基 persons of the lake's municipalities (a previous address for a quarter, a previous
    surname for some married women), 住登外者 of four kinds (former residents at their new
    address, residents of another municipality with a possibly stale address, DV victims at a
    hidden address, persons outside the 住基 — a third of them namesakes of a 住基 person born
    a day or two apart, a fifth known to two municipalities), labelled 住登者. 宛名 carry
    corruptions: 異体字, long-vowel spellings, missing or misspelt フリガナ, a wrong kanji, the
    old surname, day/month swaps, 不詳 dates, 性別 0, duplicates."""
    rng = np.random.default_rng(seed)
    sur = [s.split(":") for s in SURNAMES]
    given = [g.split(":") for g in GIVEN]
    weights = 1.0 / (np.arange(len(sur)) + 8.0)
    weights /= weights.sum()
    n = n_persons + n_atena
    uji = rng.choice(len(sur), size=n, p=weights)
    sex = rng.integers(1, 3, n)
    year = rng.integers(1930, 2024, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    cohort = np.searchsorted(np.array([1960, 1995]), year, side="right")
    na = ((sex - 1) * 3 + cohort) * 20 + rng.integers(0, 20, n)
    muni = np.concatenate([rng.integers(0, N_LAKE, n_persons), rng.integers(N_LAKE, N_LAKE + N_OUTSIDE, n_atena)])
    choaza = rng.integers(0, N_CHOAZA, n)
    banchi = rng.integers(1, 30, (n, 3))
    code = [f"{c:011d}" for c in rng.choice(10**10, size=n, replace=False) * 10]
    moved = rng.random(n_persons) < 0.25
    married = (sex[:n_persons] == 2) & (year[:n_persons] < 1998) & (rng.random(n_persons) < 0.15)
    old_uji = rng.choice(len(sur), size=n_persons, p=weights)
    old_muni = np.where(rng.random(n_persons) < 0.5, muni[:n_persons], rng.integers(0, N_LAKE, n_persons))
    old_choaza = rng.integers(0, N_CHOAZA, n_persons)
    old_banchi = rng.integers(1, 30, (n_persons, 3))

    def addr(m: int, c: int, b: np.ndarray) -> dict[str, str]:
        return {"jusho_shikuchosonkodo": muni_code(m), "choaza": f"町{c:03d}", "banchi": "-".join(map(str, b))}

    def person(p: int, u: int) -> dict[str, Any]:
        return {
            "uji": sur[u][0],
            "uji_yomi": sur[u][1],
            "na": given[na[p]][0],
            "na_yomi": given[na[p]][1],
            "seibetsu": str(sex[p]),
            "birth_year": int(year[p]),
            "birth_month": int(month[p]),
            "birth_day": int(day[p]),
        }

    out = _Rows()
    for p in range(n_persons):
        base = {"rec_id": code[p], "lg_code": muni_code(muni[p]), "juminhyokodo": code[p]}
        out.add(**base, **person(p, uji[p]), **addr(muni[p], choaza[p], banchi[p]))
        v = 1
        if moved[p]:
            old = addr(old_muni[p], old_choaza[p], old_banchi[p])
            out.add(**base | {"lg_code": old["jusho_shikuchosonkodo"], "version": v}, **person(p, uji[p]), **old)
            v += 1
        if married[p]:
            a = addr(old_muni[p], old_choaza[p], old_banchi[p]) if moved[p] else addr(muni[p], choaza[p], banchi[p])
            out.add(**base | {"version": v}, **person(p, old_uji[p]), **a)
    juki = out.table()
    out = _Rows()

    serial = Counter[int]()
    truth: dict[str, str | None] = {}
    kinds: dict[str, str] = {}

    def atena(p: int, kind: str, where: int, jutokubun: str) -> str:
        inside = p < n_persons
        fields = person(p, old_uji[p] if inside and married[p] and rng.random() < 0.4 else uji[p])
        if kind == "elsewhere" and inside and moved[p] and rng.random() < 0.3:
            a = addr(old_muni[p], old_choaza[p], old_banchi[p])  # not told of the move
        elif kind == "dv":
            a = addr(int(rng.integers(0, N_LAKE)), int(rng.integers(0, N_CHOAZA)), rng.integers(1, 30, 3))
        else:
            a = addr(muni[p], choaza[p], banchi[p])
        u = fields["uji"]
        if rng.random() < 0.1:
            for plain, variant in ITAIJI.items():
                u = u.replace(plain, variant)
        if rng.random() < 0.005:
            u = _typo(rng, u, KANJI_NOISE)
        fields["uji"] = u
        if rng.random() < 0.005:
            fields["na"] = _typo(rng, fields["na"], KANJI_NOISE)
        r = rng.random()
        if r < 0.3:
            fields["uji_yomi"] = fields["na_yomi"] = ""
        elif r < 0.31:
            fields["uji_yomi"] = _typo(rng, fields["uji_yomi"], KANA_NOISE)
        elif r < 0.41:
            fields["uji_yomi"], fields["na_yomi"] = _long_vowel(fields["uji_yomi"]), _long_vowel(fields["na_yomi"])
        m, d = fields["birth_month"], fields["birth_day"]
        r = rng.random()
        if r < 0.005 and d <= 12 and d != m:
            fields["birth_month"], fields["birth_day"] = d, m
        elif r < 0.008:
            fields["birth_day"] = d % 28 + 1
        elif r < 0.011:
            fields["birth_month"] = fields["birth_day"] = None
        if rng.random() < 0.01:
            fields["seibetsu"] = "0"
        serial[where] += 1
        lg = muni_code(where)
        number = f"{serial[where]:015d}"
        rec = f"{lg}:{number}"
        out.add(
            rec_id=rec,
            lg_code=lg,
            atenabango=number,
            juminhyokodo=code[p] if jutokubun == "1" else "",
            jutokubun=jutokubun,
            **fields,
            **a,
        )
        truth[rec] = code[p] if inside else None
        kinds[rec] = kind if inside else "outside"
        return rec

    n_out = n_atena * 7 // 100
    inside = rng.choice(n_persons, size=n_atena - n_out, replace=False)
    outside = np.arange(n_persons, n_persons + n_out)
    namesake = outside[rng.random(n_out) < 0.33]
    src = rng.integers(0, n_persons, len(namesake))
    for arr in (uji, na, sex, year, month):
        arr[namesake] = arr[src]
    day[namesake] = (day[src] - 1 + rng.choice([-2, -1, 1, 2], len(namesake))) % 28 + 1
    same_person: dict[str, str] = {}
    for i in inside.tolist():
        kind = str(rng.choice(["former", "elsewhere", "dv"], p=[0.55, 0.435, 0.015]))
        where = int(rng.integers(0, N_LAKE))
        atena(i, kind, where, "2")
        if rng.random() < 0.01:
            atena(i, kind, where, "2")  # the same person twice in one municipality
    for i in outside.tolist():
        first = int(rng.integers(0, N_LAKE))
        one = atena(i, "outside", first, "2")
        if rng.random() < 0.2:
            other = atena(i, "outside", (first + 1 + int(rng.integers(0, N_LAKE - 1))) % N_LAKE, "2")
            same_person[one], same_person[other] = other, one
    atena_table = out.table()
    out = _Rows()
    n_truth = dict(truth)
    for i in rng.choice(n_persons, size=min(n_labelled, n_persons), replace=False).tolist():
        atena(i, "jutosha", int(muni[i]), "1")
    truth = {k: v for k, v in truth.items() if k in n_truth}
    kinds = {k: v for k, v in kinds.items() if k in n_truth}
    return World(juki, atena_table, out.table(), truth, kinds, same_person)


# ----------------------------------------------------------------------------- hand-made cases

X, Y, OUT = 1, 2, N_LAKE + 3  # two lake municipalities and one outside


def _person(
    uji: str,
    uji_yomi: str,
    na: str,
    na_yomi: str,
    sex: str,
    ymd: tuple[int, int | None, int | None],
    where: int,
    cho: int,
) -> dict[str, Any]:
    y, m, d = ymd
    return {
        "uji": uji,
        "uji_yomi": uji_yomi,
        "na": na,
        "na_yomi": na_yomi,
        "seibetsu": sex,
        "birth_year": y,
        "birth_month": m,
        "birth_day": d,
        "jusho_shikuchosonkodo": muni_code(where),
        "choaza": f"町{cho:03d}",
        "banchi": f"{cho % 30}-{cho % 7 + 1}-{cho % 11 + 1}",
    }


#: 住基 persons of the cases: 住民票コード → versions (0 first)
CASE_JUKI: dict[str, list[dict[str, Any]]] = {
    "90000000010": [_person("勅使河原", "テシガワラ", "茂", "シゲル", "1", (1950, 3, 12), X, 900)],
    "90000000020": [_person("小鳥遊", "タカナシ", "和子", "カズコ", "2", (1944, 5, 20), X, 901)],
    "90000000030": [_person("九十九", "ツクモ", "誠", "マコト", "1", (1970, 1, 15), X, 902)],
    "90000000040": [_person("月見里", "ヤマナシ", "翔太", "ショウタ", "1", (1990, 7, 7), X, 903)],
    "90000000041": [_person("月見里", "ヤマナシ", "翔太", "ショウタ", "1", (1990, 7, 7), X, 903)],
    "90000000042": [_person("月見里", "ヤマナシ", "翔太", "ショウタ", "1", (1990, 7, 7), X, 903)],
    "90000000043": [_person("月見里", "ヤマナシ", "翔太", "ショウタ", "1", (1990, 7, 7), X, 903)],
    "90000000050": [
        _person("五百旗頭", "イオキベ", "美和", "ミワ", "2", (1975, 11, 30), X, 904),
        _person("東海林", "ショウジ", "美和", "ミワ", "2", (1975, 11, 30), X, 904),
    ],
    "90000000060": [
        _person("百目鬼", "ドウメキ", "直人", "ナオト", "1", (1982, 6, 1), X, 905),
        _person("百目鬼", "ドウメキ", "直人", "ナオト", "1", (1982, 6, 1), Y, 906),
    ],
    "90000000070": [_person("渡辺", "ワタナベ", "邦子", "クニコ", "2", (1961, 9, 9), X, 907)],
    "90000000080": [_person("斎木", "サイキ", "瑠璃", "ルリ", "2", (1999, 2, 28), X, 908)],
    "90000000090": [_person("小比類巻", "コヒルイマキ", "恵子", "ケイコ", "2", (1966, 4, 4), X, 909)],
    "90000000100": [_person("鬼瓦", "オニガワラ", "勇", "イサム", "1", (1960, 8, 8), X, 910)],
    "90000000101": [_person("鬼瓦", "オニガワラ", "勇", "イサム", "1", (1960, 8, 8), Y, 911)],
}
#: 住登外者 of the cases (kept by municipality Y unless said): name → record
CASE_ATENA: dict[str, dict[str, Any]] = {
    "swap": _person("勅使河原", "テシガワラ", "茂", "シゲル", "1", (1950, 12, 3), X, 900),
    # a namesake at the very address, born two days later (a made-up worst case)
    "namesake": _person("小鳥遊", "タカナシ", "和子", "カズコ", "2", (1944, 5, 22), X, 901),
    "other_sex": _person("九十九", "ツクモ", "誠", "マコト", "2", (1970, 1, 15), X, 902),
    "twins": _person("月見里", "ヤマナシ", "翔太", "ショウタ", "1", (1990, 7, 7), X, 903),
    "old_surname": _person("東海林", "ショウジ", "美和", "ミワ", "2", (1975, 11, 30), X, 904),
    "old_address": _person("百目鬼", "ドウメキ", "直人", "ナオト", "1", (1982, 6, 1), Y, 906),
    "itaiji_no_kana": _person("渡邉", "", "邦子", "", "2", (1961, 9, 9), X, 907),
    "kana_only": _person("斉木", "サイキ", "瑠璃", "ルリ", "2", (1999, 2, 28), X, 908),
    "dv": _person("小比類巻", "コヒルイマキ", "恵子", "ケイコ", "2", (1966, 4, 4), Y, 951),
    "far_second": _person("鬼瓦", "オニガワラ", "勇", "イサム", "1", (1960, 8, 8), X, 910),
    "outside_x": _person("四月一日", "ワタヌキ", "光", "ヒカル", "1", (1985, 2, 2), OUT, 952),
    "outside_y": _person("四月一日", "ワタヌキ", "光", "ヒカル", "1", (1985, 2, 2), OUT, 952),
}
CASE_LG = {"outside_x": X}


def case_rec(name: str) -> str:
    return f"{muni_code(CASE_LG.get(name, Y))}:9{list(CASE_ATENA).index(name):014d}"


def with_cases(world: World) -> World:
    """``world`` and the hand-made cases, and a common-name namesake of its first 住基 person
    (same name, 性別 and month, born a day later, living elsewhere) as case ``common_namesake``."""
    juki, atena = _Rows(), _Rows()
    for code, versions in CASE_JUKI.items():
        for v, p in enumerate(versions):
            juki.add(rec_id=code, lg_code=p["jusho_shikuchosonkodo"], juminhyokodo=code, version=v, **p)
    first = world.juki.slice(0, 1).to_pylist()[0]
    CASE_ATENA["common_namesake"] = _person(
        first["shimei"].split("\u3000")[0],
        "",
        first["shimei"].split("\u3000")[1],
        "",
        first["seibetsu"],
        (first["birth_year"], first["birth_month"], first["birth_day"] % 28 + 1),
        OUT,
        953,
    )
    for name, p in CASE_ATENA.items():
        rec = case_rec(name)
        lg, number = rec.split(":")
        atena.add(rec_id=rec, lg_code=lg, atenabango=number, jutokubun="2", **p)
    return dataclasses.replace(
        world,
        juki=pa.concat_tables([world.juki, juki.table()]),
        atena=pa.concat_tables([world.atena, atena.table()]),
    )


# ----------------------------------------------------------------------------- running it


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    views = "SELECT view_name FROM duckdb_views() WHERE NOT internal"
    return con.sql(f"SELECT table_name FROM duckdb_tables() UNION ALL {views} ORDER BY 1").fetchall()


def link(world: World, model: Path, config: LinkConfig | None = None, labelled: bool = True) -> pa.Table:
    """``link_jutogaisha`` over the world's tables in a new connection, which it leaves
    holding just those tables."""
    con = connect()
    for name, table in (("atena", world.atena), ("juki", world.juki), ("labelled", world.labelled)):
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")
    before = _tables(con)
    links = link_jutogaisha(con, "atena", "juki", "labelled" if labelled else None, model, config)
    assert _tables(con) == before  # its work tables and Splink's are gone
    return links


def by_record(links: pa.Table) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in links.to_pylist():
        out.setdefault(f"{row['lg_code']}:{row['atenabango']}", []).append(row)
    return out


def reasons(row: dict[str, Any]) -> dict[str, str]:
    return {r["item"]: r["agreement"] for r in row["reasons"]}


@dataclass(frozen=True)
class Quality:
    auto_precision: float
    auto_recall: float
    found_recall: float  # the true 住基 person among the auto or review rows
    review_share: float  # 住登外者 with review rows and no auto link


def quality(world: World, links: pa.Table) -> Quality:
    """Against the truth of the generated 住登外者 (住基 links only)."""
    rows = by_record(links.filter(pa.compute.is_valid(links["juminhyokodo"])))
    autos = correct = found = review = 0
    in_juki = sum(1 for t in world.truth.values() if t)
    for rec, target in world.truth.items():
        mine = rows.get(rec, [])
        auto = [r["juminhyokodo"] for r in mine if r["band"] == "auto"]
        autos += bool(auto)
        correct += bool(auto) and auto[0] == target
        found += target is not None and any(r["juminhyokodo"] == target for r in mine)
        review += bool(mine) and not auto
    return Quality(
        correct / max(autos, 1), correct / max(in_juki, 1), found / max(in_juki, 1), review / len(world.truth)
    )


@dataclass(frozen=True)
class Linked:
    world: World
    links: pa.Table
    rows: dict[str, list[dict[str, Any]]]
    model: Path


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Linked:
    world = with_cases(make_world(3000, 400, 800, seed=7))
    model = tmp_path_factory.mktemp("link") / "model.json"
    links = link(world, model)
    return Linked(world, links, by_record(links), model)


# ----------------------------------------------------------------------------- the tests


@pytest.mark.unit
def test_output_has_the_links_schema_in_a_stable_order(linked: Linked) -> None:
    t = linked.links
    assert t.schema == LINKS_WITH_LG
    assert set(t["method"].to_pylist()) == {"probabilistic"}
    assert t["decision"].null_count == t.num_rows
    assert set(t["band"].to_pylist()) <= {"auto", "review"}
    keys = [
        (r["lg_code"], r["atenabango"], r["juminhyokodo"] is None, r["rank"], r["juminhyokodo"] or "")
        for r in t.to_pylist()
    ]
    assert keys == sorted(keys)
    for row in t.to_pylist():  # a 住基 link or a 宛名 link, never both
        assert (row["juminhyokodo"] is None) == (row["target_atenabango"] is not None)


@pytest.mark.unit
def test_at_most_one_auto_per_atena_and_reasons_add_up(linked: Linked) -> None:
    for rec, rows in linked.rows.items():
        assert sum(r["band"] == "auto" for r in rows) <= 1, rec
        for r in rows:
            assert [x["item"] for x in r["reasons"]] == ["prior", "uji", "na", "seinengappi", "seibetsu", "jusho"]
            assert sum(x["weight"] for x in r["reasons"]) == pytest.approx(r["match_weight"], abs=1e-6)
            assert r["match_probability"] == pytest.approx(2 ** r["match_weight"] / (1 + 2 ** r["match_weight"]))
        ranks = sorted(r["rank"] for r in rows if r["juminhyokodo"] is not None)
        assert ranks == list(range(1, len(ranks) + 1)), rec


@pytest.mark.unit
def test_corrupted_true_pairs_are_found(linked: Linked) -> None:
    q = quality(linked.world, linked.links)
    assert q.auto_precision >= 0.99, q
    assert q.auto_recall >= 0.95, q
    assert q.found_recall >= 0.99, q
    assert q.review_share <= 0.05, q
    for kind in ("former", "elsewhere", "dv"):  # each kind of 住登外者 is linked
        recs = [r for r, k in linked.world.kinds.items() if k == kind]
        hits = sum(any(x["juminhyokodo"] == linked.world.truth[r] for x in linked.rows.get(r, [])) for r in recs)
        assert hits / len(recs) >= 0.9, (kind, hits, len(recs))


def _case(linked: Linked, name: str) -> list[dict[str, Any]]:
    return [r for r in linked.rows.get(case_rec(name), []) if r["juminhyokodo"] is not None]


@pytest.mark.unit
def test_a_day_month_swap_can_be_auto(linked: Linked) -> None:
    (row,) = _case(linked, "swap")
    assert (row["juminhyokodo"], row["band"]) == ("90000000010", "auto")
    assert reasons(row)["seinengappi"] == "日月入替"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["namesake", "common_namesake"])
def test_a_namesake_born_days_apart_is_never_auto(linked: Linked, name: str) -> None:
    rows = _case(linked, name)
    assert all(r["band"] != "auto" for r in rows), rows
    if name == "namesake":  # a rare name and everything else equal: auto but for the conflict
        (row,) = rows
        assert (row["juminhyokodo"], row["band"]) == ("90000000020", "review")
        assert reasons(row)["seinengappi"] == "1項目相違"
        assert row["match_weight"] >= LinkConfig().auto_weight


@pytest.mark.unit
def test_a_different_sex_is_never_auto(linked: Linked) -> None:
    (row,) = _case(linked, "other_sex")
    assert (row["juminhyokodo"], row["band"]) == ("90000000030", "review")
    assert reasons(row)["seibetsu"] == "相違"
    assert row["match_weight"] >= LinkConfig().auto_weight  # auto but for the conflict


@pytest.mark.unit
def test_equal_candidates_go_to_review(linked: Linked) -> None:
    rows = _case(linked, "twins")  # four 住基 persons alike in every key: the top_k of them
    assert [(r["juminhyokodo"], r["band"], r["rank"]) for r in rows] == [
        ("90000000040", "review", 1),
        ("90000000041", "review", 2),
        ("90000000042", "review", 3),
    ]
    assert rows[0]["match_weight"] == rows[2]["match_weight"] >= LinkConfig().auto_weight


@pytest.mark.unit
def test_a_second_candidate_far_below_an_auto_link_is_dropped(linked: Linked) -> None:
    (row,) = _case(linked, "far_second")  # a namesake born the same day, living elsewhere
    assert (row["juminhyokodo"], row["band"], row["rank"]) == ("90000000100", "auto", 1)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "code", "item", "agreement"),
    [
        ("old_surname", "90000000050", "uji", "漢字一致"),  # the 住基's older version
        ("old_address", "90000000060", "jusho", "番地まで一致"),  # idem
        ("itaiji_no_kana", "90000000070", "uji", "漢字一致"),  # 渡邉 keyed as 渡辺, no フリガナ
        ("dv", "90000000090", "jusho", "相違"),  # living away from the 住民票 address
    ],
)
def test_corrupted_case_links_auto(linked: Linked, name: str, code: str, item: str, agreement: str) -> None:
    (row,) = _case(linked, name)
    assert (row["juminhyokodo"], row["band"]) == (code, "auto")
    assert reasons(row)[item] == agreement


@pytest.mark.unit
def test_common_names_count_for_less(linked: Linked) -> None:
    surname = dict(
        zip(linked.world.atena["rec_id"].to_pylist(), linked.world.atena["uji_kanji"].to_pylist(), strict=True)
    )
    weight: dict[str, list[float]] = {}
    for rec, rows in linked.rows.items():
        for r in rows:
            uji = [x for x in r["reasons"] if x["item"] == "uji" and x["agreement"] == "漢字一致"]
            if r["band"] == "auto" and uji:
                weight.setdefault(surname[rec], []).append(uji[0]["weight"])
    assert len(set(weight["佐藤"])) == 1  # one weight per surname: its term frequency
    assert weight["佐藤"][0] < weight["小林"][0] < weight["勅使河原"][0] - 3  # the commonest says least


@pytest.mark.unit
def test_a_reading_links_when_the_kanji_differ(linked: Linked) -> None:
    (row,) = _case(linked, "kana_only")  # 斉木 for 斎木: kanji_key keeps them apart
    assert row["juminhyokodo"] == "90000000080" and row["band"] in ("auto", "review")
    assert reasons(row)["uji"] == "カナ一致・漢字相違"


@pytest.mark.unit
def test_jutogaisha_of_two_municipalities_link_to_each_other(linked: Linked) -> None:
    x, y = case_rec("outside_x"), case_rec("outside_y")
    for a, b in ((x, y), (y, x)):
        rows = [r for r in linked.rows[a] if r["target_atenabango"] is not None]
        assert [(f"{r['target_lg_code']}:{r['target_atenabango']}", r["band"], r["rank"]) for r in rows] == [
            (b, "auto", 1)
        ]
        assert all(r["juminhyokodo"] is None for r in rows)
    # persons of the world outside the 住基 known to two municipalities are found too
    pairs = {
        (f"{r['lg_code']}:{r['atenabango']}", f"{r['target_lg_code']}:{r['target_atenabango']}")
        for r in linked.links.to_pylist()
        if r["target_atenabango"] is not None
    }
    known = linked.world.same_person
    assert sum((a, b) in pairs for a, b in known.items()) >= 0.9 * len(known)
    assert not [p for p in pairs if p[0] in known or p[1] in known if known.get(p[0]) != p[1]]


def _parquet(t: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(t, sink)
    return sink.getvalue()


@pytest.mark.unit
def test_a_rerun_with_the_stored_model_gives_the_same_bytes(linked: Linked) -> None:
    model, stat = linked.model.read_bytes(), linked.model.stat()
    again = link(linked.world, linked.model)
    assert again.equals(linked.links)
    assert _parquet(again) == _parquet(linked.links)
    assert linked.model.read_bytes() == model
    assert (linked.model.stat().st_ino, linked.model.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    stored = json.loads(model)
    assert stored["linker_uid"] == link_model.LINKER_UID
    assert link_model.model_text(stored).encode() == model  # sorted keys, stable floats


@pytest.mark.unit
def test_training_again_writes_the_same_model(linked: Linked, tmp_path: Path) -> None:
    fresh = tmp_path / "model.json"
    link(linked.world, fresh)
    assert fresh.read_bytes() == linked.model.read_bytes()
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file left
    reseeded = tmp_path / "reseeded.json"
    link(linked.world, reseeded, LinkConfig(seed=2))
    assert reseeded.read_bytes() != fresh.read_bytes()  # the seed picks the u sample


def _m(model: dict[str, Any]) -> dict[str, list[float]]:
    return {
        c["output_column_name"]: [lv["m_probability"] for lv in c["comparison_levels"] if not lv.get("is_null_level")]
        for c in model["comparisons"]
    }


@pytest.mark.unit
def test_every_level_has_a_probability(linked: Linked) -> None:
    for c in json.loads(linked.model.read_text())["comparisons"]:
        for lv in c["comparison_levels"]:
            if not lv.get("is_null_level"):  # a level no pair reached is rare, not impossible
                assert 0 < lv["m_probability"] < 1 and 0 < lv["u_probability"] < 1, (c["output_column_name"], lv)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("training", "labelled"), [("counted", False), ("em", True)], ids=["counted-without-labels", "em"]
)
def test_other_trainings_link_as_well(linked: Linked, tmp_path: Path, training: str, labelled: bool) -> None:
    config = LinkConfig(training="em") if training == "em" else LinkConfig()
    links = link(linked.world, tmp_path / "model.json", config, labelled=labelled)
    q = quality(linked.world, links)
    assert q.auto_precision >= 0.99 and q.auto_recall >= 0.95 and q.found_recall >= 0.98, q
    if training == "counted":  # the labelled 住登者 are the prior of every item but 住所
        with_labels, without = (
            _m(json.loads(linked.model.read_text())),
            _m(json.loads((tmp_path / "model.json").read_text())),
        )
        assert with_labels["jusho"] == without["jusho"]
        assert all(with_labels[item] != without[item] for item in ("uji", "na", "seinengappi", "seibetsu"))


@pytest.mark.unit
def test_blocking_keeps_comparisons_near_linear() -> None:
    def count(world: World, atena: pa.Table | None = None) -> int:
        con = connect()
        con.register("atena", world.atena if atena is None else atena)
        con.register("juki", world.juki)
        return count_comparisons(con, "atena", "juki")

    small, large = make_world(3000, 300, 0, seed=3), make_world(6000, 600, 0, seed=3)
    n = count(small)
    assert n < 3 * small.atena.num_rows  # a few candidates per 宛名
    assert 1.6 < count(large) / n < 2.5  # twice the records, about twice the pairs
    assert 1.8 < count(large, large.atena.slice(0, 300)) / count(large, large.atena.slice(0, 150)) < 2.2


@pytest.mark.unit
def test_a_model_of_other_comparisons_is_refused(linked: Linked, tmp_path: Path) -> None:
    stored = json.loads(linked.model.read_text())
    stored["comparisons"][0]["comparison_levels"][2]["sql_condition"] = "uji_kanji_l LIKE uji_kanji_r"
    other = tmp_path / "model.json"
    other.write_text(json.dumps(stored))
    with pytest.raises(link_model.LinkModelMismatch):
        link(linked.world, other)


@pytest.mark.unit
def test_an_unknown_blocking_rule_is_refused(tmp_path: Path) -> None:
    with pytest.raises(link_model.UnknownBlockingRule):
        link(make_world(100, 10, 0), tmp_path / "m.json", LinkConfig(blocking=("birth_only",)))
    assert not (tmp_path / "m.json").exists()


# ----------------------------------------------------------------------------- at scale


def _synth(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world = make_world(args.persons, args.atena, args.labelled, args.seed)
    for name in ("juki", "atena", "labelled"):
        pq.write_table(getattr(world, name), folder / f"{name}.parquet")
    truth = pa.table(
        {
            "rec_id": list(world.truth),
            "juminhyokodo": list(world.truth.values()),
            "kind": [world.kinds[r] for r in world.truth],
        }
    )
    pq.write_table(truth, folder / "truth.parquet")
    print(f"{world.juki.num_rows} 住基 rows, {world.atena.num_rows} 住登外者, in {time.perf_counter() - t0:.1f} s")


def _bench(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    con = connect()
    for name in ("juki", "atena", "labelled"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{folder / name}.parquet')")
    model = folder / "model.json"
    if not args.keep_model:
        model.unlink(missing_ok=True)
    config = LinkConfig(**json.loads(args.config)) if args.config else LinkConfig()
    t0 = time.perf_counter()
    links = link_jutogaisha(con, "atena", "juki", "labelled", model, config)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth = pq.read_table(folder / "truth.parquet").to_pylist()
    world = World(pa.table({}), pa.table({}), pa.table({}), {t["rec_id"]: t["juminhyokodo"] for t in truth}, {})
    q = quality(world, links)
    print(f"link_jutogaisha: {seconds:.1f} s, peak RSS {rss:.0f} MiB, {links.num_rows} rows")
    print(f"auto precision {q.auto_precision:.4f}, auto recall {q.auto_recall:.4f}, ", end="")
    print(f"auto+review recall {q.found_recall:.4f}, review share {q.review_share:.4f}")


def main(argv: list[str] | None = None) -> None:
    """``synth FOLDER`` writes a synthetic world as Parquet; ``bench FOLDER`` links it in a
    fresh process and prints seconds, peak RSS and quality against the truth."""
    parser = argparse.ArgumentParser(prog="python -m tests.test_link")
    sub = parser.add_subparsers(required=True)
    s = sub.add_parser("synth")
    s.add_argument("folder")
    s.add_argument("--persons", type=int, default=1_000_000)
    s.add_argument("--atena", type=int, default=50_000)
    s.add_argument("--labelled", type=int, default=50_000)
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(run=_synth)
    b = sub.add_parser("bench")
    b.add_argument("folder")
    b.add_argument("--keep-model", action="store_true", help="reuse the model a previous bench stored")
    b.add_argument("--config", help="LinkConfig fields as JSON")
    b.set_defaults(run=_bench)
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
