"""``%codex`` / ``%%codex``: the magic half (parsing, dispatch, display); the engine is :mod:`.session`.

This is the only module of the package that imports IPython.
"""

from __future__ import annotations

import argparse
import difflib
import keyword
import time
from typing import Any

from codex_fixtures.errors import check_timeout
from IPython.core.completer import SimpleCompletion, context_matcher
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import arg_split
from IPython.display import clear_output, display
from traitlets import CaselessStrEnum, Float, TraitError, Unicode, validate

from . import api_cmds, api_parsers, running
from .completion import candidates
from .display import ReportView, TextStream, TurnResult
from .parsing import _CELL, _ROOT, _SUB, SUBCOMMANDS, _HelpShown, _Parser, full_help
from .schema import catalog_of
from .session import DEFAULT_REPLY, CodexSession, CodexUsageError, one_line

__all__ = ["CodexMagics", "load", "unload"]


def _split(line: str) -> list[str]:
    """The words of a magic line, shell-style; an unclosed quote is a one-line usage error."""
    try:
        return arg_split(line, posix=True)
    except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
        raise CodexUsageError(f"%codex: cannot split the line: {str(exc).lower()}") from None


class _CellTurn(TurnResult):
    """The ``%%codex`` return value: its Out[n] is the final state of the live display, byte for byte."""


class _TextCellTurn(TurnResult):
    """After a live view written as plain text (a terminal), the first display is the footer line only."""

    _skip_display = True

    def _ipython_display_(self) -> None:
        if self._skip_display:
            self._skip_display = False
            display({"text/plain": f"[{self._footer()}]"}, raw=True)
            return
        display(self.bundle(), raw=True)


def _updates_in_place(shell: Any) -> bool:
    """Whether the shell's displays can be updated in place (a kernel: yes; a terminal prints every update anew)."""
    return type(getattr(shell, "display_pub", None)).publish is not DisplayPublisher.publish


