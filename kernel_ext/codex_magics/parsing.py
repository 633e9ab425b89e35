"""The ``%codex`` / ``%%codex`` command lines: argparse parsers whose errors are one line, and the full help.

No IPython here: :mod:`.magics` parses with these and turns
:class:`~codex_magics.errors.CodexUsageError` into IPython's ``UsageError``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from codex_fixtures.errors import check_timeout

from . import api_parsers
from .errors import CodexUsageError

__all__ = ["SUBCOMMANDS", "full_help"]


class _HelpShown(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse whose errors raise (one line) instead of exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise CodexUsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        if message:
            raise CodexUsageError(message.strip())
        raise _HelpShown()

    def print_help(self, file: Any = None) -> None:
        super().print_help(file or sys.stdout)


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0 (``nan`` would hang every event, ``inf`` fail it)."""
    try:
        return check_timeout(float(text), "SECONDS", zero_ok=True)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}") from None


def _build_parser() -> tuple[_Parser, dict[str, _Parser]]:
    root = _Parser(
        prog="%codex",
        description="Codex app-server threads from IPython. %codex SUBCOMMAND --help for details; "
        "%%codex [THREAD] [-o VAR] runs the cell as a turn (--no-wait: return at once; --steer: add the cell to the running turn). "
        "THREAD is an id, a unique prefix, or a variable holding a thread result (t = %codex start); it defaults to the "
        "current thread. No $var/{var} expansion. Settings: %config CodexMagics.",
    )
    sub = root.add_subparsers(dest="cmd", metavar="SUBCOMMAND", parser_class=_Parser)
    p: dict[str, _Parser] = {}

    def add(name: str, help: str) -> _Parser:
        text = help.replace("`", "")  # shown as written: argparse %-formats a subcommand's help, not its description
        p[name] = sub.add_parser(name, help=text.replace("%", "%%"), description=text)
        return p[name]

    s = add("sandbox", "start a mock Responses API, a temp CODEX_HOME (hermetic config) and a real `codex app-server`")
    s.add_argument("--reply", help="what the mock model answers (default: %%config CodexMagics.default_reply)")
    s.add_argument("--codex-bin", help="the codex binary (default: %%config CodexMagics.codex_bin, $CODEX_BIN, bundled)")
    s.add_argument("--stream-delay", type=_seconds, metavar="SECONDS",
                   help="seconds between the mock's streamed events: larger values slow the stream "
                   "(default: %%config CodexMagics.stream_delay)")
    c = add("connect", "start `codex app-server` on a real CODEX_HOME with its own config and login")
    c.add_argument("--home", help="CODEX_HOME (default: $CODEX_HOME or ~/.codex)")
    c.add_argument("--codex-bin")
    c.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    add("status", "where everything is, and whether it is alive")
    s = add("start", "thread/start; the new thread becomes current")
    s.add_argument("--model")
    s.add_argument("--ephemeral", action="store_true", help="never written to disk")
    s.add_argument("--name", help="thread/name/set after start (this writes the rollout)")
    s = add("threads", "thread/list as a table")
    s.add_argument("--archived", action="store_true")
    s.add_argument("--limit", type=_positive_int, default=20, metavar="N", help="at most N threads (default 20)")
    add("use", "make THREAD current").add_argument("thread")
    s = add("read", "thread/read (with --turns: the turns as a table)")
    s.add_argument("thread", nargs="?")
    s.add_argument("--turns", action="store_true")
    add("archive", "thread/archive").add_argument("thread", nargs="?")
    add("unarchive", "thread/unarchive (then `resume` before a new turn)").add_argument("thread", nargs="?")
    add("resume", "thread/resume; THREAD becomes current").add_argument("thread", nargs="?")
    add("fork", "thread/fork; the fork becomes current").add_argument("thread", nargs="?")
    s = add("rollback", "drop the last turns (thread/revert, or thread/rollback on older binaries)")
    s.add_argument("thread", nargs="?")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--turns", type=_positive_int, metavar="N", help="how many turns to drop")
    g.add_argument("--before", metavar="TURN_ID", help="drop this turn and every later one")
    add("rollout", "the rollout files on disk: path, state, lines, record types").add_argument("thread", nargs="?")
    s = add("rpc", "send any JSON-RPC request and show its raw result")
    s.add_argument("method")
    s.add_argument("params", nargs="?", help="JSON params: the rest of the line, as typed")
    add("repro", "run reproduction scenarios against this session's binary").add_argument("scenarios", nargs="*")
    add("stop", "stop the app-server (and the sandbox) now")
    api_parsers.add_parsers(add, _positive_int)
    return root, p


_ROOT, _SUB = _build_parser()
SUBCOMMANDS = sorted(_SUB)
_CELL = _Parser(prog="%%codex", description="Run the cell as the prompt of a new turn, streamed live.")
_CELL.add_argument("thread", nargs="?", help="thread (default: current)")
_CELL.add_argument("-o", "--out", metavar="VAR", help="also store the result in VAR")
_CELL.add_argument("--no-wait", action="store_true", help="start the turn and return at once (then: steer, interrupt, wait)")
_CELL.add_argument("--steer", action="store_true", help="add the cell to THREAD's running turn (turn/steer)")


def full_help() -> str:
    """Every subcommand's help, for ``%codex?``."""
    parts = [_ROOT.format_help(), _CELL.format_help()]
    parts += [_SUB[name].format_help() for name in SUBCOMMANDS]
    return "\n".join(parts)
