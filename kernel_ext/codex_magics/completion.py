"""What Tab offers after ``%codex`` / ``%%codex``: subcommands, options, methods, threads and variables holding them.

:func:`candidates` is plain logic over the line, the parsers, the user's
namespace and the session; the magics module wraps it in IPython's matcher
API. No IPython here.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from .display import Result, TurnResult

__all__ = ["candidates", "thread_variables"]


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(o for o in parser._option_string_actions if o.startswith("--") or o == "-o")


def thread_variables(user_ns: Mapping[str, Any]) -> list[str]:
    """Names in the user's namespace whose value is a thread (a ``%codex`` thread result or a turn)."""
    out = []
    for name, value in user_ns.items():
        if name.startswith("_") or not name.isidentifier():
            continue
        if isinstance(value, TurnResult) or (isinstance(value, Result) and isinstance(value.data.get("id"), str)
                                             and "status" in value.data):
            out.append(name)
    return sorted(out)


def candidates(
    line: str,
    token: str,
    *,
    subparsers: Mapping[str, argparse.ArgumentParser],
    cell_parser: argparse.ArgumentParser,
    user_ns: Mapping[str, Any],
    thread_ids: list[str],
    catalog: Any = None,
    call_parser: Any = None,
) -> list[tuple[str, str]] | None:
    """``(text, type)`` completions for ``line`` (up to the cursor) ending in ``token``; None when not a ``%codex`` line.

    ``catalog`` (a :class:`~codex_magics.schema.MethodCatalog`, when a session
    is up) lets ``call`` complete method names and their ``--PARAM`` options
    (``call_parser(method)`` builds a method's parser).
    """
    text = line.lstrip()
    cell = text.startswith("%%codex")
    if not (text.startswith("%codex ") or text.startswith("%%codex ")):
        return None
    words = text.split()
    before = words[1 : len(words) - (0 if text.endswith(" ") else 1)]  # the finished words after %codex
    if not cell and not before:
        return [(n, "subcommand") for n in sorted(subparsers) if n.startswith(token)]
    cmd = None if cell else before[0]
    if cmd == "call" and catalog is not None:
        if len(before) == 1:
            return [(m, "method") for m in catalog.api_methods if m.startswith(token)]
        if token.startswith("-") and catalog.has(before[1]) and call_parser is not None:
            return [(o, "param") for o in _options(call_parser(before[1])) if o.startswith(token)]
        return []
    if token.startswith("-"):
        parser = cell_parser if cell else subparsers.get(cmd or "")
        return [(o, "option") for o in _options(parser) if o.startswith(token)] if parser is not None else []
    prev = before[-1] if before else ""
    if prev.startswith("-") and prev not in ("--thread", "-t"):
        return []  # the value of an option: nothing to offer
    found = [(i, "thread") for i in thread_ids if i.startswith(token.lower())]
    found += [(n, "variable") for n in thread_variables(user_ns) if n.startswith(token)]
    return found
