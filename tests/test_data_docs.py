"""GX Data Docs pages for a closed network: self-contained, byte-identical on a rerun, with
residents' values masked (the receipt keeps them), and styled in a real browser offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expectations.data_docs import MASK, build_data_docs, localize, mask_value
from expectations.main import validate_municipality
from expectations.suite import build_suite
from extract.main import ingest_municipality
from jumin.core.lake import Lake
from jumin.core.layouts import get_layout
from tests.conftest import REPO

pytestmark = [pytest.mark.unit]

CODE = "131016"
BAD = REPO / "sample_data" / "bad"
#: broken sets and a resident's value each shows among its sampled unexpected values
CASES = {
    "half_width_in_full_width_item": "ｽｽﾞｷ\u3000ﾊﾅｺ",  # 氏名
    "bad_check_digit_kojinbango": "234567890122",  # 個人番号
}
CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Page:
    case: str
    value: str
    html: Path
    stats: Path
    receipt: Path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Page]:
    """The broken sets ingested, validated and their Data Docs built, in one lake."""
    tmp = tmp_path_factory.mktemp("docs")
    landing, lake = tmp / "landing", tmp / "lake"
    out = {}
    for case, value in CASES.items():
        inbox = landing / CODE / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        for p in (BAD / case / "landing" / CODE).iterdir():
            shutil.copyfile(p, inbox / p.name)
        ingest_municipality(landing, lake, CODE)
        [summary] = [r for r in validate_municipality(lake, CODE)]
        out[case] = Page(
            case,
            value,
            Path(summary.data_docs),
            Lake(lake).rule_stats(CODE, summary.set_id),
            Path(summary.receipt),
        )
    assert sorted(build_data_docs(lake, CODE)) == sorted(str(p.html) for p in out.values())
    return out


class _Refs(HTMLParser):
    """Everything a page refers to: URL attributes, CSS in style attributes and elements."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.css: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._style = tag == "style"
        for name, value in attrs:
            if name in {"src", "href", "srcset", "action", "poster", "data", "formaction", "xlink:href"}:
                self.refs.append(value or "")
            if name == "style":
                self.css.append(value or "")
            if name == "id":
                self.ids.add(value or "")
            if name.startswith("on"):
                self.handlers.append(name)

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if self._style:
            self.css.append(data)


