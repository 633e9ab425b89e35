"""Command lines of the thread API subcommands: their parsers, and ``call``'s built from the binary's schema.

:func:`add_parsers` adds ``name``, ``delete``, ``compact``, ``turns``,
``loaded``, ``unsubscribe``, ``steer``, ``interrupt``, ``wait``, ``goal``,
``metadata`` and ``call`` to the ``%codex`` parser; :data:`HANDLERS` runs each
on a session. :func:`call_parser` builds ``%codex call METHOD``'s options and
``--help`` from the method's params schema (:mod:`.schema`), and
:func:`parse_call` reads a ``call`` line: options, then an optional JSON
object. No IPython here (the parser class is passed in).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import api_cmds, running
from .api_cmds import parse_json_object
from .errors import CodexUsageError
from .schema import MethodCatalog

if TYPE_CHECKING:
    from .session import CodexSession

__all__ = ["API_SUBCOMMANDS", "HANDLERS", "add_parsers", "call_parser", "parse_call", "split_call_line"]

API_SUBCOMMANDS = ("name", "delete", "compact", "turns", "loaded", "unsubscribe", "steer", "interrupt", "wait", "goal", "metadata", "call")
"""The subcommands this module adds."""


def add_parsers(add: Callable[[str, str], argparse.ArgumentParser], positive_int: Callable[[str], int]) -> None:
    """Add the thread API subcommands with ``add(name, help)`` (which returns the new subparser)."""
    s = add("name", "thread/name/set: name THREAD (default: the current one); quote a name with spaces")
    s.add_argument("thread", nargs="?")
    s.add_argument("new_name", metavar="NAME")
    add("delete", "thread/delete: delete THREAD and its rollout files").add_argument("thread", nargs="?")
    add("compact", "thread/compact/start: compact THREAD's history, shown live (it runs as a turn)").add_argument("thread", nargs="?")
    s = add("turns", "thread/turns/list as a table (oldest first)")
    s.add_argument("thread", nargs="?")
    s.add_argument("--limit", type=positive_int, metavar="N", help="at most N turns")
    add("loaded", "thread/loaded/list: the threads the app-server holds in memory")
    add("unsubscribe", "thread/unsubscribe: stop getting THREAD's notifications").add_argument("thread", nargs="?")
    s = add("steer", "turn/steer: add TEXT to the running turn (one started by a %%codex --no-wait cell); "
                     "also a %%codex --steer cell")
    s.add_argument("text", nargs="+", metavar="TEXT")
    s.add_argument("-t", "--thread", help="thread (default: current)")
    add("interrupt", "turn/interrupt: stop THREAD's running turn and show how it ended").add_argument("thread", nargs="?")
    add("wait", "follow THREAD's running turn (from %%codex --no-wait) to its end, live").add_argument("thread", nargs="?")
    s = add("goal", "thread/goal/get, thread/goal/set or thread/goal/clear")
    s.add_argument("action", nargs="?", choices=["get", "set", "clear"], default="get", help="default: get")
    s.add_argument("thread", nargs="?")
    s.add_argument("--objective", metavar="TEXT")
    s.add_argument("--status", metavar="STATUS", help="active, paused, blocked, usageLimited, budgetLimited or complete")
    s.add_argument("--token-budget", type=int, metavar="N")
    s = add("metadata", "the thread's git metadata (thread/read); with options, thread/metadata/update")
    s.add_argument("thread", nargs="?")
    s.add_argument("--branch")
    s.add_argument("--sha")
    s.add_argument("--origin-url")
    s.add_argument("--clear", action="append", default=[], choices=["branch", "sha", "originUrl"], help="set this field to null")
    s = add("call", "any thread/* or turn/* method of the connected binary, params checked against its schema: "
                    "call METHOD [--PARAM VALUE ...] [JSON]; call METHOD --help lists the params")
    s.add_argument("method", nargs="?", help="a thread/* or turn/* method (without one: the list)")
    s.add_argument("rest", nargs=argparse.REMAINDER, help="--PARAM VALUE options, then an optional JSON object")


def _goal(s: CodexSession, a: argparse.Namespace, u: Any) -> Any:
    return api_cmds.goal(s, a.action, a.thread, a.objective, a.status, a.token_budget)


def _metadata(s: CodexSession, a: argparse.Namespace, u: Any) -> Any:
    git: dict[str, str | None] = {k: v for k, v in (("branch", a.branch), ("sha", a.sha), ("originUrl", a.origin_url)) if v}
    git.update({k: None for k in a.clear})
    return api_cmds.metadata(s, a.thread, git)


HANDLERS: dict[str, Callable[[Any, argparse.Namespace, Any], Any]] = {
    "name": lambda s, a, u: api_cmds.name(s, a.thread, a.new_name),
    "delete": lambda s, a, u: api_cmds.delete(s, a.thread),
    "compact": lambda s, a, u: running.compact(s, a.thread, u),
    "turns": lambda s, a, u: api_cmds.turns(s, a.thread, a.limit),
    "loaded": lambda s, a, u: api_cmds.loaded(s),
    "unsubscribe": lambda s, a, u: api_cmds.unsubscribe(s, a.thread),
    "steer": lambda s, a, u: running.steer(s, a.thread, " ".join(a.text)),
    "interrupt": lambda s, a, u: running.interrupt(s, a.thread, u),
    "wait": lambda s, a, u: running.wait(s, a.thread, u),
    "goal": _goal,
    "metadata": _metadata,
}
"""``handler(session, args, on_update)`` for each subcommand but ``call`` (see :func:`parse_call`)."""


def call_parser(catalog: MethodCatalog, method: str, parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """``%codex call METHOD``'s parser: one ``--PARAM`` per property of the method's params schema."""
    desc = catalog.descriptions.get(method, "").replace("`", "")
    p = parser_class(
        prog=f"%codex call {method}",
        description=f"{method} (codex {catalog.version}){': ' + desc if desc and desc != 'NEW APIs' else ''}. "
        "Options are the params of the binary's schema; a JSON object after them adds more. "
        "threadId defaults to the current thread.",
    )
    for param in catalog.params(method):
        kwargs: dict[str, Any] = {"dest": f"p_{param.name}", "metavar": param.kind.upper() if param.kind != "choice" else "VALUE"}
        help_text = f"{'required; ' if param.required else ''}{param.what}" + (f". {param.help}" if param.help else "")
        p.add_argument(param.option, help=help_text.replace("%", "%%"), **kwargs)
    return p


def split_call_line(rest: str) -> tuple[str, str | None]:
    """``--a 1 --b x {"c": 2}`` -> (``--a 1 --b x``, ``{"c": 2}``): the JSON object is the part from the first ``{`` token."""
    for i, ch in enumerate(rest):
        if ch == "{" and (i == 0 or rest[i - 1].isspace()):
            return rest[:i].strip(), rest[i:].strip()
    return rest.strip(), None


def parse_call(catalog: MethodCatalog, method: str, argv: list[str], json_text: str | None,
               parser_class: type[argparse.ArgumentParser]) -> dict[str, Any]:
    """The params a ``call`` line gives: the JSON object, then each ``--PARAM VALUE`` over it (typed by the schema)."""
    params = parse_json_object(json_text) if json_text else {}
    ns = call_parser(catalog, method, parser_class).parse_args(argv)
    by_name = {p.name: p for p in catalog.params(method)}
    for key, text in vars(ns).items():
        if text is not None and key.startswith("p_"):
            param = by_name[key[2:]]
            params[param.name] = param.coerce(text, method)
    return params


def methods_help(catalog: MethodCatalog) -> str:
    """The thread/turn methods the binary offers, one a line with its required params."""
    lines = [f"thread/turn methods of codex {catalog.version} ({len(catalog.api_methods)}): %codex call METHOD --help for each"]
    for m in catalog.api_methods:
        req = [p.option for p in catalog.params(m) if p.required]
        lines.append(f"  {m:<36} {' '.join(req)}")
    return "\n".join(lines)


def unknown_method(catalog: MethodCatalog, method: str) -> CodexUsageError:
    """One line: the binary does not offer ``method`` (and which version has it, when known)."""
    since = api_cmds.SINCE.get(method)
    where = f"; codex {since} has it" if since else ""
    kind = "" if method.startswith(("thread/", "turn/")) else " (call reaches thread/* and turn/* methods; %codex rpc sends any)"
    return CodexUsageError(f"codex {catalog.version} does not offer {method}{where}{kind}")
