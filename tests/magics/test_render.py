"""The shared look: a reply as sanitized HTML with its exact text, state words and colours, whole paths, DataFrame-style tables (no IPython)."""

from __future__ import annotations

import html as html_mod
import re

import pytest
from codex_magics import safe_html
from codex_magics.display import ReportView, Result, Table, TurnResult
from codex_magics.render import EMPTY, KIND_COLOUR, STATE_KIND, html_cell, human, state_html, text_cell
from codex_magics.safe_html import ALLOWED_TAGS, MATH_IGNORE, markdown_html

PAYLOADS = [
    "See `x\n# <img src=x onerror=\"window.__pwned=1\"> `",  # a code span across a heading line
    "See `x\n- <script>window.__pwned=1</script> `",  # ... across a list item
    "See `x\n> <img src=x onerror=\"window.__pwned=1\"> `",  # ... across a block quote
    "```js`x\n<img src=x onerror=\"window.__pwned=1\">\n```",  # a fence with a backtick in its info string
    "[x](javascript:window.__pwned=1) and [y](JaVaScRiPt:window.__pwned=1 \"t\")",
    "[x](&#x6A;avascript:window.__pwned=1) <javascript:window.__pwned=1> [z](data:text/html,<script>x</script>)",
    "![a](x\" onerror=\"window.__pwned=1) ![b](http://192.0.2.1/pixel.png)",  # no image is fetched
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_a_reply_renders_to_html_that_runs_nothing(text):
    out = markdown_html(text)
    tags = set(re.findall(r"<([a-zA-Z0-9]+)", out))
    assert tags <= ALLOWED_TAGS | {"div"}, out
    assert not re.search(r"<[^>]*\son\w+\s*=", out), out  # no event-handler attribute
    assert not re.search(r"(?i)href=\"\s*(javascript|vbscript|data):", out), out
    assert out.startswith(f"<div class='{MATH_IGNORE}'>")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Use a List<String>", "<p>Use a List&lt;String&gt;</p>"),
        ("<b>x</b> & y", "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>"),
        ("`a<b>` and <c>", "<p><code>a&lt;b&gt;</code> and &lt;c&gt;</p>"),
        ("a &amp; b \\<b>", "<p>a &amp;amp; b \\&lt;b&gt;</p>"),  # entities and backslashes shown as typed
        ("costs $5 or $10", "<p>costs $5 or $10</p>"),  # in a block MathJax skips
        ("plain *emphasis* and **bold**", "<p>plain <em>emphasis</em> and <strong>bold</strong></p>"),
        ("[site](https://example.org/a?b=1)", '<p><a href="https://example.org/a?b=1" rel="noopener noreferrer nofollow">site</a></p>'),
        ("![alt](https://example.org/i.png)", '<p><a href="https://example.org/i.png" rel="noopener noreferrer nofollow">alt</a></p>'),
    ],
)
def test_a_reply_keeps_its_exact_text(text, shown):
    assert markdown_html(text) == f"<div class='{MATH_IGNORE}'>{shown}\n</div>"