def refs_of(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def test_page_refers_to_nothing_outside_itself(pages: dict[str, Page]) -> None:
    for page in pages.values():
        html = page.html.read_text(encoding="utf-8")
        found = refs_of(html)
        assert found.refs, "the table of contents links its sections"
        assert [r for r in found.refs if EXTERNAL.match(r) or "//" in r] == []
        # every reference is an anchor of the page itself, and that anchor exists
        assert [r for r in found.refs if not r.startswith("#") or r[1:] not in found.ids] == []
        css = "\n".join(found.css)
        assert "url(" not in css and "@import" not in css
        assert not {"script", "link", "img", "iframe", "button"} & set(found.tags)
        assert found.handlers == []
        assert "http://" not in html and "https://" not in html
        assert "greatexpectations.io" not in html and "amazonaws" not in html


def test_page_shows_every_expectation_and_result_without_scripts(pages: dict[str, Page]) -> None:
    """Each expectation's status is written out as text (no icon font, no JavaScript)."""
    for page in pages.values():
        html = page.html.read_text(encoding="utf-8")
        stats = json.loads(page.stats.read_text(encoding="utf-8"))
        failed = sum(1 for r in stats["rules"] if r["unexpected_count"])
        expectations = len(build_suite(get_layout(stats["layout"])).expectations)
        assert expectations == len(stats["rules"])
        # one status per expectation, and one for the whole set in the overview
        assert html.count("\u2718 failed") == failed + 1
        assert html.count("\u2714 passed") == expectations - failed
        assert "Sampled Unexpected Values" in html


def test_pages_are_byte_identical_when_rendered_again_later(
    pages: dict[str, Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another clock and other uuids (what GX's view takes them from) give the same bytes."""
    import great_expectations.render.view.view as gx_view

    before = {p.html: p.html.read_bytes() for p in pages.values()}
    later = datetime(2031, 4, 1, 12, 34, 56, tzinfo=UTC)

    clock = SimpleNamespace(datetime=SimpleNamespace(now=lambda tz=None: later), timezone=timezone)
    monkeypatch.setattr(gx_view, "datetime", clock)
    monkeypatch.setattr(gx_view, "uuid4", lambda: uuid.UUID(int=later.microsecond + 42))
    lake = next(iter(pages.values())).html.parents[2]
    assert sorted(build_data_docs(lake, CODE, force=True)) == sorted(str(p) for p in before)
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.integration
def test_pages_are_byte_identical_when_rendered_in_another_process(pages: dict[str, Page]) -> None:
    """A rerun after a crash is another process: other hash seed, other clock, same bytes."""
    before = {p.html: p.html.read_bytes() for p in pages.values()}
    lake = next(iter(pages.values())).html.parents[2]
    code = f"from expectations.data_docs import build_data_docs; build_data_docs({str(lake)!r}, {CODE!r}, force=True)"
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO, timeout=50)
        assert {p: p.read_bytes() for p in before} == before, seed


def test_rerun_skips_pages_of_unchanged_statistics_whatever_their_mtime(pages: dict[str, Page]) -> None:
    page = pages["half_width_in_full_width_item"]
    lake = page.html.parents[2]
    before = page.html.read_bytes()
    page.stats.write_bytes(page.stats.read_bytes())  # rewritten by a rerun: newer than the page
    assert build_data_docs(lake, CODE) == []
    page.html.unlink()
    assert build_data_docs(lake, CODE) == [str(page.html)]
    assert page.html.read_bytes() == before
    stats = json.loads(page.stats.read_text(encoding="utf-8"))
    stats["rules"][0]["element_count"] += 1  # other statistics: rendered again
    page.stats.write_text(json.dumps(stats, ensure_ascii=False), encoding="utf-8")
    try:
        assert build_data_docs(lake, CODE) == [str(page.html)]
        assert page.html.read_bytes() != before
    finally:
        stats["rules"][0]["element_count"] -= 1
        page.stats.write_text(json.dumps(stats, ensure_ascii=False), encoding="utf-8")
        build_data_docs(lake, CODE)
    assert page.html.read_bytes() == before


def test_residents_values_are_masked_in_docs_and_clear_in_the_receipt(pages: dict[str, Page]) -> None:
    for page in pages.values():
        masked = mask_value(page.value)
        assert masked != page.value and MASK in masked
        html = page.html.read_text(encoding="utf-8")
        assert page.value not in html and masked in html, page.case
        assert page.value not in page.stats.read_text(encoding="utf-8"), "the statistics sit beside the page"
        receipt = json.loads(page.receipt.read_text(encoding="utf-8"))
        assert page.value in [f["value"] for f in receipt["findings"]], "the municipality sees its value"
        assert page.value in Lake.receipt_text(page.receipt).read_text(encoding="utf-8")


def test_mask_rule() -> None:
    assert mask_value("佐藤\u3000一郎") == "佐藤\u3000＊＊"
    assert mask_value("123456789012") == "12" + "＊" * 10
    assert mask_value("東京都千代田区") == "東京＊＊＊＊＊"
    assert mask_value("林") == "＊"
    assert mask_value("林\u3000一") == "林\u3000＊"
    assert mask_value("9") == "＊" and mask_value("") == ""
    assert mask_value(None) is None and mask_value(1234) == "12＊＊"


@given(st.text(max_size=40))
def test_mask_keeps_length_and_whitespace_shows_at_most_two_characters_and_is_idempotent(value: str) -> None:
    masked = mask_value(value)
    assert len(masked) == len(value) and mask_value(masked) == masked
    kept = [i for i, (a, b) in enumerate(zip(value, masked, strict=True)) if a == b and not a.isspace() and a != MASK]
    assert all(i < 2 for i in kept)
    assert [c.isspace() for c in masked] == [c.isspace() for c in value]


def test_localize_drops_whatever_would_load_or_link_outside() -> None:
    page = localize(
        '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0;url=https://x.example">'
        '<link rel="stylesheet" href="https://cdn.example/b.css"><style>@import "https://x.example/a.css";</style>'
        "<style>td { color: red }</style><script src=//cdn.example/j.js></script>"
        '<script>alert(1)</script></head><body onload="go()">'
        '<a href="https://greatexpectations.io">Great Expectations</a> <a href="#s1">top</a>'
        '<img src="https://s3.example/logo.png?d=now"><iframe src="https://x.example"><p>in</p></iframe>'
        '<div id="s1" style="background: url(https://x.example/i.png)" class="k">A &amp; B&#12354;</div>'
        '<button onclick="f()">Show</button><i class="fas fa-times text-danger" aria-hidden="true"></i>'
        "<br/></body></html>"
    )
    found = refs_of(page)
    assert found.refs == ["#s1"] and found.handlers == []
    assert "//" not in page and "url(" not in page and "@import" not in page
    assert not {"script", "link", "img", "iframe", "button", "meta"} & set(found.tags)
    assert "td { color: red }" in page and "Great Expectations</a>" in page
    assert '<div id="s1" class="k">A &amp; B&#12354;</div>' in page
    assert '<i class="fas fa-times text-danger">\u2718 failed</i>' in page


def _chromium(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Debian chromium with every way out closed: no DNS, a proxy that refuses, no
    background networking; ``--log-net-log`` records every request the page makes."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1200,900",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def _page_requests(netlog: Path) -> set[str]:
    """The URLs a page asked for, from chromium's NetLog: requests on behalf of a file:// page
    (its network isolation key); the browser's own calls home (update, time, accounts) have
    none and the refusing proxy stops them."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return {
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job and str(e["params"].get("network_isolation_key", "")).startswith("file://")
    }


#: read back by the probe copy of the page: computed styles of the header, a failed and a
#: passed status, a table cell and a section header
PROBE = """<script>
const s = (q, p) => getComputedStyle(document.querySelector(q))[p];
document.body.setAttribute("data-probe", JSON.stringify({
  header: s(".jumin-header", "backgroundColor"), failed: s("i.fas.text-danger", "backgroundColor"),
  passed: s("i.fas.text-success", "backgroundColor"), cell: s("td", "borderTopStyle"),
  section: s(".alert-secondary", "backgroundColor"), sidebar: s(".col-lg-2", "position")}));
</script>"""


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_page_is_styled_in_a_browser_offline(pages: dict[str, Page], tmp_path: Path) -> None:
    """The page in headless chromium with no network. Three checks, each against a control:
    the page requests nothing (a page with a CDN stylesheet and an image does, in the same
    NetLog); our stylesheet applies (computed styles, read by a probe script added to a copy of
    the page: the DOM alone would not show it); and a screenshot differs from one of the same
    page without the stylesheet (what a reader would see)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    page = pages["half_width_in_full_width_item"].html
    html = page.read_text(encoding="utf-8")

    control = tmp_path / "control.html"
    control.write_text(
        '<html><head><link rel="stylesheet" href="https://cdn.example.org/b.css"></head>'
        '<body><img src="http://img.example.net/logo.png"></body></html>',
        encoding="utf-8",
    )
    _chromium(control, tmp_path, f"--screenshot={tmp_path / 'control.png'}", f"--log-net-log={tmp_path / 'c.json'}")
    assert _page_requests(tmp_path / "c.json") == {"https://cdn.example.org/b.css", "http://img.example.net/logo.png"}
    styled = tmp_path / "styled.png"
    _chromium(page, tmp_path, f"--screenshot={styled}", f"--log-net-log={tmp_path / 'net.json'}")
    assert _page_requests(tmp_path / "net.json") == set()

    probe_page = tmp_path / "probe.html"
    probe_page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(probe_page, tmp_path, "--dump-dom").stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    transparent = "rgba(0, 0, 0, 0)"
    assert probe["cell"] == "solid" and probe["sidebar"] == "sticky"
    assert transparent not in {probe["header"], probe["failed"], probe["passed"], probe["section"]}
    assert probe["failed"] != probe["passed"]

    bare_page = tmp_path / "bare.html"
    bare_page.write_text(re.sub(r'<style id="jumin-data-docs">.*?</style>', "", html, flags=re.S), encoding="utf-8")
    assert bare_page.read_text(encoding="utf-8") != html
    bare = tmp_path / "bare.png"
    _chromium(bare_page, tmp_path, f"--screenshot={bare}")
    assert styled.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert styled.read_bytes() != bare.read_bytes()
