"""外字 maps: registered per municipality, applied while decoding, reported in the receipt."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from expectations.main import validate_municipality
from extract.inbox import deliver_local
from extract.main import ingest_municipality
from jumin.core.gaiji import GaijiMapInvalid, apply_map, parse_map, register_map
from jumin.core.lake import Lake
from jumin.core.manifest import write_manifest
from tests.conftest import REPO

pytestmark = [pytest.mark.unit]

CODE = "012025"  # the CP932 municipality of the sample
SOURCE = REPO / "sample_data" / "landing" / CODE / "atena_20261101.csv"
GAIJI = b"\xf0\x40"  # the first CP932 user-defined character: U+E000 after decoding
MAP = json.dumps({"lg_code": CODE, "map": {"U+E000": "髙"}}, ensure_ascii=False)


def upload_with_gaiji(tmp: Path) -> Path:
    """The sample atena file with the surname of its first record written as 外字 + 橋."""
    out = tmp / "out"
    out.mkdir()
    lines = SOURCE.read_bytes().split(b"\r\n")
    fields = lines[1].split(b",")
    name = fields[5].decode("cp932")
    fields[5] = GAIJI + "橋　".encode("cp932") + name.split("\u3000")[1].encode("cp932")
    lines[1] = b",".join(fields)
    (out / "atena_x.csv").write_bytes(b"\r\n".join(lines))
    write_manifest(out, "atena_x", CODE, "atena", "1", "2026-11-01", [("atena_x.csv", "cp932")])
    deliver_local(out, tmp / "landing", CODE)
    return tmp / "landing"


def run(tmp: Path) -> dict:
    landing, lake = upload_with_gaiji(tmp), tmp / "lake"
    ingest_municipality(landing, lake, CODE)
    validate_municipality(lake, CODE)
    [path] = Lake(lake).receipts(CODE)
    receipt: dict = json.loads(path.read_text())
    return receipt | {"text": Lake.receipt_text(path).read_text()}


def test_unmapped_gaiji_is_an_error_not_kept(tmp_path: Path) -> None:
    receipt = run(tmp_path)
    assert receipt["counts"]["rejected"] == 1
    assert receipt["findings"][0]["code"] == "E0002" and receipt["findings"][0]["line"] == 2
    assert receipt["findings"][0]["value"].startswith("\ue000")
    assert receipt["gaiji"] == {}


def test_registered_map_is_applied_and_reported(tmp_path: Path) -> None:
    register_map(tmp_path / "lake", CODE, MAP)
    receipt = run(tmp_path)
    assert receipt["status"] == "accepted", receipt["findings"][:3]
    assert receipt["gaiji"] == {"U+E000": {"to": "髙", "count": 1}}
    assert "外字置換: U+E000 → 「髙」 1件" in receipt["text"]
    [accepted_file] = Lake(tmp_path / "lake").accepted_files("atena", CODE)
    accepted = pq.read_table(accepted_file)
    assert accepted.column("shimei")[0].as_py().startswith("髙橋\u3000")
    [receipt_path] = Lake(tmp_path / "lake").receipts(CODE)
    raw = (Lake(tmp_path / "lake").raw(CODE, receipt_path.stem) / "atena_x.csv").read_bytes()
    assert GAIJI in raw, "the raw zone keeps the bytes as sent"


@pytest.mark.parametrize(
    "entry,why",
    [
        ({"U+4E00": "一"}, "not a private-use"),
        ({"U+E000": "\ue001"}, "standard characters"),
        ({"E000": ""}, "standard characters"),
        ({"U+XYZ": "一"}, r"not U\+XXXX"),
    ],
)
def test_bad_maps_are_refused(entry: dict, why: str) -> None:
    with pytest.raises(GaijiMapInvalid, match=why):
        parse_map(json.dumps({"lg_code": CODE, "map": entry}), CODE)


def test_map_of_another_municipality_is_refused() -> None:
    with pytest.raises(GaijiMapInvalid, match="lg_code"):
        parse_map(MAP, "131016")


def test_ivs_targets_and_counts() -> None:
    text, counts = apply_map("\ue001西\ue001", {0xE001: "葛\U000e0100"})
    assert text == "葛\U000e0100西葛\U000e0100" and counts == {"U+E001": 2}
    assert apply_map("abc", {0xE001: "葛"}) == ("abc", {})
