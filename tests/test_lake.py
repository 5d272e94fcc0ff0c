"""Every lake path comes from ``Lake``: the paths it builds are the ones docs/lake.md documents,
and no other module of the project joins lake path pieces itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from jumin.core.lake import Lake

pytestmark = [pytest.mark.unit]

REPO = Path(__file__).resolve().parent.parent
LIBRARY = ["jumin", "extract", "expectations", "transform", "load", "dags"]
ZONES = {"raw", "incoming", "parsed", "accepted", "rejected", "receipts", "docs", "reference", "snapshot", "delta"}
#: a Hive partition key or a set file name being spelt out: ``lg_code=``, ``set=`` …
PARTITION_KEY = re.compile(r"(^|/)(lg_code|kijunbi|known_at|set|from|to)=")

LAKE = Lake(Path("/lake"))
#: each Lake path, relative to the root, as docs/lake.md writes it
DOCUMENTED = {
    "incoming/<code>/<set_id>/": LAKE.incoming("<code>", "<set_id>"),
    "raw/lg_code=<code>/set=<set_id>/": LAKE.raw("<code>", "<set_id>"),
    "parsed/<layout>/lg_code=<code>/set=<set_id>.parquet": LAKE.parsed("<layout>", "<code>", "<set_id>"),
    "accepted/<layout>/lg_code=<code>/set=<set_id>.parquet": LAKE.accepted("<layout>", "<code>", "<set_id>"),
    "rejected/<layout>/lg_code=<code>/set=<set_id>.parquet": LAKE.rejected("<layout>", "<code>", "<set_id>"),
    "receipts/lg_code=<code>/<set_id>.json": LAKE.receipt("<code>", "<set_id>"),
    "docs/lg_code=<code>/<set_id>.html": LAKE.data_docs("<code>", "<set_id>"),
    "reference/gaiji/<code>.json": LAKE.gaiji_map("<code>"),
    "snapshot/<layout>/kijunbi=<YYYY-MM-DD>/known_at=<YYYY-MM-DD>/lg_code=<code>/": LAKE.snapshot(
        "<layout>", "<YYYY-MM-DD>", "<YYYY-MM-DD>", "<code>"
    ),
    "delta/<layout>/from=<ref>/to=<ref>/lg_code=<code>/": LAKE.delta("<layout>", "<ref>", "<ref>", "<code>"),
}


@pytest.mark.parametrize("documented", sorted(DOCUMENTED))
def test_documented_paths_are_the_ones_lake_builds(documented: str) -> None:
    text = (REPO / "docs" / "lake.md").read_text(encoding="utf-8")
    assert f"`{documented}" in text, f"docs/lake.md does not document {documented}"
    built = DOCUMENTED[documented].relative_to(LAKE.root).as_posix()
    assert built == documented.rstrip("/")


def test_sidecars_sit_beside_what_they_describe() -> None:
    parsed = LAKE.parsed("atena", "131016", "abc")
    assert Lake.parsed_sidecar(parsed) == parsed.with_suffix(".json")
    assert Lake.set_id_of(parsed) == "abc"
    receipt = LAKE.receipt("131016", "abc")
    assert Lake.receipt_text(receipt).name == "abc.txt"
    assert Lake.data_docs_of(LAKE.rule_stats("131016", "abc")) == LAKE.data_docs("131016", "abc")


def test_municipalities_are_real_codes_only(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    for code in ("131016", "131017", "１３１０１６", "13101"):  # valid, bad check digit, full-width, short
        (tmp_path / "accepted" / "atena" / f"lg_code={code}").mkdir(parents=True)
    assert lake.municipalities("accepted") == ["131016"]


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String pieces of the code (f-string parts included), docstrings left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def _joins_a_zone(tree: ast.AST) -> list[int]:
    """Lines where a path is joined with a zone name: ``something / "receipts"``."""
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.BinOp)
        and isinstance(n.op, ast.Div)
        and isinstance(n.right, ast.Constant)
        and n.right.value in ZONES
    ]


def test_no_lake_path_is_built_outside_lake() -> None:
    offences = []
    for package in LIBRARY:
        for path in sorted((REPO / package).rglob("*.py")):
            if path == REPO / "jumin" / "core" / "lake.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = path.relative_to(REPO)
            offences += [f"{where}:{line}: {text!r}" for line, text in _strings(tree) if PARTITION_KEY.search(text)]
            offences += [f"{where}:{line}: joins a zone name" for line in _joins_a_zone(tree)]
    assert offences == [], "build these paths with jumin.core.lake.Lake:\n" + "\n".join(offences)


def test_the_scan_finds_a_path_built_by_hand() -> None:
    tree = ast.parse('def f(lake, c):\n    return lake / "receipts" / f"lg_code={c}"\n')
    assert _joins_a_zone(tree) == [2]
    assert [t for _, t in _strings(tree) if PARTITION_KEY.search(t)] == ["lg_code="]


def test_delivery_partitions_read_back_from_their_paths() -> None:
    rel = [
        p.relative_to(LAKE.deliveries_root()).as_posix()
        for p in (LAKE.delivery("kenko_annai", "2026-11-01"), LAKE.delivery_delta("c1", "2026-05-01", "2026-11-01"))
    ]
    assert [Lake.delivery_partition(r) for r in rel] == [
        ("kenko_annai", None, "2026-11-01"),
        ("c1", "2026-05-01", "2026-11-01"),
    ]
    for not_one in ("contract=c1", rel[1].rsplit("/", 1)[0], rel[0] + "/part-0.parquet", "x/" + rel[0]):
        assert Lake.delivery_partition(not_one) is None
