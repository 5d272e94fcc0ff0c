"""GX Data Docs for one validated upload set, built from the fast engine's results.

The DuckDB engine produces, per rule, how many rows broke it and which values; here that
becomes a Great Expectations validation result for the layout's suite and is rendered with
GX's own Data Docs renderer into one static HTML page per set
(``<lake>/docs/lg_code=<code>/<set_id>.html``). Validation saves the small per-rule statistics
next to it (``<set_id>.stats.json``) and the page is rendered afterwards, so a receipt never
waits for GX to load. Only the page's path travels onwards.

The page is made for a closed network and for a lake that must rerun to the same bytes:

- **Self-contained.** GX's page pulls jQuery, Bootstrap, bootstrap-table, Vega, Font Awesome,
  popper and datepicker from public CDNs, its logo from S3 and links a newsletter. Our view
  (:class:`_ClosedNetworkPageView`) replaces GX's page shell (head, top bar, footer, the
  JavaScript filter card) with templates of our own, and :func:`localize` then parses the
  HTML (``html.parser``) and drops every ``<script>``, ``<link>``, ``<button>``, event
  handler, image or frame that is not part of the page, and every link that is not an anchor
  within it (the text stays). The only style is our small stylesheet (:data:`STYLESHEET`),
  inline in ``<style>``, so a page copied alone still reads well; status icons get their
  words (``✔ passed``, ``✘ failed``) as text, so the page needs neither fonts nor scripts.
- **Deterministic.** Nothing comes from the clock or a random source: GX's run name and run
  time are the set id and the 基準日, element ids GX makes with ``uuid4`` are numbered in page
  order, and the logo URL with its ``?d=<now>`` is gone. The same statistics render to the same
  bytes; the page carries the SHA-256 of its statistics and format (``jumin-source``), and
  :func:`build_data_docs` re-renders only a page whose source differs (never by mtime).
- **Masked.** Values from residents' rows (the sampled unexpected values) are masked by
  :func:`mask_value`, already in the statistics file beside the page and again when the page
  is rendered: a value keeps its first ``min(2, len // 2)`` characters; every later character
  becomes a full-width ``＊``, except whitespace, which stays as it was (so 氏 and 名 stay
  apart). ``佐藤　一郎`` → ``佐藤　＊＊``, ``123456789012`` → ``12＊＊＊＊＊＊＊＊＊＊``,
  ``9`` → ``＊``. The length stays visible (length rules), the value does not. Masking is
  idempotent. The municipality's receipt keeps the full values: the clerk must find the row.
"""

from __future__ import annotations

import hashlib
import html as _html
import json
import re
from datetime import datetime
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from expectations import config as _config  # noqa: F401  (sets GX_ANALYTICS_ENABLED first)
from expectations.rules import Rule
from jumin.core import duck
from jumin.core.files import atomic_write_bytes
from jumin.core.lake import Lake
from jumin.core.layouts import Layout

PARTIAL = 20
#: what replaces a masked character
MASK = "＊"
#: bump when the page's format changes, so :func:`build_data_docs` renders existing pages again
PAGE_FORMAT = 1


