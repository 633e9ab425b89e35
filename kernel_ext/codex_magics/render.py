"""The look shared by every ``%codex`` view: state words and colours, cells, paths, tables.

No IPython here and no result classes (those are :mod:`.display`): only how a
value is written, in plain text and HTML.

* :func:`human` turns protocol words (``inProgress``, ``notLoaded``) into
  words (``in progress``, ``not loaded``).
* :func:`state_html` colours a state the same way in every view (thread
  tables, turn footers, the repro matrix): :data:`STATE_KIND` maps a state to
  ``ok`` / ``idle`` / ``off`` / ``warn`` / ``bad`` and :data:`KIND_COLOUR`
  gives each kind its colour.
* Paths are never cut: :func:`text_cell` leaves them whole and
  :func:`html_cell` writes them as ``<code>`` that wraps anywhere.
* A reply's Markdown is rendered and sanitized by :mod:`.safe_html`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "EMPTY",
    "KIND_COLOUR",
    "STATE_KIND",
    "html_cell",
    "html_record",
    "html_table",
    "human",
    "is_path",
    "state_html",
    "text_cell",
]

EMPTY = "—"
"""What an empty cell shows (an em dash, as pandas shows NaN as a mark, not as nothing)."""

MAX_TEXT = 120
"""Characters a text cell (not a path, not an id) shows before ``…``."""

STATE_KIND: dict[str, str] = {
    "running": "ok", "active": "ok", "completed": "ok", "idle": "ok", "as-intended": "ok", "unsubscribed": "ok",
    "inProgress": "run", "in progress": "run", "starting": "run",
    "archived": "off", "notLoaded": "off", "not loaded": "off", "not yet written": "off", "stopped": "off",
    "unsupported": "off", "notSubscribed": "off", "not subscribed": "off", "deleted": "off",
    "interrupted": "warn", "error": "warn", "systemError": "bad",
    "failed": "bad", "differs": "bad", "ERROR": "warn", "DIFFERS": "bad",
}
"""The kind of every state word the views show (unknown words are shown uncoloured)."""

KIND_COLOUR: dict[str, tuple[str, str]] = {
    "ok": ("#1a7f37", "#dafbe1"),
    "run": ("#0969da", "#ddf4ff"),
    "off": ("#57606a", "#eaeef2"),
    "warn": ("#9a6700", "#fff8c5"),
    "bad": ("#cf222e", "#ffebe9"),
}
"""``kind -> (text colour, background)``: green-ish, blue, grey, amber, red."""

_PATH_KEYS = {"path", "rollout", "codex_home", "codex_bin", "files", "kept_home", "cwd"}
_ID_KEYS = {"id", "thread", "thread_id", "turn_id", "current_thread", "forked_from", "before_turn"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def human(word: Any) -> Any:
    """``inProgress`` -> ``in progress``, ``notLoaded`` -> ``not loaded``; anything else unchanged."""
    if isinstance(word, str) and word and word[0].islower() and " " not in word and _CAMEL.search(word):
        return _CAMEL.sub(" ", word).lower()
    return word


def is_path(key: str, value: Any) -> bool:
    """Whether a field holds a filesystem path (shown whole, never cut)."""
    return key in _PATH_KEYS or (isinstance(value, str) and value.startswith("/") and "\n" not in value)


def text_cell(key: str, value: Any) -> str:
    """One value as plain text: ``—`` for empty, ``yes``/``no``, compact JSON, words for states; paths whole."""
    if key == "current" and not value:
        return ""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        if key in _PATH_KEYS and isinstance(value, list):
            return ", ".join(map(str, value))
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(human(value) if key in ("status", "state") else value)
    text = text.replace("\n", " ")
    if is_path(key, value) or key in _ID_KEYS or len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - 1] + "…"


def state_html(word: Any) -> str:
    """A state in its colour (the same in every view); unknown words plain."""
    shown = html.escape(str(human(word)))
    kind = STATE_KIND.get(str(word)) or STATE_KIND.get(str(human(word)))
    if kind is None:
        return shown
    fg, bg = KIND_COLOUR[kind]
    return f"<span style='color:{fg};background-color:{bg};padding:0 .4em;border-radius:.6em;white-space:nowrap'>{shown}</span>"


_WRAP = "style='white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-all;background-color:transparent'"


def html_cell(key: str, value: Any) -> str:
    """One value as HTML: paths as whole ``<code>`` that wraps, ids on one line, states coloured."""
    if key in _PATH_KEYS and isinstance(value, list) and value:
        return "<br>".join(html_cell(key, v) for v in value)
    text = text_cell(key, value)
    if key == "current":
        return f"<b title='the current thread'>{html.escape(text)}</b>"
    if text == EMPTY:
        return f"<span style='color:#8c959f'>{EMPTY}</span>"
    if is_path(key, value):
        return f"<code {_WRAP} title='{html.escape(str(value), quote=True)}'>{html.escape(str(value))}</code>"
    if key in ("status", "state", "verdict"):
        return state_html(value)
    if key in _ID_KEYS:
        return f"<span style='white-space:nowrap;font-family:monospace'>{html.escape(text)}</span>"
    if key in ("updated", "started", "duration", "created"):
        return f"<span style='white-space:nowrap'>{html.escape(text)}</span>"
    return html.escape(text)


_TABLE_CSS = "border-collapse:collapse;font-size:12px"
_TH = "text-align:left;padding:.2em .6em;border-bottom:1px solid #8c959f;font-weight:bold"
_TD = "text-align:left;padding:.2em .6em;vertical-align:top"


def html_table(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str] | None = None, states: Sequence[str] = ()
) -> str:
    """A DataFrame-style table: one header row (``columns``), plain cells, striped rows.

    ``keys`` are the fields of each row in column order (default: ``columns``);
    the columns in ``states`` hold state words and are coloured like ``status``.
    """
    keys = list(keys if keys is not None else columns)
    head = "".join(f"<th style='{_TH}'>{html.escape(c)}</th>" for c in columns)
    body = []
    for n, r in enumerate(rows):
        stripe = " style='background-color:rgba(128,128,128,.08)'" if n % 2 else ""
        cells = "".join(
            f"<td style='{_TD}'>{state_html(r.get(k)) if k in states else html_cell(k, r.get(k))}</td>" for k in keys
        )
        body.append(f"<tr{stripe}>{cells}</tr>")
    return f"<table class='dataframe codex' style='{_TABLE_CSS}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_record(fields: Sequence[str], data: Mapping[str, Any]) -> str:
    """One record as a two-column table: the field names as row headers, the values beside them."""
    rows = "".join(
        f"<tr><th style='{_TD};font-weight:bold;white-space:nowrap'>{html.escape(k)}</th><td style='{_TD}'>{html_cell(k, data.get(k))}</td></tr>"
        for k in fields
    )
    return f"<table class='codex' style='{_TABLE_CSS}'><tbody>{rows}</tbody></table>"
