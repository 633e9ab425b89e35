r"""A reply (or any text a server sent) as HTML that runs nothing: CommonMark without raw HTML, then a sanitizer.

A hand-written Markdown escaper always has another hole (a code span that
crosses a heading line, a fence with a backtick in its info string...), so
:func:`markdown_html` does not escape: it renders with ``markdown-it-py``
(CommonMark, raw HTML off) and passes the result through ``nh3`` (ammonia) with
an allow-list of tags, attributes and URL schemes. Text stays exact:

* raw HTML is never parsed (``List<String>``, ``<b>x</b>`` show as typed);
* entities and backslash escapes are not decoded (``&amp;`` and ``\<`` show
  as typed, as they did when the reply was escaped Markdown);
* nothing is typeset as math: the whole block carries the classes MathJax
  skips (``tex2jax_ignore`` for MathJax 2, ``mathjax_ignore`` for 3), so
  ``$5 or $10`` stays dollars;
* an image is not fetched (nothing leaves the machine): it becomes a link
  whose text is its alt text.

:func:`text_html` writes plain text (error lines, footers) escaped, whitespace kept;
:func:`sanitize_view` passes a whole view (tables, records, a turn), whose
values are escaped already, through ``nh3`` once more with the views' allow-list.
No IPython here; ``markdown-it-py`` and ``nh3`` are imported when first used
(``pip install codex-threadkit[kernel]`` installs them); without them a reply is
shown as escaped plain text.
"""

from __future__ import annotations

import functools
import html
from typing import Any

__all__ = [
    "ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "MATH_IGNORE", "URL_SCHEMES", "VIEW_CLASSES", "VIEW_STYLES", "VIEW_TAGS",
    "markdown_html", "sanitize", "sanitize_view", "text_html",
]

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "pre", "code",
    "em", "strong", "s", "a", "table", "thead", "tbody", "tr", "th", "td",
})
"""The tags a rendered reply may hold (what CommonMark, tables and strikethrough write; no img, no script, no style)."""

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
"""Attributes kept per tag (``style`` only with ``text-align``, a table column's alignment)."""

URL_SCHEMES = frozenset({"http", "https", "mailto"})
"""The URL schemes a link may have (no ``javascript:``, ``data:``, ``vbscript:``, ``file:``)."""

MATH_IGNORE = "tex2jax_ignore mathjax_ignore"
"""The classes of an element whose text MathJax (2 and 3, as JupyterLab and Notebook run it) never typesets."""


def text_html(text: str) -> str:
    """Plain text as HTML: escaped, its line breaks and spaces kept (for error lines and notes)."""
    return f"<span style='white-space:pre-wrap'>{html.escape(text)}</span>"


def sanitize(fragment: str) -> str:
    """``fragment`` with every tag, attribute and URL scheme off the allow-lists removed (``nh3``)."""
    import nh3

    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


VIEW_TAGS = ALLOWED_TAGS | {"div", "span", "b", "i", "sub"}
"""The tags of a ``%codex`` view (tables, records, a turn): a reply's, plus the views' own."""

VIEW_STYLES = frozenset({
    "color", "background-color", "padding", "margin", "border-radius", "border-bottom", "border-collapse", "white-space",
    "overflow-wrap", "word-break", "font-family", "font-size", "font-weight", "text-align", "vertical-align",
})
"""The CSS properties a view's ``style`` attributes keep: none that takes a ``url()`` (nothing is fetched)."""

VIEW_CLASSES: dict[str, set[str]] = {"div": {"tex2jax_ignore", "mathjax_ignore", "codex-turn"}, "table": {"dataframe", "codex"}}
"""The classes a view's elements keep."""


def sanitize_view(fragment: str) -> str:
    """A whole ``%codex`` view through ``nh3`` too (every value in it is escaped already: this is the second wall).

    Without ``nh3`` (no kernel extra) the escaped view is returned as it is.
    """
    try:
        import nh3
    except ImportError:
        return fragment
    return nh3.clean(
        fragment,
        tags=set(VIEW_TAGS),
        attributes={"*": {"style", "title"}, **{k: set(v) for k, v in ALLOWED_ATTRIBUTES.items() if k not in ("th", "td")}},
        allowed_classes={k: set(v) for k, v in VIEW_CLASSES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(VIEW_STYLES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _image_as_link(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    """markdown-it renderer rule: ``![alt](src)`` as a link to ``src`` with the alt text (no fetch)."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = token.attrGet("src") or ""
    return f'<a href="{html.escape(str(src), quote=True)}">{html.escape(alt)}</a>'


@functools.lru_cache(maxsize=1)
def parser() -> Any:
    """The CommonMark renderer (``markdown-it-py``): raw HTML off, entities and backslash escapes kept as typed.

    Tables and strikethrough (GFM) are on, images become links; the same
    object renders every reply (it keeps no state between renders).
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"]).disable(["entity", "escape"])
    md.add_render_rule("image", _image_as_link)
    return md


@functools.lru_cache(maxsize=8)
def markdown_html(text: str) -> str:
    """``text`` rendered as CommonMark and sanitized, in a block MathJax skips (see the module docstring).

    The last few results are kept: a turn's final text is rendered once for
    the live display and its ``Out[n]``.
    """
    try:
        body = sanitize(parser().render(text))
    except ImportError:  # the kernel extra is not installed: exact text, still nothing live
        body = f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
    return f"<div class='{MATH_IGNORE}'>{body}</div>"