def mask_value(value: Any) -> Any:
    """A resident's value as shown in Data Docs (rule in the module docstring); ``None`` stays."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    keep = min(2, len(text) // 2)
    return text[:keep] + "".join(c if c.isspace() else MASK for c in text[keep:])


def rule_statistics(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> list[dict[str, Any]]:
    """Per rule: rows, empty values of its item, broken rows and the first broken values
    (masked: the statistics sit beside the page, see :func:`mask_value`)."""
    total = duck.scalar(con, "parsed", "SELECT count(*) FROM parsed")
    items = sorted({r.item for r in rules})
    missing_row = duck.rows(
        con,
        "missing values",
        "SELECT " + ", ".join(f"count(*) - count({duck.quote_ident(i)})" for i in items) + " FROM parsed",
    )[0]
    missing = dict(zip(items, missing_row, strict=True))
    broken = {
        rule: (n, values)
        for rule, n, values in duck.rows(
            con,
            "rule statistics",
            f"SELECT rule, count(*), list(value ORDER BY _row)[1:{PARTIAL}] FROM hits GROUP BY rule",
        )
    }
    out = []
    for i, r in enumerate(rules):
        n, values = broken.get(i, (0, []))
        nonmissing = max(total - missing[r.item], 1)
        out.append(
            {
                "element_count": total,
                "missing_count": missing[r.item],
                "missing_percent": 100.0 * missing[r.item] / max(total, 1),
                "unexpected_count": n,
                "unexpected_percent": 100.0 * n / nonmissing,
                "unexpected_percent_nonmissing": 100.0 * n / nonmissing,
                "unexpected_percent_total": 100.0 * n / max(total, 1),
                "partial_unexpected_list": [mask_value(v) for v in values],
            }
        )
    return out


def validation_result(layout: Layout, stats: list[dict[str, Any]], set_id: str, kijunbi: str) -> Any:
    """The set's results as a GX ``ExpectationSuiteValidationResult`` of the layout's suite,
    with the sampled values masked and no clock: run name = set id, run time = 基準日."""
    from expectations.suite import build_suite

    return suite_result(build_suite(layout), stats, set_id, kijunbi, layout.name, {"set_id": set_id})


def suite_result(
    suite: Any, stats: list[dict[str, Any]], run_name: str, kijunbi: str, asset: str, batch: dict[str, str]
) -> Any:
    """Per-expectation statistics of ``suite`` (in its order) as a GX validation result, the
    sampled values masked, no clock: run time = the 基準日."""
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    def masked(v: Any) -> Any:
        return [mask_value(x) for x in v] if isinstance(v, list) else mask_value(v)

    no_exception = {"raised_exception": False, "exception_message": None, "exception_traceback": None}
    results = [
        ExpectationValidationResult(
            success=s["unexpected_count"] == 0,
            expectation_config=e.configuration,
            result={**s, "partial_unexpected_list": [masked(v) for v in s.get("partial_unexpected_list", [])]},
            exception_info=no_exception,
        )
        for e, s in zip(suite.expectations, stats, strict=True)
    ]
    passed = sum(1 for r in results if r.success)
    return ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100.0 * passed / max(len(results), 1),
        },
        meta={
            "run_id": {"run_name": run_name, "run_time": f"{kijunbi}T00:00:00+09:00"},
            "great_expectations_version": version("great_expectations"),
            "batch_spec": {"data_asset_name": asset},
            "active_batch_definition": {
                "datasource_name": "jumin",
                "data_asset_name": asset,
                "batch_identifiers": batch,
            },
        },
    )


#: the page's only style, inline in every page: plain CSS for the Bootstrap class names GX's
#: templates use (layout, tables, section headers, badges) and the pass/fail labels
STYLESHEET = """
*, ::before, ::after { box-sizing: border-box; }
body { margin: 0; color: #212529; background: #fff; line-height: 1.45; font-size: 14px;
  font-family: "DejaVu Sans", "Noto Sans CJK JP", "IPAGothic", "IPAexGothic", "Hiragino Sans",
  "Yu Gothic", "Meiryo", sans-serif; }
