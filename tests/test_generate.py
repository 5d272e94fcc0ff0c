"""The seeded generator writes upload sets that satisfy their layouts and its ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from jumin.core.checkdigits import VALIDATORS
from jumin.core.files import sha256_file
from jumin.core.layouts import ATENA, IDOJIYU, JUKI, LAYOUTS, SHIEN, TEIKYOTEISHI, Item, Layout
from jumin.core.manifest import Manifest, count_rows
from jumin.core.municipalities import load_table
from jumin.dev.generate import GenerateResult, generate
from jumin.dev.generate.dates import one_year_term_end, to_days, wareki_year
from jumin.dev.generate.names import (
    build_name_pools,
    dakuten_variants,
    fold_kanji,
    long_vowel_variants,
    strip_variation_selectors,
    to_cp932_safe,
)
from jumin.dev.generate.records import LABELS
from jumin.dev.generate.teikyoteishi import TARGETS
from jumin.dev.generate.truth import DISCREPANCY_COLUMNS, DISCREPANCY_KINDS
from jumin.dev.generate.writer import write_table
from transform.keys import kana_key, kanji_key

pytestmark = [pytest.mark.unit]

CODES = ["131016", "141038", "012025"]
ENCODINGS = {"012025": "cp932"}
KIJUNBI = "2026-11-01"
VARIANT_CHARS = set("髙﨑邊邉濱濵齋澤嶋")
KATAKANA = re.compile(r"[\u30A1-\u30F6\u30FC\u3000]+")
FULLWIDTH_ALPHA = re.compile(r"[\uFF21-\uFF3A\u3000]+")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")

Row = dict[str, str]


# ---------------------------------------------------------------------------------------
# helpers


def read_set(folder: Path, layout: Layout) -> tuple[Manifest, list[Row], bytes]:
    """Manifest, rows keyed by romaji, and raw bytes of one upload set."""
    stem = f"{layout.name}_{KIJUNBI.replace('-', '')}"
    manifest = Manifest.from_json((folder / f"{stem}.manifest.json").read_text("utf-8"))
    raw = (folder / manifest.files[0].name).read_bytes()
    codec = "cp932" if manifest.files[0].encoding == "cp932" else "utf-8-sig"
    reader = csv.reader(io.StringIO(raw.decode(codec), newline=""))
    header = next(reader)
    assert header == [i.ja for i in layout.items]
    rows = [dict(zip(layout.romaji, r, strict=True)) for r in reader]
    return manifest, rows, raw


def all_rows(out: Path, layout: Layout) -> dict[str, list[Row]]:
    """lg_code → rows of that layout."""
    return {c: read_set(out / "landing" / c, layout)[1] for c in CODES}


def ground_truth(out: Path) -> list[Row]:
    with (out / "ground_truth.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def discrepancies(out: Path) -> list[Row]:
    with (out / "discrepancies.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def injected_codes(out: Path, kind: str) -> set[tuple[str, str]]:
    """(lg_code, atenabango) of the truth's discrepancies of ``kind``."""
    return {(r["lg_code"], r["atenabango"]) for r in discrepancies(out) if r["kind"] == kind}


def is_fullwidth(value: str) -> bool:
    """Ｎ: no ASCII, no half-width katakana or half-width symbols."""
    return all(ord(c) > 0x7F and not 0xFF61 <= ord(c) <= 0xFF9F and not 0xFFE8 <= ord(c) <= 0xFFEE for c in value)


def is_calendar_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return bool(ISO.fullmatch(value))


def item_errors(item: Item, row: Row) -> list[str]:
    """Every way ``row[item]`` breaks the declaration of ``item`` (empty when it conforms)."""
    v = row[item.romaji]
    errors = []
    needed = item.required
    if item.required_when is not None:
        other = row[item.required_when[0]]
        needed = any(other != "" if w == "*" else other == w for w in item.required_when[1])
    if not v:
        return ["missing"] if needed else []
    if len(v) > item.length or (item.fixed and len(v) != item.length):
        errors.append(f"length {len(v)}")
    if item.type == "X" and not all(0x20 <= ord(c) <= 0x7E for c in v):
        errors.append("not half-width")
    if item.type == "9" and not (v.isascii() and v.isdigit()):
        errors.append("not a number")
    if item.type == "N" and not is_fullwidth(v):
        errors.append("not full-width")
    if item.type == "DATE":
        fusho = item.fusho_flag is not None and row[item.fusho_flag] == "1"
        if not (ISO.fullmatch(v) if fusho else is_calendar_date(v)):
            errors.append("not a date")
    if item.codes and v not in item.codes:
        errors.append("not a code")
    if item.check and not VALIDATORS[item.check](v):
        errors.append("check digit")
    if item.charset == "katakana" and not KATAKANA.fullmatch(v):
        errors.append("not katakana")
    if item.pattern and not re.search(item.pattern.regex, v):
        errors.append("not the pattern")
    return errors


# ---------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateResult]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, CODES, 300, seed=1, kijunbi=KIJUNBI, encodings=ENCODINGS)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateResult]:
    """Big enough for the rare traits and the rates to show."""
    out = tmp_path_factory.mktemp("medium")
    return out, generate(out, CODES, 6000, seed=7, kijunbi=KIJUNBI, encodings=ENCODINGS)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------
# determinism and arguments


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name, CODES, 200, seed=seed, kijunbi=KIJUNBI, encodings=ENCODINGS)
        runs.append(tree_bytes(tmp_path / name))
    assert len(runs[0]) == 3 * 8 + 2  # four upload sets per municipality, two answer keys
    assert runs[0] == runs[1]
    assert runs[0].keys() == runs[2].keys()
    differing = [k for k in runs[0] if runs[0][k] != runs[2][k]]
    assert any(k.endswith("atena_20261101.csv") for k in differing)
    assert {"ground_truth.csv", "discrepancies.csv"} <= set(differing)


@pytest.mark.parametrize("codes", [["130001"], ["141003"], ["999999"], ["131016", "131016"]])
def test_rejects_what_is_not_one_sending_municipality(tmp_path: Path, codes: list[str]) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, codes, 10)


def test_rejects_unknown_encodings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        generate(tmp_path, ["131016"], 10, encodings={"131016": "euc-jp"})
    with pytest.raises(ValueError, match="not in lg_codes"):
        generate(tmp_path, ["131016"], 10, encodings={"012025": "cp932"})