@magics_class
class CodexMagics(Magics):
    """``%codex SUBCOMMAND ...`` and ``%%codex [THREAD] [-o VAR]``.

    Subcommands: sandbox, connect, status, start, threads, use, read, archive,
    unarchive, resume, fork, rollback, rollout, rpc, repro, stop, and the thread
    API: name, delete, compact, turns, loaded, unsubscribe, steer, interrupt,
    wait, goal, metadata, call (every thread/turn method of the binary).
    """

    codex_bin = Unicode("", help="codex binary for sandbox/connect ('' = $CODEX_BIN or the bundled one)").tag(config=True)
    default_reply = Unicode(DEFAULT_REPLY, help="what the sandbox's mock model answers").tag(config=True)
    timeout = Float(30.0, help="seconds to wait for one JSON-RPC answer").tag(config=True)
    turn_timeout = Float(300.0, help="seconds a %%codex turn may run").tag(config=True)
    stream_interval = Float(0.1, help="minimum seconds between two live display updates").tag(config=True)
    stream_delay = Float(0.03, help="sandbox: seconds between streamed SSE events").tag(config=True)
    approval = CaselessStrEnum(["decline", "accept"], "decline", help="answer to approval requests during a turn").tag(config=True)
    render = CaselessStrEnum(["markdown", "text"], "markdown", help="a reply rendered from Markdown as sanitized HTML, or as plain text").tag(
        config=True
    )

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

    @validate("stream_interval", "stream_delay")
    def _finite_seconds(self, proposal: Any) -> float:
        """A pause is finite and >= 0 (``nan`` would hang every sandbox turn or never update the display)."""
        try:
            return check_timeout(proposal["value"], f"CodexMagics.{proposal['trait'].name}", zero_ok=True)
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
            return api_cmds.rpc(self._need(), method, params.strip())
        if words and words[0] == "call" and not {"-h", "--help"} & set(words[1:2]):
            return self._call(line.strip()[4:].strip())
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
        if args.cmd in api_parsers.HANDLERS:
            return self._api(args)
        return getattr(self, f"_cmd_{args.cmd}")(args)

    def _api(self, args: argparse.Namespace) -> Any:
        session = self._need()
        res = api_parsers.HANDLERS[args.cmd](session, args, self._live_update())
        if isinstance(res, TurnResult):
            res.render = self.render
        return res

    def _call(self, rest: str) -> Any:
        """``%codex call METHOD [--PARAM VALUE ...] [JSON]``: params from the binary's schema, validated, then sent."""
        session = self._need()
        catalog = catalog_of(session.binary)
        method, _, rest = rest.partition(" ")
        if not method:
            print(api_parsers.methods_help(catalog))
            return None
        if not catalog.has(method):
            raise api_parsers.unknown_method(catalog, method)
        options, json_text = api_parsers.split_call_line(rest)
        params = api_parsers.parse_call(catalog, method, _split(options), json_text, _Parser)
        if "threadId" in params and isinstance(params["threadId"], str):
            params["threadId"] = self._thread_ref(params["threadId"])
        return api_cmds.call(session, method, params)

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
                reply,
                codex_bin=a.codex_bin or self.codex_bin,
                stream_delay=self.stream_delay if a.stream_delay is None else a.stream_delay,
                timeout=self.timeout,
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
        return api_cmds.rollback(self._need(), a.thread, a.turns, a.before)

    def _cmd_rollout(self, a: argparse.Namespace) -> Any:
        return self._need().rollout(a.thread)

    def _cmd_rpc(self, a: argparse.Namespace) -> Any:
        return api_cmds.rpc(self._need(), a.method, a.params)

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
    def _live_update(self) -> Any:
        """The ``on_update`` of a live turn: one display updated in place (a kernel), or text appended (a terminal)."""
        if not _updates_in_place(self.shell):
            return TextStream()
        handle: Any = None  # created on the first update: a turn/start that fails shows only the error
        last: list[Any] = [0.0, None, 0.0]  # when, what was shown, and what rendering it cost

        def update(res: TurnResult, final: bool) -> None:
            nonlocal handle
            res.render = self.render
            now, state = time.monotonic(), (res.text, res.status, str(res.items), res.error)
            # a long reply costs more to render: updates space out so that rendering takes at most ~1/5 of the time
            if final or (state != last[1] and now - last[0] >= max(self.stream_interval, 4 * last[2])):
                bundle = res.bundle()
                last[:] = [now, state, time.monotonic() - now]
                res.updates += 1
                if handle is None:
                    handle = display(bundle, raw=True, display_id=True)
                else:
                    handle.update(bundle, raw=True)
            if final and handle is not None:
                clear_output(wait=True)  # the value's Out[n] replaces the live display when it is shown

        return update

    def _turn(self, line: str, cell: str) -> Any:
        a = _CELL.parse_args(_split(line.strip()))
        prompt = cell.strip("\n")
        if not prompt.strip():
            raise CodexUsageError("%%codex: the cell is empty; write the prompt in the cell body")
        if a.out is not None and (not a.out.isidentifier() or keyword.iskeyword(a.out)):
            raise CodexUsageError(f"%%codex: -o needs a Python variable name, got {a.out!r}")
        if a.no_wait and a.steer:
            raise CodexUsageError("%%codex: --no-wait starts a turn, --steer adds to a running one: give one of them")
        session = self._need()
        a.thread = self._thread_ref(a.thread) if a.thread else None
        if a.steer:
            steered = running.steer(session, a.thread, prompt)
            if a.out:
                self.shell.user_ns[a.out] = steered
            return steered
        session.approval = self.approval
        in_place = _updates_in_place(self.shell)
        try:
            if a.no_wait:
                res = running.start_no_wait(session, a.thread, prompt)
            else:
                poll = max(0.01, min(0.1, self.stream_interval))
                res = session.run_turn(a.thread, prompt, self._live_update(), poll=poll, timeout=self.turn_timeout)
        except CodexUsageError as exc:
            raise CodexUsageError(running.turn_hint(session, a.thread, exc)) from None
        out = (_CellTurn if in_place or a.no_wait else _TextCellTurn)(**{k: getattr(res, k) for k in res.__dataclass_fields__})
        out.render = self.render
        if a.out:
            self.shell.user_ns[a.out] = out
        return out


# ---------------------------------------------------------------- completion
def _thread_ids(ip: Any) -> list[str]:
    magics = ip.magics_manager.registry.get("CodexMagics")
    session = getattr(magics, "session", None)
    return list(session.threads) if session is not None else []


@context_matcher()
def codex_matcher(context: Any) -> Any:
    """Complete subcommands, options, call's methods and params, threads and variables holding threads."""
    from IPython import get_ipython

    ip = get_ipython()
    magics = ip.magics_manager.registry.get("CodexMagics") if ip is not None else None
    session = getattr(magics, "session", None)
    catalog = None
    if session is not None and context.line_with_cursor.lstrip().startswith("%codex call "):
        try:
            catalog = catalog_of(session.binary)
        except CodexUsageError:
            catalog = None
    found = candidates(
        context.line_with_cursor,
        context.token,
        subparsers=_SUB,
        cell_parser=_CELL,
        user_ns=ip.user_ns if ip is not None else {},
        thread_ids=_thread_ids(ip) if ip is not None else [],
        catalog=catalog,
        call_parser=lambda m: api_parsers.call_parser(catalog, m, _Parser),
    )
    if found is None:
        return {"completions": [], "suppress": False}
    # nothing to offer (an option's value, no thread yet): the token itself, so Python names are not offered either
    found = found or [(context.token, "nothing")]
    return {"completions": [SimpleCompletion(t, type=k) for t, k in found], "suppress": True}


CodexMagics.codex.__doc__ = full_help()  # what %codex? shows: every subcommand's help


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