ADVERSARIAL = [
    "Use a List<String> & a Map<K, V>",
    "<b>x</b> <script>alert(1)</script> <!-- c --> &amp; &lt;",
    "\\<b>not bold</b> and \\\\<i>nor italic</i>, C:\\Users\\x",
    "a `code <span>` and ``two `ticks` <x>`` then <y>",
    "- item\n\n    <b>in the item</b>\n\nback <u>at</u> the margin",
    "1. one <a>\n2. two &copy;",
    "> quoted <b>x</b> & y",
    "/tmp/" + "very-long-dir/" * 30 + "rollout-<id>&x.jsonl",
    "costs $5 or $10, $$x$$ and \\$y",
    *PAYLOADS[:4],
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_rendered_reply_shows_every_character(text):
    """Every typed character but the Markdown markers comes back as text: no tag, no entity decoded."""
    import html

    out = markdown_html(text)
    tags = set(re.findall(r"</?([a-zA-Z0-9]+)", out))
    assert tags <= {"div", "p", "code", "pre", "ul", "ol", "li", "blockquote", "h1"}, out
    shown = html.unescape(re.sub(r"<[^>]+>", "", out))
    typed = re.sub(r"(?m)^(> |\d\. |- |# )", "", text)  # the block markers are Markdown, not text
    assert shown.replace("`", "").split() == typed.replace("`", "").replace("```js", "").split()


def test_without_the_markdown_libraries_a_reply_is_escaped_text(monkeypatch):
    import sys

    safe_html.parser.cache_clear()
    safe_html.markdown_html.cache_clear()
    monkeypatch.setitem(sys.modules, "markdown_it", None)  # import fails, as without the kernel extra
    try:
        assert markdown_html("<b>x</b> & $5") == f"<div class='{MATH_IGNORE}'><pre style='white-space:pre-wrap'>&lt;b&gt;x&lt;/b&gt; &amp; $5</pre></div>"
    finally:
        safe_html.parser.cache_clear()
        safe_html.markdown_html.cache_clear()


def test_human_words_and_one_colour_per_state():
    assert [human(w) for w in ("inProgress", "notLoaded", "systemError", "idle", "ID")] == [
        "in progress", "not loaded", "system error", "idle", "ID"]
    assert KIND_COLOUR[STATE_KIND["completed"]] == KIND_COLOUR[STATE_KIND["running"]] == KIND_COLOUR[STATE_KIND["as-intended"]]
    assert KIND_COLOUR[STATE_KIND["archived"]] == KIND_COLOUR[STATE_KIND["notLoaded"]]
    assert STATE_KIND["failed"] == "bad" and STATE_KIND["interrupted"] == "warn"
    assert ">in progress<" in state_html("inProgress") and KIND_COLOUR["run"][0] in state_html("inProgress")
    assert state_html("whatever") == "whatever"


def test_paths_are_never_cut_and_empty_is_a_dash():
    path = "/tmp/" + "deep/" * 40 + "rollout-2026-12-01T21-32-08-01a23385-ad88-7ba0-8457-c6c44cb20342.jsonl"
    assert text_cell("path", path) == path and text_cell("rollout", path) == path
    assert path in html_cell("path", path) and "<code" in html_cell("path", path) and "overflow-wrap:anywhere" in html_cell("path", path)
    assert text_cell("preview", "x" * 500).endswith("…")  # other long text is shortened, paths never
    assert text_cell("name", None) == EMPTY and text_cell("name", "") == EMPTY and text_cell("current", "") == ""
    assert "white-space:nowrap" in html_cell("id", "01a23385-ad88-7ba0-8457-c6c44cb20342")
    r = Result("t", {"path": path, "status": "notLoaded"})
    assert path in str(r) and "not loaded" in str(r) and path in r._repr_html_() and "not loaded" in r._repr_html_()


def test_table_is_dataframe_style():
    t = Table("threads", ["current", "id", "name", "status"],
              [{"current": "*", "id": "a" * 36, "name": None, "status": "idle"}, {"current": "", "id": "b" * 36, "status": "inProgress"}],
              legend="* = the current thread")
    html = t._repr_html_()
    assert html.count("<thead>") == 1 and "<th " in html and "class=\"dataframe" in html
    assert html.count(EMPTY) == 2 and "<code" not in html and "* = the current thread" in html and "in progress" in html
    assert str(t).splitlines()[1].split() == ["current", "id", "name", "status"] and "* = the current thread" in str(t)
    named = Table("threads", ["name"], [{"name": "costs $5 or $10 <b>"}])._repr_html_()
    assert named.startswith(f'<div class="{MATH_IGNORE}">') and "costs $5 or $10 &lt;b&gt;" in named  # no math, no tag
    assert Result("t", {"name": "$x$"})._repr_html_().startswith(f'<div class="{MATH_IGNORE}">')


def test_every_view_passes_the_sanitizer_too():
    """The second wall: a tag or attribute that slipped into a view's HTML is dropped, the view's own look kept."""
    out = safe_html.sanitize_view(
        "<div class='tex2jax_ignore mathjax_ignore jp-x' onclick='x'><table class='dataframe codex' "
        "style='background:url(http://192.0.2.1/x);color:red;position:fixed'><tr><td title='t'>x<img src=x></td></tr>"
        "</table><a href='javascript:x'>a</a><script>y</script></div>")
    assert out == ('<div class="tex2jax_ignore mathjax_ignore"><table class="dataframe codex" style="color:red"><tbody><tr>'
                   '<td title="t">x</td></tr></tbody></table><a rel="noopener noreferrer nofollow">a</a></div>')
    turn = TurnResult(thread_id="t", prompt="p", text="ok", status="failed", error="<img src=x onerror=alert(1)> $5 or $6")
    shown = turn._repr_html_()
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt; $5 or $6" in shown


def test_repro_view_uses_the_state_colours():
    class _B:
        path = "/opt/" + "x" * 150 + "/codex"

    class _R:
        verdict = "differs"

    class _Report:
        labels = ["0.163.0"]
        binaries = [_B()]
        scenarios = [type("S", (), {"name": "start-is-lazy"})()]

        def result(self, name, label):
            return _R()

        def difference_lines(self):
            return ["[0.163.0] start-is-lazy: intended: a | observed: b"]

    html = ReportView(_Report())._repr_html_()
    assert safe_html.sanitize_view(state_html("differs")) in html and _B.path in html and "observed: b" in html
    assert ReportView(_Report())._repr_markdown_() is None  # the report's own Markdown would carry server text


def test_repro_report_markdown_shows_server_text_as_typed():
    from codex_fixtures.repro.report import _md_literal
    from markdown_it import MarkdownIt

    line = "[0.163.0] x: observed: -32600 '<img src=x onerror=alert(1)>' `y` [a](javascript:b) $5 &amp;\n# h"
    rendered = MarkdownIt("commonmark", {"html": True}).render(f"* {_md_literal(line)}")  # even with raw HTML on
    assert set(re.findall(r"</?([a-z0-9]+)", rendered)) == {"ul", "li"}, rendered
    assert html_mod.unescape(rendered) == f"<ul>\n<li>{' '.join(line.split())}</li>\n</ul>\n"