def test_single_municipality_still_has_jutogaisha(tmp_path: Path) -> None:
    generate(tmp_path, ["012025"], 200, seed=2, kijunbi=KIJUNBI)
    kinds = Counter(r["kind"] for r in ground_truth(tmp_path))
    missing = sum(r["kind"] == "D007" and r["caused_by"] == "" for r in discrepancies(tmp_path))
    assert missing >= 1
    assert kinds["jutosha"] == 200 - missing  # one record per resident, but those the 宛名 lacks
    assert kinds["jutogaisha_elsewhere"] >= 10  # people living outside the set
    assert kinds["jutogaisha_former"] == 0  # nowhere to move to inside the set


# ---------------------------------------------------------------------------------------
# files and manifests


def test_result_lists_every_set_with_its_row_count(small: tuple[Path, GenerateResult]) -> None:
    out, result = small
    assert len(result.manifests) == 12
    assert result.ground_truth == out / "ground_truth.csv"
    assert result.discrepancies == out / "discrepancies.csv"
    for path in result.manifests:
        m = Manifest.from_json(path.read_text("utf-8"))
        assert path.parent == out / "landing" / m.lg_code
        assert m.kijunbi == KIJUNBI and m.layout_version == LAYOUTS[m.layout].version
        assert result.rows[(m.lg_code, m.layout)] == m.files[0].rows > 0


def test_manifests_verify(small: tuple[Path, GenerateResult]) -> None:
    for path in small[1].manifests:
        m = Manifest.from_json(path.read_text("utf-8"))
        (entry,) = m.files
        data = path.parent / entry.name
        assert entry.sha256 == sha256_file(data) == hashlib.sha256(data.read_bytes()).hexdigest()
        assert entry.rows == count_rows(data)
        assert entry.encoding == ENCODINGS.get(m.lg_code, "utf-8")


