"""The shared look: exact Markdown, state words and colours, whole paths, DataFrame-style tables (no IPython)."""

from __future__ import annotations

import pytest
from codex_magics.display import ReportView, Result, Table
from codex_magics.render import EMPTY, KIND_COLOUR, STATE_KIND, escape_markdown, html_cell, human, state_html, text_cell


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
    ],
)
def test_escape_markdown(text, markdown):
    assert escape_markdown(text) == markdown


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
