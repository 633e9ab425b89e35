"""Renderers for ``%codex`` results: small objects that look right everywhere.

Each result keeps its data (attributes, ``[key]``, ``.data``) and renders as
an HTML table in a notebook (``_repr_html_``; a turn's reply rendered from
Markdown and sanitized, :mod:`.safe_html`; every value escaped, nothing
typeset as math), and as aligned plain text in a terminal (``__str__`` /
``__repr__``). No IPython import here: the objects only implement the
display protocol.
"""

from __future__ import annotations

import html
import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from .render import html_record, html_table, human, text_cell
from .safe_html import MATH_IGNORE, markdown_html, sanitize_view, text_html

__all__ = ["ReportView", "Result", "RpcResult", "Table", "TextStream", "TurnResult", "short_id"]

_ITEM_OUTPUT_LINES = 8
CURRENT_MARK = "*"
"""The marker column of a thread table: ``*`` on the current thread's row."""


def short_id(thread_id: str | None) -> str:
    """The first 13 characters of an id: enough to tell UUIDv7 ids apart (their start is a timestamp)."""
    return (thread_id or "")[:13]


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*columns), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


class Result:
    """A titled record: the fields shown, all data kept.

    ``r.id`` / ``r["id"]`` read ``r.data``; ``r.note`` is an extra line shown
    under the table (what happened, what to do next).
    """

    def __init__(self, title: str, data: Mapping[str, Any], *, fields: Sequence[str] | None = None, note: str = "") -> None:
        self.title = title
        self.data = dict(data)
        self.fields = list(fields) if fields is not None else list(self.data)
        self.note = note

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("data")
        if data is not None and name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (keys: {', '.join(data or {})})")

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default``."""
        return self.data.get(key, default)

    def _rows(self) -> list[list[str]]:
        return [[k, text_cell(k, self.data.get(k))] for k in self.fields]

    def __str__(self) -> str:
        width = max((len(k) for k in self.fields), default=0)
        lines = [self.title] + [f"  {k:<{width}}  {v}" for k, v in self._rows()]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return sanitize_view(f"<div class='{MATH_IGNORE}'><p><b>{html.escape(self.title)}</b></p>{html_record(self.fields, self.data)}{note}</div>")


class RpcResult(Result):
    """The raw result of ``%codex rpc``: pretty JSON."""

    def __init__(self, method: str, result: Any) -> None:
        super().__init__(f"{method} →", {"method": method, "result": result}, fields=["method"])
        self.result = result

    def __str__(self) -> str:
        return f"{self.title}\n{json.dumps(self.result, indent=2)}"

    def _repr_html_(self) -> str:
        shown = html.escape(json.dumps(self.result, indent=2))
        return sanitize_view(f"<div class='{MATH_IGNORE}'><p><b>{html.escape(self.title)}</b></p><pre>{shown}</pre></div>")


class ReportView:
    """A ``codex-repro`` report as the magic returns it: its text form in a terminal, its HTML in a notebook.

    Every other attribute (``results``, ``to_json()``, ...) is the report's own.
    """

    def __init__(self, report: Any) -> None:
        self.report = report

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["report"], name)

    def __str__(self) -> str:
        to_text = getattr(self.report, "to_text", None)
        return to_text() if callable(to_text) else str(self.report)

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> None:
        """No Markdown: the report's own holds server text unescaped; a notebook shows :meth:`_repr_html_`."""
        return None

    def _repr_html_(self) -> str | None:
        """The verdict matrix in the colours of every other view (:mod:`.render`), binary paths whole."""
        r = self.report
        try:
            rows = [{"scenario": s.name, **{lb: r.result(s.name, lb).verdict for lb in r.labels}} for s in r.scenarios]
            paths = [{"binary": lb, "path": str(b.path)} for b, lb in zip(r.binaries, r.labels, strict=False)]
            diffs = r.difference_lines()
        except (AttributeError, KeyError, TypeError):
            html_of = getattr(r, "_repr_html_", None)
            return html_of() if callable(html_of) else None
        grid = html_table(["scenario", *r.labels], rows, states=r.labels)
        items = "".join(f"<li>{html.escape(d)}</li>" for d in diffs)
        return sanitize_view(f"<div class='{MATH_IGNORE}'>{grid}{html_table(['binary', 'path'], paths)}{f'<ul>{items}</ul>' if items else ''}</div>")


class Table:
    """Rows of dicts shown as a table; iterable, indexable, ``len()``-able.

    ``t.ids`` lists the ``id`` column when there is one.
    """

    def __init__(
        self, title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *, note: str = "", legend: str = ""
    ) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = [dict(r) for r in rows]
        self.note = note
        self.legend = legend

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    @property
    def ids(self) -> list[str]:
        """The ``id`` of every row."""
        return [r["id"] for r in self.rows if "id" in r]

    def _cells(self) -> list[list[str]]:
        return [[text_cell(c, r.get(c)) for c in self.columns] for r in self.rows]

    def __str__(self) -> str:
        body = _text_table(self.columns, self._cells()) if self.rows else "(none)"
        return "\n".join(x for x in (f"{self.title} ({len(self.rows)})", body, self.legend, self.note) if x)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        body = html_table(self.columns, self.rows) if self.rows else "<p><i>(none)</i></p>"
        notes = "".join(f"<p style='margin:.2em 0'>{html.escape(x)}</p>" for x in (self.legend, self.note) if x)
        return sanitize_view(f"<div class='{MATH_IGNORE}'><p><b>{html.escape(self.title)}</b> ({len(self.rows)})</p>{body}{notes}</div>")