h1, h2, h3, h4, h5, h6 { margin: 0 0 .5rem; font-weight: 600; line-height: 1.25; }
h4 { font-size: 1.3rem; } h5 { font-size: 1.12rem; margin: 0; } h6, .h6 { font-size: 1rem; }
p { margin: 0 0 .6rem; } .lead { font-size: 1rem; color: #555; } .m-0 { margin: 0; }
a { color: #0b5394; } a:not([href]) { color: inherit; text-decoration: none; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 90%; }
pre { white-space: pre-wrap; word-break: break-all; }
.jumin-header { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: baseline;
  padding: .8rem 2rem; background: #24364d; color: #fff; }
.jumin-header strong { font-size: 1.2rem; } .jumin-note { font-size: .85rem; color: #c9d6e6; }
.container-fluid { padding: 1.2rem 2rem; }
.container-fluid .container-fluid { padding: 0; margin-bottom: 1rem; }
.row { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 0 1.5rem; }
.row .row { display: block; }
.col-lg-2 { flex: 0 0 15rem; max-width: 15rem; position: sticky; top: 0; }
.col-lg-10 { flex: 1 1 40rem; min-width: 0; }
.col-6 { display: inline-block; vertical-align: top; width: 49%; }
.card { border: 1px solid #d5dbe1; border-radius: 4px; margin-bottom: 1rem; background: #fff; }
.card-header { padding: .4rem .6rem; background: #f1f3f5; border-bottom: 1px solid #d5dbe1; }
.card-body { padding: .5rem; }
.nav { list-style: none; margin: 0; padding: 0; max-height: 70vh; overflow: auto; }
.nav-link { display: block; padding: .15rem .3rem; text-decoration: none; font-size: .9rem; }
.nav-link:hover { background: #e9eef4; }
.alert { padding: .45rem .75rem; border-radius: 4px; border: 1px solid transparent; }
.alert-secondary { background: #e2e6ea; border-color: #d6d8db; margin-top: 1.2rem; }
.alert-warning { background: #fff3cd; }
.table-responsive, .show-scrollbars { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0; }
.table { width: 100%; }
th, td { border: 1px solid #d5dbe1; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #f1f3f5; font-weight: 600; }
tbody tr:nth-child(even) > td { background: #fafbfc; }
td:first-child { white-space: nowrap; }
.table-sm th, .table-sm td { padding: .2rem .4rem; }
.badge { display: inline-block; padding: .1rem .4rem; margin: .05rem 0; border-radius: 3px;
  font-size: .85em; font-family: "DejaVu Sans Mono", "IPAGothic", monospace;
  word-break: break-all; }
.badge-secondary { background: #e9ecef; color: #343a40; border: 1px solid #ced4da; }
.badge-warning { background: #ffe08a; color: #5c4400; }
.text-danger { color: #b00020; } .text-success { color: #1e7b34; } .text-warning { color: #8a6100; }
i.fas, i.far { font-style: normal; display: inline-block; padding: .05rem .45rem;
  border-radius: 999px; font-weight: 600; font-size: .85em; white-space: nowrap; }
i.fas.text-success { background: #d4edda; border: 1px solid #9fd3ab; }
i.fas.text-danger { background: #f8d7da; border: 1px solid #eba5ac; }
i.fas.text-warning { background: #fff3cd; border: 1px solid #ecd58c; }
.collapse { margin: .3rem 0 .6rem; }
.cooltip { position: relative; }
.cooltip > .top, .cooltip > .bottom { display: none; position: absolute; z-index: 10; left: 0;
  top: 1.4em; min-width: 16rem; padding: .4rem; background: #333; color: #fff;
  border-radius: 4px; font-size: .85rem; }
.cooltip:hover > .top, .cooltip:hover > .bottom { display: block; }
[hidden] { display: none; }
"""

#: GX templates replaced for a static, closed-network page: the head without CDN assets or
#: the walkthrough script, a plain top bar instead of the S3 logo, no newsletter footer, no
#: favicon, no JavaScript filter card
_TEMPLATES = {
    "page.j2": """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <meta name="jumin-source" content="{{ jumin_source }}">
    <title>{{ page_title }} · Data documentation compiled by Great Expectations</title>
    <style id="jumin-data-docs">{{ jumin_css }}</style>
  </head>
  <body>
    {% include 'top_navbar.j2' %}
    <div class="container-fluid pt-4 pb-4 pl-5 pr-5">
      <div class="row">
        {% include 'sidebar.j2' %}
        <div class="col-md-10 col-lg-10 col-xs-12 pl-md-4 pr-md-3">
        {% for section in sections %}
          {% set section_loop = loop -%}
          {% include 'section.j2' %}
        {% endfor %}
        </div>
      </div>
    </div>
  </body>
</html>
""",
    "top_navbar.j2": """<header class="jumin-header">
  <strong>Data Docs</strong> <span>{{ page_title }}</span>
  <span class="jumin-note">Great Expectations {{ ge_version }} · values from residents' rows are masked (\uff0a)</span>
</header>
""",
    "js_script_imports.j2": "",
    "favicon.j2": "",
    "cloud-footer.j2": "",
    "cta_footer.j2": "",
    "page_action_card.j2": "",
}


def _page_view() -> Any:
    """GX's page view with our templates first, element ids numbered and no clock."""
    from great_expectations.render.view import DefaultJinjaPageView
    from jinja2 import ChoiceLoader, DictLoader, pass_context

    class _ClosedNetworkPageView(DefaultJinjaPageView):
        def __init__(self) -> None:
            super().__init__()
            gx_templates = self.env.loader
            assert gx_templates is not None
            self.env.loader = ChoiceLoader([DictLoader(_TEMPLATES), gx_templates])
            self._ids = 0

        def render(self, document: Any, template: Any = None, **kwargs: Any) -> str:
            self._ids = 0  # ids start again on every page: same page, same ids
            return str(super().render(document, template, **kwargs))

        def _get_template(self, template_str: str) -> Any:
            t = self.env.get_template(template_str)
            t.globals["now"] = _no_clock
            return t

        def generate_html_element_uuid(self, prefix: str | None = None) -> str:
            self._ids += 1
            return f"{prefix or ''}{self._ids}"

        @pass_context
        def add_data_context_id_to_url(self, jinja_context: Any, url: str, add_datetime: bool = True) -> str:
            return url

    return _ClosedNetworkPageView()


def _no_clock() -> datetime:
    raise RuntimeError("a Data Docs page must not depend on the clock")


#: elements dropped, with everything inside them: scripts, external stylesheets, images,
#: frames, embedded and interactive content (a static page has nothing to click but anchors)
_DROP = {
    "script", "noscript", "link", "img", "picture", "source", "track", "iframe", "object", "embed",
    "video", "audio", "canvas", "svg", "form", "input", "button", "base", "area",
}  # fmt: skip
#: elements without an end tag (HTML's void elements)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
#: attributes that load or link something
_URL_ATTRS = {"href", "src", "srcset", "action", "formaction", "poster", "data", "background", "xlink:href", "ping"}
#: a CSS reference to something loaded: url(...) (data: URLs and #fragments excepted) or @import
_CSS_LOAD = re.compile(r"url\(\s*['\"]?(?!data:|#)|@import", re.IGNORECASE)
#: GX's Font Awesome status icons, and the words that replace the glyph
_ICON_WORDS = {
    "fa-check-circle": "\u2714 passed",
    "fa-check": "\u2714 passed",
    "fa-times": "\u2718 failed",
    "fa-exclamation-triangle": "\u26a0 warning",
}


class _Localizer(HTMLParser):
    """Rewrites a page so it loads nothing and links nowhere outside itself (see :func:`localize`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.skip: list[str] = []  # open dropped elements
        self.in_style = False

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]] | None:
        """The attributes to keep, or None when the element must go."""
        kept: list[tuple[str, str | None]] = []
        for name, value in attrs:
            if name.startswith("on"):
                continue
            if name in _URL_ATTRS and not (value or "").startswith("#"):
                if tag != "a":
                    return None
                continue  # an outside link becomes its text
            if name == "style" and value and _CSS_LOAD.search(value):
                continue
            if tag == "meta" and name == "http-equiv":
                return None
            kept.append((name, value))
        return kept

    @staticmethod
    def _tag(tag: str, attrs: list[tuple[str, str | None]], close: str) -> str:
        parts = [tag] + [n if v is None else f'{n}="{_html.escape(v, quote=True)}"' for n, v in attrs]
        return "<" + " ".join(parts) + close

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], empty: bool) -> None:
        if self.skip:
            if tag == self.skip[-1] and not empty:
                self.skip.append(tag)  # nested in a dropped element of the same kind
            return
        kept = self._attrs(tag, attrs)
        if tag in _DROP or kept is None:
            if not (empty or tag in _VOID):
                self.skip.append(tag)  # dropped with everything up to its end tag
            return
        if kept == attrs:
            self.out.append(self.get_starttag_text() or self._tag(tag, kept, "/>" if empty else ">"))
        else:
            self.out.append(self._tag(tag, kept, "/>" if empty else ">"))
        self.in_style = tag == "style"
        if tag == "i":
            classes = (dict(attrs).get("class") or "").split()
            words = next((w for c, w in _ICON_WORDS.items() if c in classes), None)
            if words:  # the words replace the icon font; the icon is no longer hidden from readers
                self.out[-1] = self._tag(tag, [(n, v) for n, v in kept if n != "aria-hidden"], ">")
                self.out.append(words)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, empty=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, empty=True)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in _DROP or tag in _VOID:
            return
        self.in_style = False
        self.out.append(f"</{tag}>")

    def _text(self, text: str) -> None:
        if not self.skip:
            self.out.append(text)

    def handle_data(self, data: str) -> None:
        if self.in_style and _CSS_LOAD.search(data):
            return  # a style that loads something: not in a page for a closed network
        self._text(data)

    def handle_entityref(self, name: str) -> None:
        self._text(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._text(f"&#{name};")

    def handle_decl(self, decl: str) -> None:
        self._text(f"<!{decl}>")

    def handle_comment(self, data: str) -> None:
        pass  # GX's comments are of no use to a reader

    def handle_pi(self, data: str) -> None:
        pass


def localize(page: str) -> str:
    """The page without scripts, event handlers, buttons, images, external stylesheets, frames
    or links outside itself (in-page ``#anchors`` stay; an outside link keeps its text), the
    Font Awesome status icons spelt out, and whitespace-only lines removed."""
    parser = _Localizer()
    parser.feed(page)
    parser.close()
    text = "".join(parser.out)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip()) + "\n"


def source_fingerprint(stats: bytes) -> str:
    """What a page is rendered from: its statistics, our page format and GX's version."""
    return hashlib.sha256(
        stats + f"\0jumin-data-docs/{PAGE_FORMAT}\0great_expectations/{version('great_expectations')}".encode()
    ).hexdigest()


_FINGERPRINT = re.compile(rb'<meta name="jumin-source" content="([0-9a-f]{64})">')


def page_fingerprint(page: Path) -> str | None:
    """The ``jumin-source`` of a rendered page (in its head), None if there is no page."""
    try:
        with page.open("rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        return None
    m = _FINGERPRINT.search(head)
    return m.group(1).decode() if m else None


def render_page(result: Any, fingerprint: str, view: Any = None) -> bytes:
    """The page of a validation result: rendered by GX, made self-contained (:func:`localize`)."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer

    view = view or _page_view()
    document = ValidationResultsPageRenderer().render(result)
    return localize(view.render(document, jumin_source=fingerprint, jumin_css=STYLESHEET)).encode("utf-8")


def write_data_docs(result: Any, path: Path, fingerprint: str = "", view: Any = None) -> Path:
    """Render the result into one HTML file (written atomically, only when its bytes change)."""
    page = render_page(result, fingerprint, view)
    if not (path.exists() and path.read_bytes() == page):
        atomic_write_bytes(path, page)
    return path


def build_data_docs(lake_root: str | Path, lg_code: str, force: bool = False) -> list[str]:
    """Render the Data Docs page of every validated set of a municipality whose page is missing
    or was rendered from other statistics (or another page format); all with ``force``. The
    pages rendered are returned; a page rendered again has the same bytes."""
    from jumin.core.layouts import get_layout

    out = []
    view = None
    for stats_path in Lake.at(lake_root).rule_stats_files(lg_code):
        html = Lake.data_docs_of(stats_path)
        raw = stats_path.read_bytes()
        fingerprint = source_fingerprint(raw)
        if not force and page_fingerprint(html) == fingerprint:
            continue
        s = json.loads(raw.decode("utf-8"))
        result = validation_result(get_layout(s["layout"]), s["rules"], s["set_id"], s["kijunbi"])
        view = view or _page_view()
        out.append(str(write_data_docs(result, html, fingerprint, view)))
    return out
