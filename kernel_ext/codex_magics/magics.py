"""``%codex`` / ``%%codex``: the magic half (parsing, dispatch, display); the engine is :mod:`.session`.

This is the only module of the package that imports IPython.
"""

from __future__ import annotations

import argparse
import difflib
import keyword
import sys
import time
from typing import Any

from codex_fixtures.errors import check_timeout
from IPython.core.completer import SimpleCompletion, context_matcher
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import arg_split
from IPython.display import display
from traitlets import CaselessStrEnum, Float, TraitError, Unicode, validate

from .display import ReportView, TextStream, TurnResult
from .session import DEFAULT_REPLY, CodexSession, CodexUsageError, one_line

__all__ = ["CodexMagics", "load", "unload"]


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


def _split(line: str) -> list[str]:
    """The words of a magic line, shell-style; an unclosed quote is a one-line usage error."""
    try:
        return arg_split(line, posix=True)
    except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
        raise CodexUsageError(f"%codex: cannot split the line: {str(exc).lower()}") from None


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _build_parser() -> tuple[_Parser, dict[str, _Parser]]:
    root = _Parser(
        prog="%codex",
        description="Codex app-server threads from IPython. `%codex SUBCOMMAND --help` for details; "
        "`%%codex [THREAD] [-o VAR]` runs the cell as a turn. THREAD is an id, a unique prefix, or a variable "
        "holding a thread result (t = %codex start); it defaults to the current thread. No $var/{var} expansion.",
    )
    sub = root.add_subparsers(dest="cmd", metavar="SUBCOMMAND", parser_class=_Parser)
    p: dict[str, _Parser] = {}

    def add(name: str, help: str) -> _Parser:
        p[name] = sub.add_parser(name, help=help, description=help)
        return p[name]

    s = add("sandbox", "start a mock Responses API, a temp CODEX_HOME (hermetic config) and a real `codex app-server`")
    s.add_argument("--reply", help="what the mock model answers (default: %%config CodexMagics.default_reply)")
    s.add_argument("--codex-bin", help="the codex binary (default: %%config CodexMagics.codex_bin, $CODEX_BIN, bundled)")
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
    return root, p


_ROOT, _SUB = _build_parser()
SUBCOMMANDS = sorted(_SUB)
_CELL = _Parser(prog="%%codex", description="Run the cell as the prompt of a new turn, streamed live.")
_CELL.add_argument("thread", nargs="?", help="thread (default: current)")
_CELL.add_argument("-o", "--out", metavar="VAR", help="also store the result in VAR")


class _CellTurn(TurnResult):
    """The ``%%codex`` return value: shown live already, so its first display (Out[]) is skipped.

    After a live view written as plain text (a terminal), that first display is
    the footer line (turn, thread, status, tokens) instead.
    """

    _skip_display = True
    _live_as_text = False

    def _ipython_display_(self) -> None:
        if self._skip_display:
            self._skip_display = False
            if self._live_as_text:
                display({"text/plain": f"[{self._footer()}]"}, raw=True)
            return
        display({"text/plain": str(self), "text/markdown": self._repr_markdown_()}, raw=True)


def _updates_in_place(shell: Any) -> bool:
    """Whether the shell's displays can be updated in place (a kernel: yes; a terminal prints every update anew)."""
    return type(getattr(shell, "display_pub", None)).publish is not DisplayPublisher.publish