@dataclass(eq=False)
class TurnResult:
    """One ``%%codex`` turn: live while streaming, then final.

    Attributes:
        thread_id, turn_id: where the turn ran.
        status: ``starting``, ``inProgress``, then the server's final status
            (``completed``, ``interrupted``, ``failed``).
        text: the assistant text (deltas while streaming, the final items after).
        items: tool / command items seen (``type``, ``summary``, ``status``).
        usage: the turn's token usage (``thread/tokenUsage/updated`` ``last``).
        error: the error message of a failed turn.
        updates: how many live display updates were sent.
        started, ended: ``time.monotonic()`` at creation and at the end (``elapsed`` = seconds).
        render: ``markdown`` (the reply rendered from Markdown as sanitized HTML) or ``text`` (plain text only).
    """

    thread_id: str
    prompt: str
    turn_id: str | None = None
    status: str = "starting"
    text: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: str | None = None
    interrupted: bool = False
    updates: int = 0
    started: float = field(default_factory=time.monotonic, repr=False)
    ended: float | None = field(default=None, repr=False)
    render: str = field(default="markdown", repr=False)
    _messages: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        """Whether the turn has ended (any final status)."""
        return self.status not in ("starting", "inProgress")

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the end (to now while the turn runs)."""
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    def finish(self) -> None:
        """Note the end time (once)."""
        if self.ended is None:
            self.ended = time.monotonic()

    def _footer(self) -> str:
        parts = [f"turn {short_id(self.turn_id) or '?'}", f"thread {short_id(self.thread_id)}", str(human(self.status))]
        if self.done:
            parts.append(f"{self.elapsed:.1f} s")
        if self.usage and self.usage.get("totalTokens") is not None:
            parts.append(f"{self.usage['totalTokens']} tokens")
        return " · ".join(parts)

    def _item_lines(self) -> list[str]:
        out = []
        for i in self.items:
            state = i.get("status") or "…"
            if i.get("exit_code") is not None:
                state += f", exit {i['exit_code']}"
            output = (i.get("output") or "").rstrip().splitlines()[-_ITEM_OUTPUT_LINES:]
            out.append("\n".join([f"{i.get('type')}: {i.get('summary')} [{state}]", *output]))
        return out

    def __str__(self) -> str:
        lines = [*(f"$ {x}" for x in self._item_lines()), self.text + ("" if self.done else " ▌")]
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append(f"[{self._footer()}]")
        return "\n".join(x for x in lines if x is not None)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str | None:
        """The reply rendered from Markdown, sanitized (:mod:`.safe_html`); None when ``render`` is ``text``.

        Items are preformatted text, the error line and the footer plain text:
        whatever the model or the server wrote, the HTML runs nothing.
        """
        if self.render == "text":
            return None
        out = [f"<pre style='white-space:pre-wrap'>{html.escape(line)}</pre>" for line in self._item_lines()]
        reply = markdown_html(self.text) if self.text else ("<p><i>(no text)</i></p>" if self.done else "")
        out.append(reply + ("" if self.done else "<span> ▌</span>"))
        if self.error:
            out.append(f"<p><b>error:</b> {text_html(self.error)}</p>")
        out.append(f"<p><sub>{html.escape(self._footer())}</sub></p>")
        return sanitize_view(f"<div class='{MATH_IGNORE} codex-turn'>{''.join(out)}</div>")

    def bundle(self) -> dict[str, str]:
        """The MIME bundle shown live and as the final value (the same ``text/plain`` for both)."""
        shown = self._repr_html_()
        return {"text/plain": str(self), **({"text/html": shown} if shown is not None else {})}


class TextStream:
    """A live turn for a terminal, where a display cannot be updated in place: output is only appended.

    Call it as ``on_update(result, final)``: new assistant text is written as
    it grows, each tool / command item once when it starts and once when it
    ends, and an ``error:`` line at the end. ``result.updates`` counts the writes.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out
        self.text = ""
        self.items: dict[str, str] = {}
        self.at_line_start = True

    def _write(self, res: TurnResult, chunk: str) -> None:
        out = self.out or sys.stdout
        out.write(chunk)
        out.flush()
        self.at_line_start = chunk.endswith("\n")
        res.updates += 1

    def _line(self, res: TurnResult, line: str) -> None:
        self._write(res, ("" if self.at_line_start else "\n") + line + "\n")

    def __call__(self, res: TurnResult, final: bool) -> None:
        """Write what changed since the last call."""
        for item, line in zip(res.items, res._item_lines(), strict=True):
            shown = self.items.get(str(item.get("id")))
            if line != shown and (shown is None or item.get("status") != "inProgress"):
                self.items[str(item.get("id"))] = line
                self._line(res, f"$ {line}")
        if res.text != self.text:
            grown = res.text.startswith(self.text)
            self._write(res, res.text[len(self.text) :] if grown else ("" if self.at_line_start else "\n") + res.text)
            self.text = res.text
        if final:
            if not self.at_line_start:
                self._write(res, "\n")
            if res.error:
                self._line(res, f"error: {res.error}")