def test_encodings_line_endings_and_bom(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    boms = []
    for code in CODES:
        for layout in (ATENA, JUKI, SHIEN):
            _, _, raw = read_set(out / "landing" / code, layout)
            if code in ENCODINGS:
                raw.decode("cp932")
                assert not raw.startswith(b"\xef\xbb\xbf")
                assert raw.count(b"\r\n") == raw.count(b"\n") > 1  # CRLF throughout
                if layout is not SHIEN:  # kanji make CP932 invalid as UTF-8
                    with pytest.raises(UnicodeDecodeError):
                        raw.decode("utf-8")
            else:
                raw.decode("utf-8")
                assert b"\r" not in raw
                boms.append(raw.startswith(b"\xef\xbb\xbf"))
            assert raw.endswith(b"\n") and b'"' not in raw  # nothing needed quoting
    assert True in boms and False in boms


# ---------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("layout", [ATENA, JUKI, SHIEN], ids=lambda x: x.name)
def test_every_value_satisfies_its_item(small: tuple[Path, GenerateResult], layout: Layout) -> None:
    bad = []
    # a mistyped 住民票コード (D002) may fail its check digit (a warning, never a rejection)
    mistyped = {r["atena_value"] for r in discrepancies(small[0]) if r["kind"] == "D002"}
    for code, rows in all_rows(small[0], layout).items():
        for n, row in enumerate(rows, start=2):
            bad += [
                (code, n, i.romaji, row[i.romaji], e)
                for i in layout.items
                for e in item_errors(i, row)
                if not (e == "check digit" and i.romaji == "juminhyokodo" and row[i.romaji] in mistyped)
            ]
    assert bad == []


def test_item_check_catches_broken_values() -> None:
    """The conformance check above is not vacuous."""
    row = {i.romaji: "" for i in ATENA.items}
    row.update(
        atenabango="0000000001",
        rirekibango="1",
        jutokubun="1",
        shimei="佐藤　一郎",
        seibetsu="1",
        seinengappi="1980-01-01",
        seinengappi_fushofuragu="0",
        jusho_shikuchosonkodo="131016",
        idojiyu="10",
        idobi="1980-01-01",
        shoribi="1980-01-01",
        juminhyokodo="12345678901",
    )
    item = ATENA.item
    assert item_errors(item("shimei"), {**row, "shimei": "佐藤 一郎"}) == ["not full-width"]
    assert item_errors(item("shimei"), {**row, "shimei": "ｻﾄｳ"}) == ["not full-width"]
    assert item_errors(item("seinengappi"), {**row, "seinengappi": "1950-02-29"}) == ["not a date"]
    assert item_errors(item("jusho_shikuchosonkodo"), {**row, "jusho_shikuchosonkodo": "131017"}) == ["check digit"]
    assert item_errors(item("juminhyokodo"), {**row, "juminhyokodo": ""}) == ["missing"]
    assert item_errors(item("shimei_furigana"), {**row, "shimei_furigana": "さとう"}) == ["not katakana"]
    assert item_errors(item("idojiyu"), {**row, "idojiyu": "99"}) == ["not a code"]
    household = {**row, "setaibango": "0000000001", "zokugara": "子の妻"}
    assert item_errors(item("zokugara"), household) == []
    assert item_errors(item("zokugara"), {**household, "zokugara": "友人"}) == ["not the pattern"]
    assert item_errors(item("zokugara"), {**household, "zokugara": ""}) == ["missing"]
    assert item_errors(item("setaibango"), {**household, "setaibango": ""}) == ["missing"]


def test_names_are_assembled_as_the_standard_says(small: tuple[Path, GenerateResult]) -> None:
    for rows in all_rows(small[0], ATENA).values():
        for r in rows:
            if r["uji_nihonjin"]:
                assert r["shimei"] == f"{r['uji_nihonjin']}\u3000{r['na_nihonjin']}"
                assert r["shimei_gaikokujinromaji"] == ""
            else:
                assert r["shimei"] == r["shimei_gaikokujinromaji"]
                assert FULLWIDTH_ALPHA.fullmatch(r["shimei"])
            if r["shimei_furigana"]:
                assert r["shimei_furigana"].count("\u3000") >= 1


def test_history_numbers_run_from_one(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    for rows in all_rows(out, ATENA).values():
        per: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            per[r["atenabango"]].append(int(r["rirekibango"]))
        assert all(v == list(range(1, len(v) + 1)) for v in per.values())
    juki: dict[str, list[int]] = defaultdict(list)
    for rows in all_rows(out, JUKI).values():
        for r in rows:
            juki[r["juminhyokodo"]].append(int(r["rirekibango"]))
    # one person's rows may sit in two files (moved); together they count from 1
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in juki.values())


@pytest.mark.parametrize("layout", [ATENA, JUKI], ids=lambda x: x.name)
def test_dates_are_ordered_and_not_after_kijunbi(medium: tuple[Path, GenerateResult], layout: Layout) -> None:
    history: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for code, rows in all_rows(medium[0], layout).items():
        for r in rows:
            assert r["idobi"] <= r["shoribi"] <= KIJUNBI
            assert (r["seinengappi"] or "0") <= KIJUNBI
            # a juki person's rows may sit in two files (moved); 宛名番号 are per municipality
            history[(code if layout is ATENA else "", r[layout.person])].append(r)
    for rows in history.values():
        rows.sort(key=lambda r: int(r["rirekibango"]))
        for before, after in pairwise(rows):
            # a later 履歴番号 takes effect and is recorded no earlier
            assert before["idobi"] <= after["idobi"]
            assert before["shoribi"] <= after["shoribi"]


def test_first_history_row_registers_and_codes_make_sense(small: tuple[Path, GenerateResult]) -> None:
    for rows in all_rows(small[0], ATENA).values():
        for r in rows:
            if r["rirekibango"] == "1":
                assert r["idojiyu"] in ("10", "11", "12", "15")
                assert IDOJIYU[r["idojiyu"]] in ("出生", "国内転入", "国外転入", "住登外者登録")
            if r["idojiyu"] == "10":
                assert r["idobi"] == r["seinengappi"]
            assert (r["jutokubun"] == "1") == bool(r["juminhyokodo"])


# ---------------------------------------------------------------------------------------
# ground truth and cross-file links


def test_ground_truth_covers_every_atena_record(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    truth = {(r["lg_code"], r["atenabango"]): r for r in ground_truth(out)}
    mistyped = injected_codes(out, "D002")
    seen: dict[tuple[str, str], int] = {}
    for code, rows in all_rows(out, ATENA).items():
        for r in rows:
            seen[(code, r["atenabango"])] = int(r["rirekibango"])
            if r["juminhyokodo"]:
                # the person's code, unless the record carries a mistyped one (D002)
                same = truth[(code, r["atenabango"])]["juminhyokodo"] == r["juminhyokodo"]
                assert same is ((code, r["atenabango"]) not in mistyped)
    assert seen.keys() == truth.keys()
    assert all(int(truth[k]["rirekibango_max"]) == v for k, v in seen.items())
    assert {r["kind"] for r in truth.values()} == {
        "jutosha",
        "jutogaisha_former",
        "jutogaisha_elsewhere",
        "jutogaisha_dv",
    }


def test_every_jutosha_has_a_juki_record(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    juki = {(r["juminhyokodo"]) for rows in all_rows(out, JUKI).values() for r in rows}
    residents = {r["juminhyokodo"] for rows in all_rows(out, ATENA).values() for r in rows if r["jutokubun"] == "1"}
    mistyped = {r["atena_value"] for r in discrepancies(out) if r["kind"] == "D002"}
    # every 住登者's code is in 住基 but the mistyped ones (D002), which are in no 住基 file
    assert residents and mistyped and residents - mistyped <= juki and not mistyped & juki
    # and the juki rows of a file are at that municipality's addresses
    for code, rows in all_rows(out, JUKI).items():
        m = load_table()[code]
        assert all(r["jusho_shikuchosonkodo"] == code for r in rows)
        assert all(r["jusho"].startswith(m.todofuken) for r in rows)


def test_movers_leave_a_former_record_and_arrive_with_a_new_one(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    atena = all_rows(out, ATENA)
    truth = {(r["lg_code"], r["atenabango"]): r["juminhyokodo"] for r in ground_truth(out)}
    moved = 0
    for code, rows in atena.items():
        by_no: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_no[r["atenabango"]].append(r)
        for hist in by_no.values():
            codes = [r["idojiyu"] for r in hist]
            if "21" not in codes:
                continue
            moved += 1
            assert codes[-2:] == ["21", "15"]
            last = hist[-1]
            assert last["jutokubun"] == "2" and last["juminhyokodo"] == ""
            assert last["jusho_shikuchosonkodo"] != code  # the new address is elsewhere
            jhc = truth[(code, last["atenabango"])]  # the person (her new record may carry a mistyped code)
            to = last["jusho_shikuchosonkodo"]
            arrival = [r for r in atena[to] if truth[(to, r["atenabango"])] == jhc and r["idojiyu"] == "11"]
            assert arrival and arrival[0]["idobi"] == hist[-2]["idobi"]
    assert moved >= 0.02 * 6000


def test_dv_victims_are_jutogaisha_under_support(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    dv = [r for r in ground_truth(out) if r["kind"] == "jutogaisha_dv"]
    assert dv
    shien = {c: {r["atenabango"] for r in rows} for c, rows in all_rows(out, SHIEN).items()}
    atena = all_rows(out, ATENA)
    for r in dv:
        assert r["atenabango"] in shien[r["lg_code"]]
        first = next(a for a in atena[r["lg_code"]] if a["atenabango"] == r["atenabango"])
        assert first["jutokubun"] == "2" and first["juminhyokodo"] == ""
        assert first["jusho_shikuchosonkodo"] == r["lg_code"]  # she lives here


def test_opt_outs_refer_to_local_atena_some_withdrawn_some_filed_again(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    truth = {(r["lg_code"], r["atenabango"]): r["kind"] for r in ground_truth(out)}
    kinds: Counter[str] = Counter()
    withdrawn = refiled = 0
    for code, rows in all_rows(out, TEIKYOTEISHI).items():
        keys = [(r["atenabango"], r["teikyosaki"], r["moshidebi"]) for r in rows]
        assert keys == sorted(set(keys))  # one row per key, in key order
        for r in rows:
            kinds[truth[(code, r["atenabango"])]] += 1
            assert r["teikyosaki"] in TARGETS and r["moshidebi"] <= KIJUNBI
            assert r["tekkaibi"] == "" or r["moshidebi"] <= r["tekkaibi"] <= KIJUNBI
            withdrawn += r["tekkaibi"] != ""
        refiled += len(keys) - len({k[:2] for k in keys})
    assert (
        kinds["jutosha"] > 0 and kinds["jutogaisha_elsewhere"] > 0 and set(kinds) <= {"jutosha", "jutogaisha_elsewhere"}
    )
    assert withdrawn > 0 and refiled > 0


def test_shien_refers_to_local_atena_and_runs_one_year(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    kinds: Counter[str] = Counter()
    active = expired = 0
    for code, rows in all_rows(out, SHIEN).items():
        numbers = {r["atenabango"] for r in read_set(out / "landing" / code, ATENA)[1]}
        for r in rows:
            assert r["atenabango"] in numbers
            start, end = to_days(r["kaishibi"]), to_days(r["shuryobi"])
            assert int(one_year_term_end(np.array([start]))[0]) == end
            assert r["kaishibi"] <= KIJUNBI
            kinds[r["kubun"]] += 1
            active += r["kaishibi"] <= KIJUNBI <= r["shuryobi"]
            expired += r["shuryobi"] < KIJUNBI
    assert kinds["1"] > 0 and kinds["2"] > 0 and active > 0 and expired > 0


def test_elsewhere_jutogaisha_link_to_a_person_not_registered_here(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    truth = ground_truth(out)
    atena = all_rows(out, ATENA)
    juki_codes = {r["juminhyokodo"] for rows in all_rows(out, JUKI).values() for r in rows}
    elsewhere = [r for r in truth if r["kind"] == "jutogaisha_elsewhere"]
    inside = [r for r in elsewhere if r["juminhyokodo"] in juki_codes]
    assert inside and len(inside) < len(elsewhere)  # some live in the set, some outside
    for r in elsewhere:
        first = next(a for a in atena[r["lg_code"]] if a["atenabango"] == r["atenabango"])
        assert first["idojiyu"] == "15" and first["jusho_shikuchosonkodo"] != r["lg_code"]


# ---------------------------------------------------------------------------------------
# realism: rates and rare traits


def test_rates_are_roughly_as_specified(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    atena = [r for rows in all_rows(out, ATENA).values() for r in rows]
    juki = [r for rows in all_rows(out, JUKI).values() for r in rows]

    def share(rows: list[Row], key: str, pred: Callable[[Row], object]) -> float:
        """Share of persons (by ``key``, latest row) for whom ``pred`` holds."""
        people = {r[key]: r for r in rows}
        return sum(bool(pred(r)) for r in people.values()) / len(people)

    assert 0.65 < share(juki, "juminhyokodo", lambda r: r["shimei_furigana"]) < 0.75
    residents = [r for r in atena if r["jutokubun"] == "1"]
    assert 0.92 < share(residents, "juminhyokodo", lambda r: r["shimei_furigana"]) < 0.98
    assert 0.86 < share(juki, "juminhyokodo", lambda r: r["kojinbango"]) < 0.94
    assert (
        0.01
        < share(juki, "juminhyokodo", lambda r: not r["shimei"][0].isascii() and FULLWIDTH_ALPHA.fullmatch(r["shimei"]))
        < 0.03
    )
    codes = Counter(r["idojiyu"] for r in juki)
    assert {"10", "11", "12", "20", "21", "30", "32"} <= codes.keys()
    assert Counter(r["seibetsu"] for r in juki)["0"] > 0
    late = sum(r["shoribi"] > r["idobi"] for r in juki) / len(juki)
    assert 0.05 < late < 0.4
    assert {"0", "1"} == {r["tagyomusanshofukafuragu"] for r in atena}


def test_marriage_changes_surname_under_one_juminhyokodo(medium: tuple[Path, GenerateResult]) -> None:
    rows = [r for rs in all_rows(medium[0], JUKI).values() for r in rs]
    before: dict[str, str] = {}
    changed = 0
    for r in sorted(rows, key=lambda r: (r["juminhyokodo"], int(r["rirekibango"]))):
        if r["idojiyu"] == "32":
            assert r["seibetsu"] == "2"
            changed += r["shimei"].split("\u3000")[0] != before[r["juminhyokodo"]].split("\u3000")[0]
        before[r["juminhyokodo"]] = r["shimei"]
    assert changed > 0


def test_fusho_birth_dates_keep_raw_text(medium: tuple[Path, GenerateResult]) -> None:
    rows = [r for rs in all_rows(medium[0], ATENA).values() for r in rs]
    fusho = {r["atenabango"] + r["jusho_shikuchosonkodo"]: r for r in rows if r["seinengappi_fushofuragu"] == "1"}
    assert fusho
    assert all(r["seinengappi_fushohyoki"] for r in fusho.values())
    assert any(r["seinengappi"] == "" for r in fusho.values())
    assert any(r["seinengappi"] and not is_calendar_date(r["seinengappi"]) for r in fusho.values())
    assert all(r["seinengappi_fushohyoki"] == "" for r in rows if r["seinengappi_fushofuragu"] == "0")


def test_variant_kanji_and_ivs_only_where_the_encoding_allows(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    text = {c: "".join(r["shimei"] for r in rows) for c, rows in all_rows(out, ATENA).items()}
    utf8 = "".join(v for c, v in text.items() if c not in ENCODINGS)
    cp932 = "".join(v for c, v in text.items() if c in ENCODINGS)
    ivs = re.compile("[\U000e0100-\U000e01ef]")
    assert ivs.search(utf8)
    assert not ivs.search(cp932)
    assert VARIANT_CHARS & set(utf8) and VARIANT_CHARS & set(cp932)
    cp932.encode("cp932")


def test_addresses_are_real_towns_with_stable_codes(medium: tuple[Path, GenerateResult]) -> None:
    rows = [r for rs in all_rows(medium[0], ATENA).values() for r in rs]
    town: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        m = load_table()[r["jusho_shikuchosonkodo"]]
        assert r["jusho_todofuken"] == m.todofuken
        assert r["jusho_shikugunchosonmei"] == m.shikuchoson or m.kind == "shikuchoson"
        town[(r["jusho_shikuchosonkodo"], r["jusho_choaza"])].add((r["jusho_choazakodo"][:4], r["jusho_yubinbango"]))
        if "丁目" in r["jusho_banchigohyoki"]:
            assert int(r["jusho_choazakodo"][4:]) > 0
    assert all(len(v) == 1 for v in town.values())  # one 町字コード and 郵便番号 per town
    assert any(r["jusho_katagaki"].endswith("号室") for r in rows)
    assert any(r["jusho_katagaki"] == "" for r in rows)
    assert ("141038", "みなとみらい") in town  # 横浜市西区's real towns


# ---------------------------------------------------------------------------------------
# ground truth for reconciliation (discrepancies.csv) and 名寄せ (ground_truth.csv)


def latest(rows: list[Row], key: str) -> dict[str, Row]:
    """The row with the highest 履歴番号 per ``key``."""
    out: dict[str, Row] = {}
    for r in sorted(rows, key=lambda r: int(r["rirekibango"])):
        out[r[key]] = r
    return out


def atena_jusho(r: Row) -> str:
    """The 宛名's address items joined as the 住基 writes its 住所."""
    base = r["jusho_todofuken"] + r["jusho_shikugunchosonmei"] + r["jusho_choaza"] + r["jusho_banchigohyoki"]
    return f"{base}\u3000{r['jusho_katagaki']}" if r["jusho_katagaki"] else base


def shojo(code: str) -> bool:
    return IDOJIYU[code] in ("死亡", "国内転出", "国外転出", "職権消除", "失踪宣告", "その他消除")


def reconcile(out: Path) -> set[tuple[str, str, str, str, str]]:
    """Every discrepancy the files show, found here from the CSVs alone: (lg_code,
    atenabango, kind, 宛名's value, 住基's value), as discrepancies.csv should list them."""
    atena, juki = all_rows(out, ATENA), all_rows(out, JUKI)
    known = {r["juminhyokodo"] for rows in juki.values() for r in rows}
    found = set()
    for code in CODES:
        last_j = latest(juki[code], "juminhyokodo")
        here = {c: r for c, r in last_j.items() if not shojo(r["idojiyu"])}
        covered = set()
        for no, a in latest(atena[code], "atenabango").items():
            if a["jutokubun"] != "1" or shojo(a["idojiyu"]):
                continue
            c = a["juminhyokodo"]
            if c not in known:
                found.add((code, no, "D002", c, ""))
            elif c not in here:
                found.add((code, no, "D001", a["idojiyu"], last_j[c]["idojiyu"]))
            else:
                covered.add(c)
                j = here[c]
                if fold_kanji(a["shimei"]) != fold_kanji(j["shimei"]):
                    found.add((code, no, "D003", a["shimei"], j["shimei"]))
                elif a["shimei"] != j["shimei"]:
                    found.add((code, no, "hyoki", a["shimei"], j["shimei"]))
                for kind, item in (("D004", "seinengappi"), ("D005", "seibetsu")):
                    if a[item] != j[item]:
                        found.add((code, no, kind, a[item], j[item]))
                if atena_jusho(a) != j["jusho"]:
                    found.add((code, no, "D006", atena_jusho(a), j["jusho"]))
        found |= {(code, "", "D007", "", c) for c in here.keys() - covered}
    return found


def test_truth_files_have_their_columns(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    with (out / "ground_truth.csv").open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == [
            "lg_code",
            "atenabango",
            "rirekibango_max",
            "juminhyokodo",
            "kind",
            "person_id",
            "juki_juminhyokodo",
            "corruptions",
            "duplicate_of",
            "namesake_of",
            "setaibango",
        ]
    with (out / "discrepancies.csv").open(encoding="utf-8") as f:
        assert tuple(next(csv.reader(f))) == DISCREPANCY_COLUMNS
    labels = {x for r in ground_truth(out) for x in r["corruptions"].split(";") if x}
    assert labels <= set(LABELS)
    assert {r["kind"] for r in discrepancies(out)} <= set(DISCREPANCY_KINDS)


@pytest.mark.parametrize("fixture", ["small", "medium"])
def test_discrepancies_are_what_the_files_show(fixture: str, request: pytest.FixtureRequest) -> None:
    """discrepancies.csv lists exactly the discrepancies a reconciliation of the CSVs finds,
    with the values the files hold; the 住民票コード is the person's true one."""
    out, _ = request.getfixturevalue(fixture)
    listed = discrepancies(out)
    got = {(r["lg_code"], r["atenabango"], r["kind"], r["atena_value"], r["juki_value"]) for r in listed}
    assert len(got) == len(listed)
    assert got == reconcile(out)
    assert {r["kind"] for r in listed} == set(DISCREPANCY_KINDS)  # every kind is there
    truth = {(r["lg_code"], r["atenabango"]): r for r in ground_truth(out)}
    items = {"D001": "idojiyu", "D002": "juminhyokodo", "D007": "juminhyokodo", "D004": "seinengappi"}
    for r in listed:
        assert r["item"] == items.get(r["kind"], {"D005": "seibetsu", "D006": "jusho"}.get(r["kind"], "shimei"))
        if r["atenabango"]:
            t = truth[(r["lg_code"], r["atenabango"])]
            assert t["kind"] == "jutosha" and r["juminhyokodo"] == t["juminhyokodo"]
            # the record is labelled with the discrepancy injected into it
            assert r["kind"] == "hyoki" or r["kind"] in t["corruptions"].split(";")
        else:
            assert r["kind"] == "D007" and r["juki_value"] == r["juminhyokodo"]
    # a mistyped code leaves its 住基 person without a 宛名 carrying the code
    left = {(r["lg_code"], r["juminhyokodo"]) for r in listed if r["kind"] == "D002"}
    for r in listed:
        if r["kind"] == "D007":
            assert (r["caused_by"] == "D002") is ((r["lg_code"], r["juminhyokodo"]) in left)
        else:
            assert r["caused_by"] == ""
    assert left and left <= {(r["lg_code"], r["juminhyokodo"]) for r in listed if r["kind"] == "D007"}
    injected = {
        (r["lg_code"], r["atenabango"], x) for r in truth.values() for x in r["corruptions"].split(";") if x[:1] == "D"
    }
    assert injected == {(r["lg_code"], r["atenabango"], r["kind"]) for r in listed if r["kind"][:1] == "D"} - {
        (r["lg_code"], "", "D007") for r in listed
    }


def test_hyoki_is_a_spelling_only_and_d003_a_different_name(medium: tuple[Path, GenerateResult]) -> None:
    listed = discrepancies(medium[0])
    hyoki = [r for r in listed if r["kind"] == "hyoki"]
    d003 = [r for r in listed if r["kind"] == "D003"]
    assert hyoki and d003
    for r in hyoki:
        a, j = r["atena_value"], r["juki_value"]
        assert a != j and fold_kanji(a) == fold_kanji(j)
        # the difference is an IVS or a 異体字, nothing else
        assert strip_variation_selectors(a) == strip_variation_selectors(j) or a.translate(FOLD) == j.translate(FOLD)
    assert any(strip_variation_selectors(r["atena_value"]) == strip_variation_selectors(r["juki_value"]) for r in hyoki)
    assert any(
        "\u3000" in r["atena_value"] and r["atena_value"].split("\u3000")[0] != r["juki_value"].split("\u3000")[0]
        for r in hyoki
    )
    for r in d003:
        assert fold_kanji(r["atena_value"]) != fold_kanji(r["juki_value"])
    hyoki_keys = {(r["lg_code"], r["atenabango"]) for r in hyoki}
    spelled = {"itaiji_uji", "itaiji_na", "ivs"}
    atena = all_rows(medium[0], ATENA)
    ended = {
        (c, no) for c, rows in atena.items() for no, r in latest(rows, "atenabango").items() if shojo(r["idojiyu"])
    }
    for t in ground_truth(medium[0]):
        labels = set(t["corruptions"].split(";"))
        if (t["lg_code"], t["atenabango"]) in ended:
            continue  # 死亡 in both: not reconciled
        if t["kind"] == "jutosha" and not {x for x in labels if x[:1] == "D"}:
            # a 住登者 spelt another way is 表記ゆれ, and only such a one
            assert bool(labels & spelled) is ((t["lg_code"], t["atenabango"]) in hyoki_keys), t


FOLD = str.maketrans({"髙": "高", "﨑": "崎", "邊": "辺", "邉": "辺", "濱": "浜", "濵": "浜", "齋": "斎", "澤": "沢"})
FOLD.update(str.maketrans({"嶋": "島", "櫻": "桜", "廣": "広", "𠮷": "吉", "惠": "恵", "眞": "真", "實": "実"}))
FOLD.update(str.maketrans({"靜": "静", "穗": "穂", "淸": "清"}))


def test_fold_is_the_itaiji_of_the_domain() -> None:
    for variant, plain in (("渡邊", "渡辺"), ("渡邉", "渡辺"), ("濵田", "浜田"), ("髙橋", "高橋"), ("山﨑", "山崎")):
        assert fold_kanji(variant) == plain
    assert fold_kanji("齋藤") == "斎藤" != fold_kanji("斉藤")  # 斉 is another character
    assert fold_kanji("葛\U000e0100西") == "葛西" and fold_kanji("𠮷野") == "吉野"


def test_fold_agrees_with_the_reconcilers_kanji_key() -> None:
    """Two name forms of the pools are one name for the truth (hyoki, not D003) exactly when
    they are for reconciliation's kanji key."""
    pools = build_name_pools(1)
    for forms, fold in ((pools.uji_kanji, pools.uji_fold), (pools.given_kanji, pools.given_fold)):
        keys = [kanji_key(f) for f in forms]
        pairs = [(i, j) for i in range(len(forms)) for j in range(i + 1, len(forms))]
        assert [(forms[i], forms[j]) for i, j in pairs if (fold[i] == fold[j]) != (keys[i] == keys[j])] == []
        assert any(fold[i] == fold[j] for i, j in pairs)


def test_reading_variants_follow_the_fuzzy_search_rules() -> None:
    """Long-vowel and lost-濁点 readings are the same reading under kana_key; a typo is not."""
    assert long_vowel_variants("オオノ") == ["オーノ", "オウノ"]
    assert long_vowel_variants("ユウコ") == ["ユーコ"] and long_vowel_variants("サトウ") == ["サトー"]
    assert dakuten_variants("ヤマザキ") == ["ヤマサキ"]
    kana = build_name_pools(1).kana
    strings = kana.strings
    checked = Counter[str]()
    for kind, same in (("long_vowel", True), ("dakuten", True), ("typo", False)):
        alt = kana.alternatives[kind]
        for i in range(len(strings)):
            for j in alt.values[alt.offsets[i] : alt.offsets[i + 1]]:
                assert strings[j] != strings[i] and len(strings[j]) == len(strings[i])
                assert (kana_key(strings[j]) == kana_key(strings[i])) is same, (kind, strings[i], strings[j])
                checked[kind] += 1
    assert min(checked.values()) > 20


def juki_people(out: Path) -> dict[str, list[Row]]:
    """住民票コード → the person's 住基 rows in 履歴番号 order (over every file)."""
    people: dict[str, list[Row]] = defaultdict(list)
    for rows in all_rows(out, JUKI).values():
        for r in rows:
            people[r["juminhyokodo"]].append(r)
    for rows in people.values():
        rows.sort(key=lambda r: int(r["rirekibango"]))
    return people


def test_jutogaisha_labels_say_how_the_record_differs(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    people = juki_people(out)
    last_a = {(c, no): r for c, rows in all_rows(out, ATENA).items() for no, r in latest(rows, "atenabango").items()}
    seen = Counter[str]()
    for t in ground_truth(out):
        labels = set(t["corruptions"].split(";")) - {""}
        if t["kind"] == "jutosha":
            continue
        seen.update(labels)
        if not t["juki_juminhyokodo"]:
            continue  # no 住基 to compare with
        a, hist = last_a[(t["lg_code"], t["atenabango"])], people[t["juki_juminhyokodo"]]
        j = hist[-1]
        cp932 = t["lg_code"] in ENCODINGS
        written = to_cp932_safe if cp932 else (lambda x: x)
        uji_a, uji_j = a["uji_nihonjin"], j["shimei"].split("\u3000")[0]
        if not a["uji_nihonjin"]:
            continue  # foreign names are written as 住基 has them
        if "old_surname" in labels:
            assert fold_kanji(uji_a) != fold_kanji(uji_j)
            assert fold_kanji(uji_a) in {fold_kanji(r["shimei"].split("\u3000")[0]) for r in hist}
        elif "new_surname" in labels:
            assert fold_kanji(uji_a) not in {fold_kanji(r["shimei"].split("\u3000")[0]) for r in hist}
        else:
            assert fold_kanji(a["shimei"]) == fold_kanji(j["shimei"])
            spelt = labels & {"itaiji_uji", "itaiji_na", "ivs"}
            # labels say how the record differs from the 住基 name as its own file writes it; a
            # CP932 住基 file may have lost the 𠮷 or IVS that a UTF-8 record's spelling differs by
            if cp932 or j["jusho_shikuchosonkodo"] not in ENCODINGS:
                assert bool(spelt) is (a["shimei"] != written(j["shimei"])), (t, a["shimei"], j["shimei"])
        if "birth_swap" in labels:
            y, m, d = j["seinengappi"].split("-")
            assert a["seinengappi"] == f"{y}-{d}-{m}" and m != d
        else:
            assert a["seinengappi"] == j["seinengappi"] and a["seibetsu"] == j["seibetsu"]
        if t["kind"] != "jutogaisha_dv":
            assert ("old_address" in labels) is (written(atena_jusho(a)) != written(j["jusho"]))
        if "furigana_missing" in labels:
            assert a["shimei_furigana"] == ""
        elif j["shimei_furigana"] and not labels & {"old_surname", "new_surname"}:
            kana = {"furigana_long_vowel", "furigana_dakuten", "furigana_typo"}
            assert bool(labels & kana) is (a["shimei_furigana"] != j["shimei_furigana"])
            assert (kana_key(a["shimei_furigana"]) == kana_key(j["shimei_furigana"])) is ("furigana_typo" not in labels)
    assert {"itaiji_uji", "itaiji_na", "ivs", "furigana_long_vowel", "furigana_typo", "furigana_missing"} <= seen.keys()
    # a CP932 file cannot carry an IVS: no record of it is labelled with one
    assert not [t for t in ground_truth(out) if t["lg_code"] in ENCODINGS and "ivs" in t["corruptions"]]
    assert {"birth_swap", "old_surname", "new_surname", "old_address", "duplicate"} <= seen.keys()


def test_duplicates_share_the_person(medium: tuple[Path, GenerateResult]) -> None:
    truth = ground_truth(medium[0])
    by_key = {(r["lg_code"], r["atenabango"]): r for r in truth}
    dups = [r for r in truth if r["duplicate_of"]]
    assert any(r["lg_code"] == r["duplicate_of"].split(":")[0] for r in dups)
    assert any(r["lg_code"] != r["duplicate_of"].split(":")[0] for r in dups)
    outside = 0
    for r in dups:
        lg_code, number = r["duplicate_of"].split(":")
        first = by_key[(lg_code, number)]
        assert "duplicate" in r["corruptions"].split(";")
        assert r["person_id"] == first["person_id"] and r["juminhyokodo"] == first["juminhyokodo"]
        assert first["kind"] != "jutosha" and r["kind"] == "jutogaisha_elsewhere"
        outside += not r["juki_juminhyokodo"]
    assert outside  # persons in no 住基 file are duplicated too: 住登外者 linked to each other
    # one person, one id; one id, one person
    pairs = {(r["person_id"], r["juminhyokodo"]) for r in truth}
    assert len({p for p, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)


def test_namesakes_are_in_no_juki_and_share_a_residents_name(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    people = juki_people(out)
    last_a = {(c, no): r for c, rows in all_rows(out, ATENA).items() for no, r in latest(rows, "atenabango").items()}
    namesakes = [r for r in ground_truth(out) if r["namesake_of"]]
    assert len(namesakes) >= 0.003 * 6000
    by_year = by_days = 0
    for t in namesakes:
        assert t["juki_juminhyokodo"] == "" and t["juminhyokodo"] not in people
        # written faithfully (she may have moved since, and a reading may be missing)
        assert t["kind"] == "jutogaisha_elsewhere"
        assert set(t["corruptions"].split(";")) <= {"", "old_address", "furigana_missing"}
        a, resident = last_a[(t["lg_code"], t["atenabango"])], people[t["namesake_of"]]
        assert a["shimei"] in {r["shimei"] for r in resident}  # the very same 氏名 in 住基
        assert a["seibetsu"] == resident[-1]["seibetsu"]
        gap = abs(to_days(a["seinengappi"]) - to_days(resident[-1]["seinengappi"]))
        assert 1 <= gap <= 7 or (
            364 <= gap <= 366 and a["seinengappi"][5:] in (resident[-1]["seinengappi"][5:], "02-28")
        )
        by_days += gap <= 7
        by_year += gap > 7
        # she is known where the resident is registered
        assert t["lg_code"] == resident[0]["jusho_shikuchosonkodo"]
    assert by_days and by_year


def test_corruption_and_discrepancy_rates(medium: tuple[Path, GenerateResult]) -> None:
    truth = ground_truth(medium[0])
    jutosha = [r for r in truth if r["kind"] == "jutosha"]
    jutogai = [r for r in truth if r["kind"] != "jutosha" and not r["namesake_of"]]
    kinds = Counter(r["kind"] for r in discrepancies(medium[0]))
    for kind in ("D001", "D002", "D003", "D004", "D005", "D006", "D007"):
        assert 0.002 < kinds[kind] / len(jutosha) < 0.012, kind
    assert 0.005 < kinds["hyoki"] / len(jutosha) < 0.05
    spelt = sum(bool(set(r["corruptions"].split(";")) & {"itaiji_uji", "itaiji_na", "ivs"}) for r in jutogai)
    assert 0.03 < spelt / len(jutogai) < 0.2
    misread = {"furigana_long_vowel", "furigana_dakuten", "furigana_typo"}
    assert 0.02 < sum(bool(set(r["corruptions"].split(";")) & misread) for r in jutogai) / len(jutogai) < 0.15
    assert 0.005 < sum("duplicate" in r["corruptions"] for r in jutogai) / len(jutogai) < 0.08


# ---------------------------------------------------------------------------------------
# helpers of the generator


def test_cp932_safe_forms() -> None:
    assert to_cp932_safe("葛\U000e0100西") == "葛西"
    assert to_cp932_safe("髙橋") == "髙橋"  # NEC/IBM extension, encodable
    assert to_cp932_safe("山﨑") == "山﨑"
    assert to_cp932_safe("𠮷野") == "吉野"
    assert to_cp932_safe("\U0010de92子") == "〓子"  # MJ+ private use: no CP932 form


def test_wareki_and_terms() -> None:
    assert wareki_year(1950) == "昭和２５年"
    assert wareki_year(1926) == "大正１５年"  # 昭和 began on 1926-12-25
    assert wareki_year(1989) == "平成元年"
    assert wareki_year(2019) == "令和元年"
    start = np.array([to_days("2025-04-10"), to_days("2024-02-29")])
    assert [str(np.datetime64(int(d), "D")) for d in one_year_term_end(start)] == ["2026-04-09", "2025-02-28"]


def test_writer_quotes_only_values_that_need_it() -> None:
    table = pa.table({"a": ["x", 'say "hi", then', ""], "b": ["１", "２", "line\nbreak"]})
    buf = io.BytesIO()
    write_table(buf, ["a", "b"], table, "cp932")
    assert buf.getvalue().decode("cp932") == ('a,b\r\nx,１\r\n"say ""hi"", then",２\r\n,"line\nbreak"\r\n')


# ---------------------------------------------------------------------------------------
# households (世帯番号, 続柄)


def households_on_kijunbi(rows: list[Row]) -> dict[str, list[Row]]:
    """世帯番号 → the last rows of the records present as 住登者 on the 基準日."""
    out: dict[str, list[Row]] = defaultdict(list)
    for r in latest(rows, "atenabango").values():
        if r["jutokubun"] == "1" and not shojo(r["idojiyu"]):
            out[r["setaibango"]].append(r)
    return out


def test_every_household_has_exactly_one_setainushi(medium: tuple[Path, GenerateResult]) -> None:
    out, _ = medium
    truth = {(r["lg_code"], r["atenabango"]): r["setaibango"] for r in ground_truth(out)}
    for code, rows in all_rows(out, ATENA).items():
        by_record: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for r in rows:
            # both or neither, only on 住登者 rows
            assert bool(r["setaibango"]) == bool(r["zokugara"]) == (r["jutokubun"] == "1"), r
            if r["setaibango"]:
                by_record[r["atenabango"]].add((r["setaibango"], r["zokugara"]))
        # a record keeps its household and 続柄 over its history (no 世帯変更 rows)
        assert all(len(v) == 1 for v in by_record.values())
        assert not [r for r in rows if r["idojiyu"] == "31"]
        # a 世帯番号 is one household: one 世帯主 record ever, never another household's number
        heads = Counter(s for v in by_record.values() for s, z in v if z == "世帯主")
        numbers = {s for v in by_record.values() for s, _ in v}
        assert set(heads) == numbers and set(heads.values()) == {1}
        assert {no: next(iter(v))[0] for no, v in by_record.items()} == {
            no: s for (c, no), s in truth.items() if c == code and s
        }
        # on the 基準日 every household has its 世帯主
        for number, members in households_on_kijunbi(rows).items():
            assert [m["zokugara"] for m in members].count("世帯主") == 1, (code, number)


def test_zokugara_follow_the_rule_and_households_have_realistic_shapes(medium: tuple[Path, GenerateResult]) -> None:
    pattern = re.compile(ATENA.item("zokugara").pattern.regex)  # type: ignore[union-attr]
    sizes: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    for rows in all_rows(medium[0], ATENA).values():
        assert all(pattern.search(r["zokugara"]) for r in rows if r["zokugara"])
        for members in households_on_kijunbi(rows).values():
            sizes[len(members)] += 1
            kinds.update(m["zokugara"] for m in members)
    total = sum(sizes.values())
    assert 0.30 < sizes[1] / total < 0.55  # census 2020: 38 % of households are one person
    assert 1.8 < sum(k * v for k, v in sizes.items()) / total < 2.6  # persons per household (2.2)
    assert sum(v for k, v in sizes.items() if k >= 4) / total > 0.05
    assert {"世帯主", "妻", "夫", "子", "子の妻", "子の子", "同居人"} <= set(kinds)
    assert kinds["父"] + kinds["母"] > 0
    assert kinds["同居人"] + kinds["縁故者"] < 0.02 * total


def birth_year(r: Row) -> float | None:
    """The 生年月日 as a fractional year, None when 不詳."""
    if r["seinengappi_fushofuragu"] == "1" or not is_calendar_date(r["seinengappi"]):
        return None
    d = dt.date.fromisoformat(r["seinengappi"])
    return d.year + d.timetuple().tm_yday / 366


def test_children_are_younger_than_their_parents(medium: tuple[Path, GenerateResult]) -> None:
    """子 and 子の妻 are a generation younger than the 世帯主 and the spouse, 父/母 a generation
    older, 子の子 a generation younger than 子の妻 (15 years: a 宛名 birth date may be a year off,
    D004)."""
    checked = Counter[str]()
    for rows in all_rows(medium[0], ATENA).values():
        households: dict[str, list[Row]] = defaultdict(list)
        for r in latest([r for r in rows if r["setaibango"]], "atenabango").values():
            households[r["setaibango"]].append(r)
        for members in households.values():
            born: dict[str, list[float]] = defaultdict(list)
            for m in members:
                y = birth_year(m)
                if y is not None:
                    born[m["zokugara"]].append(y)
            couple = born["世帯主"] + born["妻"] + born["夫"]
            for younger, older in (("子", couple), ("子の妻", couple), ("子の子", born["子の妻"])):
                for y in born[younger]:
                    assert all(y - o >= 15 for o in older), (younger, members)
                    checked[younger] += bool(older)
            for parent in ("父", "母"):
                for y in born[parent]:
                    assert all(o - y >= 15 for o in couple), (parent, members)
                    checked[parent] += 1
    assert checked["子"] > 100 and checked["子の子"] > 0 and checked["父"] + checked["母"] > 0


@pytest.mark.parametrize(
    ("zokugara", "ok"),
    [
        ("世帯主", True),
        ("妻", True),
        ("子の妻", True),
        ("妻の父", True),
        ("子の子の子の子", True),
        ("妻（未届）", True),
        ("同居人", True),
        ("縁故者", True),
        ("子の子の子の子の子", False),  # five generations
        ("友人", False),
        ("世帯主の子", False),
        ("子の同居人", False),
        ("子の", False),
    ],
)
def test_zokugara_rule(zokugara: str, ok: bool) -> None:
    assert bool(re.search(ATENA.item("zokugara").pattern.regex, zokugara)) is ok  # type: ignore[union-attr]


def test_both_engines_check_households_alike() -> None:
    """The 続柄 pattern and the 世帯番号/続柄 相関 give the same findings in DuckDB and in Great
    Expectations."""
    from expectations.gx_engine import gx_hits
    from expectations.rules import rules_for
    from expectations.sql import findings_sql
    from extract.parse import parse
    from jumin.core import duck

    base = {i.romaji: "" for i in ATENA.items}
    base.update(
        rirekibango="1",
        jutokubun="2",
        shimei="佐藤　一郎",
        seibetsu="1",
        seinengappi="1980-01-01",
        seinengappi_fushofuragu="0",
        jusho_shikuchosonkodo="131016",
        idojiyu="15",
        idobi="2020-01-01",
        shoribi="2020-01-01",
    )
    cases = [
        ("0000000001", "世帯主"),
        ("0000000001", "子の妻"),
        ("0000000001", "子の子の子の子"),
        ("0000000001", "子の子の子の子の子"),
        ("0000000001", "友人"),
        ("0000000002", ""),
        ("", "子"),
        ("", ""),
    ]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([i.ja for i in ATENA.items])
    for n, (setai, zoku) in enumerate(cases, 1):
        row = {**base, "atenabango": f"{n:010d}", "setaibango": setai, "zokugara": zoku}
        w.writerow([row[k] for k in ATENA.romaji])
    table = parse(out.getvalue(), ATENA, "atena.csv").table
    table = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    rules = rules_for(ATENA)
    con = duck.connect()
    con.register("parsed", table)
    fast = duck.arrow(con, "findings", findings_sql(rules, "parsed")).to_pylist()
    ref = gx_hits(ATENA, table).to_pylist()
    key = ("_row", "rule", "value")
    assert [tuple(r[k] for k in key) for r in fast] == [tuple(r[k] for k in key) for r in ref]
    found = {(r["_row"], rules[r["rule"]].name, rules[r["rule"]].code) for r in fast}
    assert found == {
        (3, "pattern_zokugara", "E0002"),
        (4, "pattern_zokugara", "E0002"),
        (5, "required_when_setaibango", "E0004"),
        (6, "required_when_zokugara", "E0004"),
    }
