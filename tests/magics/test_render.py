"""The shared look: exact Markdown, state words and colours, whole paths, DataFrame-style tables (no IPython)."""

from __future__ import annotations

import pytest
from codex_magics.display import ReportView, Result, Table
from codex_magics.render import DOLLAR, EMPTY, KIND_COLOUR, STATE_KIND, escape_markdown, html_cell, human, state_html, text_cell


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("Use a List<String>", "Use a List\\<String>"),
        ("<b>x</b> & y", "\\<b>x\\</b> \\& y"),
        ("`a<b>` and <c>", "`a<b>` and \\<c>"),  # code spans are shown literally: left alone
        ("```\n<x> & y\n```\n<z>", "```\n<x> & y\n```\n\\<z>"),  # fenced code too
        ("    <indented code>\n\ntext <t>", "    <indented code>\n\ntext \\<t>"),
        ("a &amp; b", "a \\&amp; b"),  # an entity shows as typed, not as &
        ("plain words, *emphasis* stays Markdown", "plain words, *emphasis* stays Markdown"),
        ("costs $5 or $10", f"costs {DOLLAR}5 or {DOLLAR}10"),  # no JupyterLab math between two dollars
        ("\\<b>x</b>", "\\\\\\<b>x\\</b>"),  # a typed backslash cannot join our escape: still no tag
        ("- item\n\n    <b>x</b>", "- item\n\n    \\<b>x\\</b>"),  # text of a list item, not code
        ("- item\n\n      <code block>", "- item\n\n      <code block>"),  # 4 past the item's text: code
    ],
)
def test_escape_markdown(text, markdown):
    assert escape_markdown(text) == markdown


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
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_escaped_markdown_renders_every_character(text):
    """Rendered by a CommonMark renderer that passes raw HTML through, the text comes back whole: no tag, no entity."""
    mistune = pytest.importorskip("mistune", reason="mistune (a jupyterlab dependency) renders the Markdown")
    import html
    import re

    rendered = mistune.create_markdown(escape=False)(escape_markdown(text))
    assert rendered.count("<span") == text.count("$") - sum(c.count("$") for c in re.findall(r"`[^`]*`", text))
    rendered = rendered.replace("<span class='tex2jax_ignore mathjax_ignore'>$</span>", "$")  # a $ no math renderer pairs
    tags = set(re.findall(r"</?([a-zA-Z]+)", rendered))
    assert tags <= {"p", "code", "pre", "ul", "ol", "li", "blockquote"}, rendered
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    typed = re.sub(r"(?m)^(> |\d\. |- )", "", text)  # the block markers are Markdown, not text
    assert shown.replace("`", "").split() == typed.replace("`", "").split()  # so are the backticks of code spans


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
    assert html.count("<thead>") == 1 and "<th " in html and "class='dataframe" in html
    assert html.count(EMPTY) == 2 and "<code" not in html and "* = the current thread" in html and "in progress" in html
    assert str(t).splitlines()[1].split() == ["current", "id", "name", "status"] and "* = the current thread" in str(t)


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
    assert state_html("differs") in html and _B.path in html and "observed: b" in html