@magics_class
class CodexMagics(Magics):
    """``%codex SUBCOMMAND ...`` and ``%%codex [THREAD] [-o VAR]``.

    Subcommands: sandbox, connect, status, start, threads, use, read, archive,
    unarchive, resume, fork, rollback, rollout, rpc, repro, stop.
    """

    codex_bin = Unicode("", help="codex binary for sandbox/connect ('' = $CODEX_BIN or the bundled one)").tag(config=True)
    default_reply = Unicode(DEFAULT_REPLY, help="what the sandbox's mock model answers").tag(config=True)
    timeout = Float(30.0, help="seconds to wait for one JSON-RPC answer").tag(config=True)
    turn_timeout = Float(300.0, help="seconds a %%codex turn may run").tag(config=True)
    stream_interval = Float(0.1, help="minimum seconds between two live display updates").tag(config=True)
    stream_delay = Float(0.03, help="sandbox: seconds between streamed SSE events").tag(config=True)
    approval = CaselessStrEnum(["decline", "accept"], "decline", help="answer to approval requests during a turn").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session: CodexSession | None = None

    @validate("timeout", "turn_timeout")
    def _finite_timeout(self, proposal: Any) -> float:
        """A timeout is finite, > 0 and at most a week (``nan`` would wait forever)."""
        try:
            return check_timeout(proposal["value"], f"CodexMagics.{proposal['trait'].name}")
        except ValueError as exc:
            raise TraitError(str(exc)) from None

    # ------------------------------------------------------------------ entry
    @no_var_expand
    @line_cell_magic
    def codex(self, line: str, cell: str | None = None) -> Any:
        """Codex app-server threads. `%codex --help`, `%codex SUBCOMMAND --help`."""
        try:
            return self._turn(line, cell) if cell is not None else self._line(line)
        except _HelpShown:
            return None
        except CodexUsageError as exc:
            raise UsageError(str(exc)) from None

    def _line(self, line: str) -> Any:
        line = line.strip()
        if line.endswith(";"):  # `%codex start;` runs the command and shows nothing (IPython's convention)
            self._line(line[:-1])
            return None
        words = line.split()
        if len(words) > 2 and words[0] == "rpc":  # raw JSON: keep the rest of the line as typed (quotes and all)
            method, _, params = line.strip()[3:].strip().partition(" ")
            return self._need().rpc(method, params.strip())
        argv = _split(line)
        if not argv:
            _ROOT.print_help()
            return None
        if argv[0].startswith("-"):
            _ROOT.parse_args(argv)  # --help, or an error naming the option
            raise CodexUsageError(f"%codex: expected a SUBCOMMAND before {argv[0]!r} (subcommands: {', '.join(SUBCOMMANDS)})")
        if argv[0] not in _SUB:
            close = difflib.get_close_matches(argv[0].lower(), SUBCOMMANDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (subcommands: {', '.join(SUBCOMMANDS)})"
            raise CodexUsageError(f"unknown subcommand {argv[0]!r}{hint}")
        args = _SUB[argv[0]].parse_args(argv[1:])  # errors name the subcommand: "%codex read: ..."
        args.cmd = argv[0]
        if getattr(args, "thread", None):
            args.thread = self._thread_ref(args.thread)
        return getattr(self, f"_cmd_{args.cmd}")(args)

    def _thread_ref(self, ref: str) -> str:
        """THREAD may name a Python variable holding a thread result (``%codex archive t``) or an id string."""
        value = self.shell.user_ns.get(ref) if ref.isidentifier() else None
        value = getattr(value, "id", None) or getattr(value, "thread_id", None) or value
        return value if isinstance(value, str) and value and not value.strip("0123456789abcdefABCDEF-") else ref

    def _need(self) -> CodexSession:
        if self.session is None:
            raise CodexUsageError("no session: run %codex sandbox (hermetic) or %codex connect (real CODEX_HOME) first")
        return self.session

    def _replace(self, make: Any) -> Any:
        """Start a new session, then stop the old one: a sandbox / connect that fails leaves the current session as it was."""
        new = make()
        self.stop()
        self.session = new
        return new.status()

    def stop(self) -> None:
        """Stop the current session, if any."""
        if self.session is not None:
            self.session.close()
            self.session = None

    # --------------------------------------------------------------- commands
    def _cmd_sandbox(self, a: argparse.Namespace) -> Any:
        reply = a.reply if a.reply is not None else self.default_reply
        return self._replace(
            lambda: CodexSession.sandbox(
                reply, codex_bin=a.codex_bin or self.codex_bin, stream_delay=self.stream_delay, timeout=self.timeout
            )
        )

    def _cmd_connect(self, a: argparse.Namespace) -> Any:
        return self._replace(
            lambda: CodexSession.connect(a.home, codex_bin=a.codex_bin or self.codex_bin, overrides=a.overrides, timeout=self.timeout)
        )

    def _cmd_status(self, a: argparse.Namespace) -> Any:
        return self._need().status()

    def _cmd_start(self, a: argparse.Namespace) -> Any:
        return self._need().start(a.model, a.ephemeral, a.name)

    def _cmd_threads(self, a: argparse.Namespace) -> Any:
        return self._need().threads_table(a.archived, a.limit)

    def _cmd_use(self, a: argparse.Namespace) -> Any:
        return self._need().use(a.thread)

    def _cmd_read(self, a: argparse.Namespace) -> Any:
        return self._need().read(a.thread, a.turns)

    def _cmd_archive(self, a: argparse.Namespace) -> Any:
        return self._need().archive(a.thread)

    def _cmd_unarchive(self, a: argparse.Namespace) -> Any:
        return self._need().unarchive(a.thread)

    def _cmd_resume(self, a: argparse.Namespace) -> Any:
        return self._need().resume(a.thread)

    def _cmd_fork(self, a: argparse.Namespace) -> Any:
        return self._need().fork(a.thread)

    def _cmd_rollback(self, a: argparse.Namespace) -> Any:
        return self._need().rollback(a.thread, a.turns, a.before)

    def _cmd_rollout(self, a: argparse.Namespace) -> Any:
        return self._need().rollout(a.thread)

    def _cmd_rpc(self, a: argparse.Namespace) -> Any:
        return self._need().rpc(a.method, a.params)

    def _cmd_repro(self, a: argparse.Namespace) -> Any:
        try:
            from codex_fixtures import CodexFixturesError
            from codex_fixtures.repro.scenarios import run_scenarios
        except ImportError:
            raise CodexUsageError("repro is not available (codex_fixtures.repro.scenarios is missing)") from None
        binary = self.session.binary.path if self.session is not None else (self.codex_bin or None)
        try:
            return ReportView(run_scenarios(a.scenarios or None, binaries=[binary] if binary else None))
        except (KeyError, ValueError, CodexFixturesError) as exc:
            raise CodexUsageError(f"repro: {one_line(exc)}") from None
        except KeyboardInterrupt:  # run_scenarios already cancelled the queue and closed what ran
            raise CodexUsageError("repro interrupted: queued scenarios cancelled, running ones closed") from None

    def _cmd_stop(self, a: argparse.Namespace) -> Any:
        if self.session is None:
            raise CodexUsageError("nothing to stop: no session")
        self.stop()
        print("codex session stopped")
        return None

    # ------------------------------------------------------------------ turns
    def _turn(self, line: str, cell: str) -> Any:
        a = _CELL.parse_args(_split(line.strip()))
        prompt = cell.strip("\n")
        if not prompt.strip():
            raise CodexUsageError("%%codex: the cell is empty; write the prompt in the cell body")
        if a.out is not None and (not a.out.isidentifier() or keyword.iskeyword(a.out)):
            raise CodexUsageError(f"%%codex: -o needs a Python variable name, got {a.out!r}")
        session = self._need()
        a.thread = self._thread_ref(a.thread) if a.thread else None
        handle: Any = None  # created on the first update: a turn/start that fails shows only the error
        last: list[Any] = [0.0, None]

        def update(res: TurnResult, final: bool) -> None:
            nonlocal handle
            now, state = time.monotonic(), (res.text, res.status, str(res.items), res.error)
            if final or (state != last[1] and now - last[0] >= self.stream_interval):
                last[:] = [now, state]
                res.updates += 1
                if handle is None:
                    handle = display(res, display_id=True)
                else:
                    handle.update(res)

        in_place = _updates_in_place(self.shell)
        session.approval = self.approval
        on_update = update if in_place else TextStream()
        res = session.run_turn(a.thread, prompt, on_update, poll=min(0.1, self.stream_interval), timeout=self.turn_timeout)
        out = _CellTurn(**{k: getattr(res, k) for k in res.__dataclass_fields__})
        out._live_as_text = not in_place
        if a.out:
            self.shell.user_ns[a.out] = out

        def shown(*_: Any) -> None:  # after this cell, displaying the result shows it again
            out._skip_display = False
            self.shell.events.unregister("post_run_cell", shown)

        self.shell.events.register("post_run_cell", shown)
        return out


# ---------------------------------------------------------------- completion
def _thread_ids(ip: Any) -> list[str]:
    magics = ip.magics_manager.registry.get("CodexMagics")
    session = getattr(magics, "session", None)
    return list(session.threads) if session is not None else []


@context_matcher()
def codex_matcher(context: Any) -> Any:
    """Complete subcommands after ``%codex`` and thread ids after a subcommand / ``%%codex``."""
    text = context.line_with_cursor.lstrip()
    if not text.startswith(("%codex ", "%%codex ")):
        return {"completions": [], "suppress": False}
    words = text.split()
    typing_first = len(words) == 1 or (len(words) == 2 and not text.endswith(" "))
    token = context.token
    if text.startswith("%codex ") and typing_first:
        names = [n for n in SUBCOMMANDS if n.startswith(token)]
        return {"completions": [SimpleCompletion(n, type="subcommand") for n in names], "suppress": True}
    from IPython import get_ipython

    ids = [i for i in _thread_ids(get_ipython()) if i.startswith(token.lower())]
    return {"completions": [SimpleCompletion(i, type="thread") for i in ids], "suppress": bool(ids)}


# ---------------------------------------------------------------- lifecycle
def load(ip: Any) -> None:
    """Register the magics and the completer once per shell."""
    if "CodexMagics" in ip.magics_manager.registry:
        return
    ip.register_magics(CodexMagics(ip))
    if codex_matcher not in ip.Completer.custom_matchers:
        ip.Completer.custom_matchers.append(codex_matcher)


def unload(ip: Any) -> None:
    """Remove magics, completer and configurable, then stop the session (the slow part, last)."""
    magics = ip.magics_manager.registry.pop("CodexMagics", None)
    for kind in ("line", "cell"):
        table = ip.magics_manager.magics[kind]
        if magics is None or getattr(table.get("codex"), "__self__", magics) is magics:  # never another instance's
            table.pop("codex", None)
    while codex_matcher in ip.Completer.custom_matchers:
        ip.Completer.custom_matchers.remove(codex_matcher)
    if magics is not None:
        if magics in ip.configurables:
            ip.configurables.remove(magics)
        magics.stop()
