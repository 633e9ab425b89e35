"""Kernel-side state behind ``%codex``: one app-server session, no IPython.

A :class:`CodexSession` owns either a *sandbox* (a loopback mock Responses
API, a temp CODEX_HOME with the hermetic config, and a real ``codex
app-server``) or a *connection* to a real CODEX_HOME. It tracks the current
thread, resolves id prefixes (with "did you mean"), runs live turns
(:mod:`.turns`) and reads the on-disk rollouts (:mod:`.rollouts`). Every
user mistake or app-server error becomes :class:`CodexUsageError` with one
line (:mod:`.errors`); the magics turn it into IPython's ``UsageError``.
``close()`` (also at interpreter exit) stops everything it started.
"""

from __future__ import annotations

import atexit
import collections
import difflib
import json
import os
import re
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codex_fixtures import (
    AppServerError,
    AppServerExitedError,
    AppServerProcess,
    AppServerTimeoutError,
    CodexFixturesError,
    CodexHome,
    JSONRPCNotification,
    JSONRPCRemoteError,
    JSONRPCRequest,
    MockResponsesServer,
    ResponsesScript,
    ScriptedReply,
    codex_binary_info,
    machine_config_note,
)
from codex_fixtures.mock.sse import ev_assistant_message, ev_completed, ev_response_created

from .display import Result, Table, TurnResult, short_id
from .errors import CodexUsageError, one_line
from .rollouts import ROLLOUT_FIELDS, disk_states, rollout_state, skipped_note
from .turns import LiveTurn, OnUpdate, answer_request

__all__ = ["DEFAULT_REPLY", "CodexSession", "CodexUsageError", "one_line"]

DEFAULT_REPLY = "Hello from the Codex sandbox: this reply is streamed word by word by a local mock of the Responses API."
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEXISH_RE = re.compile(r"^[0-9a-f-]+$")
_PASSED_ENV = ("OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL")
_LIVE: weakref.WeakSet[CodexSession] = weakref.WeakSet()


def _streamed_reply(text: str, delay: float) -> ScriptedReply:
    events = [ev_response_created("resp-1"), *ev_assistant_message("msg-1", text, streamed=True), ev_completed("resp-1")]
    return ScriptedReply(events=tuple(events), delay_between_events_s=delay)


def _close_all() -> None:
    for session in list(_LIVE):
        session.close()  # a no-op for a session inherited through a fork


atexit.register(_close_all)
os.register_at_fork(after_in_child=_LIVE.clear)


class CodexSession:
    """One app-server (sandboxed or connected) plus what the magics remember about it."""

    def __init__(
        self,
        app: AppServerProcess,
        *,
        mode: str,
        codex_home: Path,
        server: MockResponsesServer | None = None,
        home: CodexHome | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.mode = mode
        self.codex_home = codex_home
        self.server = server
        self.home = home
        self.timeout = timeout
        self.binary = codex_binary_info(app.codex_bin)
        self.current: str | None = None
        self.threads: dict[str, dict[str, Any]] = {}
        self.notifications: collections.deque[JSONRPCNotification] = collections.deque(maxlen=500)
        self.error: str | None = None
        self.approval = "decline"  # the answer to approval requests during a turn: "decline" or "accept"
        self.running: dict[str, str] = {}  # thread id -> turn id of a turn started without waiting (%%codex --no-wait)
        self.closed = False
        self._owner_pid = os.getpid()
        _LIVE.add(self)

    # ------------------------------------------------------------ creation
    @classmethod
    def sandbox(
        cls, reply: str = DEFAULT_REPLY, *, codex_bin: str | None = None, stream_delay: float = 0.03, timeout: float = 30.0
    ) -> CodexSession:
        """Mock Responses API + temp CODEX_HOME (hermetic config) + a real app-server."""
        try:
            streamed = _streamed_reply(reply, stream_delay)
        except ValueError as exc:  # the mock refuses a negative, nan or inf delay
            raise CodexUsageError(f"stream_delay: {exc}") from None
        server = MockResponsesServer(ResponsesScript(repeat=streamed)).start()
        home = app = None
        try:
            home = CodexHome(server)
            app = AppServerProcess(home.path, codex_bin=codex_bin or None)
            app.initialize(timeout=timeout)
            return cls(app, mode="sandbox", codex_home=home.path, server=server, home=home, timeout=timeout)
        except BaseException as exc:
            for thing in (app, server, home):
                if thing is not None:
                    (thing.cleanup if isinstance(thing, CodexHome) else thing.close)()
            if isinstance(exc, CodexFixturesError):
                raise CodexUsageError(f"cannot start the sandbox: {one_line(exc)}") from None
            raise

    @classmethod
    def connect(
        cls, home: str | None = None, *, codex_bin: str | None = None, overrides: Sequence[str] = (), timeout: float = 30.0
    ) -> CodexSession:
        """An app-server on a real CODEX_HOME (default ``$CODEX_HOME`` or ``~/.codex``) with the user's config."""
        path = Path(home or os.environ.get("CODEX_HOME") or "~/.codex").expanduser()
        if not path.is_dir():
            raise CodexUsageError(f"CODEX_HOME {str(path)!r} is not a directory")
        args: list[str] = []
        for kv in overrides:
            if "=" not in kv or not kv.split("=", 1)[0].strip():
                raise CodexUsageError(f"-c expects KEY=VALUE, got {kv!r}")
            args += ["-c", kv]
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        app = None
        try:
            app = AppServerProcess(path, codex_bin=codex_bin or None, args=args, env=env, hermetic=False)
            app.initialize(timeout=timeout)
            return cls(app, mode="connect", codex_home=path, timeout=timeout)
        except BaseException as exc:
            if app is not None:
                app.close()
            if isinstance(exc, CodexFixturesError):
                raise CodexUsageError(f"cannot connect: {one_line(exc)}") from None
            raise

    def close(self) -> None:
        """Stop the app-server, the mock server and remove the temp home (idempotent).

        Only in the process that started them: in a forked child this does nothing.
        """
        if self.closed or self._owner_pid != os.getpid():
            return
        self.closed = True
        _LIVE.discard(self)
        for step in (self.app.close, getattr(self.server, "close", None), getattr(self.home, "cleanup", None)):
            if step is not None:
                try:
                    step()
                except Exception:  # noqa: BLE001, S110 - best effort; nothing must survive
                    pass

    # --------------------------------------------------------------- plumbing
    def pump(self) -> None:
        """Move buffered notifications to ``self.notifications``; refuse server-to-client requests."""
        for msg in self.app.clear_message_buffer():
            if isinstance(msg, JSONRPCNotification):
                self.notifications.append(msg)
            elif isinstance(msg, JSONRPCRequest) and self.app.is_alive():
                answer_request(self.app, msg, self.approval)

    def restart_hint(self) -> str:
        """What starts a working session again after the app-server died (what works, for this mode)."""
        if self.mode == "sandbox":
            return "run %codex sandbox for a new one (a new, empty CODEX_HOME)"
        return f"run %codex connect --home {self.codex_home}, then %codex resume THREAD"

    def _dead(self, error: str) -> CodexUsageError:
        self.error = error
        return CodexUsageError(f"{error}; {self.restart_hint()}")

    def _check_alive(self) -> None:
        if self.closed:
            raise CodexUsageError("this session was stopped: run %codex sandbox or %codex connect")
        if not self.app.is_alive():
            raise self._dead(f"app-server exited (exit code {self.app.returncode})")

    def call(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        """One JSON-RPC request; errors become :class:`CodexUsageError` (one line)."""
        self._check_alive()
        self.pump()
        try:
            return self.app.request(method, params, timeout or self.timeout)
        except (ValueError, TypeError) as exc:  # refused before sending (NaN, too deep, a bad timeout): nothing was sent
            raise CodexUsageError(one_line(exc)) from None
        except JSONRPCRemoteError as exc:
            raise CodexUsageError(one_line(exc)) from None
        except AppServerExitedError as exc:
            raise self._dead(one_line(exc)) from None
        except AppServerTimeoutError as exc:
            self.error = one_line(exc)
            raise CodexUsageError(self.error) from None
        except AppServerError as exc:
            raise CodexUsageError(one_line(exc)) from None

    def _remember(self, thread: dict[str, Any]) -> dict[str, Any]:
        self.threads[thread["id"]] = {**self.threads.get(thread["id"], {}), **thread}
        return thread

    # -------------------------------------------------------------- thread ids
    def resolve(self, ref: str | None) -> str:
        """A full thread id from ``ref`` (None = current; a unique prefix is enough)."""
        if ref is not None and not isinstance(ref, str):
            raise CodexUsageError(f"a thread id is a string, got {json.dumps(ref)[:60]}")
        if not ref:
            if self.current is None:
                raise CodexUsageError("no current thread: run %codex start, or give a THREAD")
            return self.current
        ref = ref.strip().lower()
        if _UUID_RE.match(ref):
            return ref
        ids = self.known_ids()
        matches = [i for i in ids if i.startswith(ref)]
        if not matches:
            ids = self.known_ids(refresh=True)
            matches = [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise CodexUsageError(f"thread prefix {ref!r} is ambiguous: matches {', '.join(short_id(m) for m in matches[:5])}…")
        close = difflib.get_close_matches(ref, [i[: len(ref)] for i in ids], n=1, cutoff=0.5)
        hint = f"; did you mean {next(i for i in ids if i.startswith(close[0]))}?" if close else ""
        kind = "unknown thread" if _HEXISH_RE.match(ref) else "malformed thread id"
        raise CodexUsageError(f"{kind} {ref!r} (give a thread id or a unique prefix of one){hint}")

    def known_ids(self, refresh: bool = False) -> list[str]:
        """Thread ids this session knows (started, listed, read); ``refresh`` asks ``thread/list``."""
        if refresh and not self.closed and self.app.is_alive():
            for archived in (False, True):
                try:
                    for t in self.call("thread/list", {"archived": archived, "limit": 200}).get("data", []):
                        self._remember(t)
                except CodexUsageError:
                    pass
        return list(self.threads)

    # --------------------------------------------------------------- commands
    def status(self) -> Result:
        """Where everything is and whether it is alive."""
        alive = not self.closed and self.app.is_alive()
        if not alive and not self.closed and self.error is None:
            self.error = f"app-server exited (exit code {self.app.returncode})"
        data = {
            "mode": self.mode,
            "state": "stopped" if self.closed else ("running" if alive else "error"),
            "error": self.error,
            "codex_home": str(self.codex_home),
            "codex_bin": str(self.binary.path),
            "version": self.binary.version,
            "rollback_method": self.binary.rollback_method,
            "app_server_pid": self.app.pid,
            "mock_server": self.server.url_v1 if self.server else None,
            "model_requests": len(self.server.requests) if self.server else None,
            "current_thread": self.current,
            "threads_known": len(self.threads),
            "machine_config": machine_config_note(),  # /etc/codex reaches this app-server too (None: nothing there)
        }
        shown = [k for k, v in data.items() if v is not None]  # no empty rows (no error, no current thread yet)
        res = Result(f"codex {self.mode}", data, fields=shown)
        res.session = self  # the live CodexSession (its .server, .app, .home), not shown
        return res

    def _thread_result(self, title: str, thread: dict[str, Any], note: str = "") -> Result:
        path = thread.get("path")
        data = {
            "id": thread.get("id"),
            "name": thread.get("name"),
            "status": (thread.get("status") or {}).get("type"),
            "ephemeral": thread.get("ephemeral"),
            "model": thread.get("model"),
            "path": path,
            "rollout_exists": bool(path) and Path(path).exists(),
            "forked_from": thread.get("forkedFromId"),
            "current": thread.get("id") == self.current,
            "thread": thread,
        }
        return Result(title, data, fields=[k for k in data if k != "thread" and data[k] is not None], note=note)

    def start(self, model: str | None = None, ephemeral: bool = False, name: str | None = None) -> Result:
        """``thread/start``; the new thread becomes current."""
        params: dict[str, Any] = {}
        if model:
            params["model"] = model
        if ephemeral:
            params["ephemeral"] = True
        thread = self._remember(self.call("thread/start", params)["thread"])
        self.current = thread["id"]
        note = "rollout not written yet: it appears with the first turn (or archive / name)."
        if name:
            self.call("thread/name/set", {"threadId": thread["id"], "name": name})
            thread = self._remember({**thread, "name": name})
            note = "thread/name/set wrote the rollout (session_meta only)."
        return self._thread_result("thread started (now current)", thread, note if not ephemeral else "ephemeral: never written to disk.")

    def threads_table(self, archived: bool = False, limit: int = 20) -> Table:
        """``thread/list`` as a table, with a note on threads of this session that it leaves out (and why)."""
        result = self.call("thread/list", {"archived": archived, "limit": limit})
        rows = []
        for t in result.get("data", []):
            self._remember(t)
            path = t.get("path") or ""
            rows.append(
                {
                    "current": "*" if t["id"] == self.current else "",
                    "id": t["id"],
                    "name": t.get("name"),
                    "preview": t.get("preview"),
                    "status": (t.get("status") or {}).get("type"),
                    "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t["updatedAt"])) if t.get("updatedAt") else None,
                    "rollout": path,
                }
            )
        title = "archived threads" if archived else "threads"
        listed = {r["id"] for r in rows}
        note = "" if archived else self._unlisted_note(listed, complete=not result.get("nextCursor"))
        legend = "* = the current thread (%codex use THREAD changes it)" if self.current in listed else ""
        return Table(title, ["current", "id", "name", "preview", "status", "updated", "rollout"], rows, note=note, legend=legend)

    def _unlisted_note(self, listed: set[str], complete: bool) -> str:
        """Why threads this session knows are missing from an (unarchived) ``thread/list``, judged by the disk.

        A thread with no rollout yet is never listed; one with a rollout but no
        user turn (``start --name``) is not either, which is only told apart
        from paging when the listing was ``complete``.
        """
        unlisted = [i for i, t in self.threads.items() if i not in listed and not t.get("ephemeral")]
        if not unlisted:
            return ""
        skipped: list[str] = []
        states = collections.Counter(disk_states(self.codex_home, unlisted, skipped).values())
        why = {"no rollout written yet": states["not yet written"], "a rollout but no user turn": states["active"] if complete else 0}
        parts = [f"{reason} ({n})" for reason, n in why.items() if n]
        note = f"{sum(why.values())} thread(s) of this session are not listed: {', '.join(parts)}" if parts else ""
        return "; ".join(n for n in (note, skipped_note(skipped)) if n)

    def use(self, ref: str) -> Result:
        """Make a thread current."""
        tid = self.resolve(ref)
        thread = self._remember(self.call("thread/read", {"threadId": tid})["thread"])
        self.current = tid
        return self._thread_result("current thread", thread)

    def read(self, ref: str | None = None, turns: bool = False) -> Result | Table:
        """``thread/read`` of a thread; with ``turns``, a table of its turns."""
        tid = self.resolve(ref)
        thread = self._remember(self.call("thread/read", {"threadId": tid})["thread"])
        if not turns:
            return self._thread_result("thread", thread)
        path = thread.get("path")
        if not path or not Path(path).exists():
            why = "ephemeral" if thread.get("ephemeral") else "its rollout is not written yet"
            return Table(
                f"turns of {short_id(tid)}", ["id"], [], note=f"no turns: {why} (includeTurns was not sent: it would write the rollout)"
            )
        full = self.call("thread/read", {"threadId": tid, "includeTurns": True})["thread"]
        rows = []
        for turn in full.get("turns", []):
            items = turn.get("items", [])
            user = next((i for i in items if i.get("type") == "userMessage"), {})
            agent = [i.get("text", "") for i in items if i.get("type") == "agentMessage"]
            prompt = " ".join(c.get("text", "") for c in user.get("content", []) if isinstance(c, dict))
            rows.append({"id": turn["id"], "status": turn.get("status"), "items": len(items), "prompt": prompt, "reply": " ".join(agent)})
        return Table(f"turns of {short_id(tid)}", ["id", "status", "items", "prompt", "reply"], rows)

    def archive(self, ref: str | None = None) -> Result:
        """``thread/archive``, then show the rollout on disk."""
        tid = self.resolve(ref)
        self.call("thread/archive", {"threadId": tid})
        self.threads.get(tid, {}).update(status={"type": "notLoaded"})
        try:
            return self.rollout(tid, title="thread archived")
        except (OSError, ValueError, CodexFixturesError) as exc:  # the server did archive: say so, whatever the disk
            return Result("thread archived", {"thread": tid, "state": "archived"}, note=f"rollout not shown: {one_line(exc)}")

    def unarchive(self, ref: str | None = None) -> Result:
        """``thread/unarchive`` (the thread is not loaded until resumed)."""
        tid = self.resolve(ref)
        thread = self._remember(self.call("thread/unarchive", {"threadId": tid})["thread"])
        return self._thread_result("thread unarchived", thread, note="not loaded: run %codex resume before a new turn.")

    def resume(self, ref: str | None = None) -> Result:
        """``thread/resume``; the thread becomes current."""
        tid = self.resolve(ref)
        thread = self._remember(self.call("thread/resume", {"threadId": tid})["thread"])
        self.current = tid
        return self._thread_result("thread resumed (now current)", thread)

    def fork(self, ref: str | None = None) -> Result:
        """``thread/fork``; the fork becomes current."""
        tid = self.resolve(ref)
        thread = self._remember(self.call("thread/fork", {"threadId": tid})["thread"])
        self.current = thread["id"]
        return self._thread_result(f"fork of {short_id(tid)} (now current)", thread)

    def rollout(self, ref: str | None = None, title: str = "rollout on disk") -> Result:
        """The on-disk truth for one thread: files, state, lines, record types (see :mod:`.rollouts`)."""
        tid = self.resolve(ref)
        data = rollout_state(self.codex_home, tid, (self.threads.get(tid) or {}).get("path"))
        return Result(title, data, fields=ROLLOUT_FIELDS, note=skipped_note(data["skipped"]))

    # ------------------------------------------------------------------ turns
    def run_turn(
        self,
        ref: str | None,
        prompt: str,
        on_update: OnUpdate = lambda r, final: None,
        *,
        poll: float = 0.1,
        timeout: float = 300.0,
    ) -> TurnResult:
        """Start a turn and follow it to ``turn/completed``, calling ``on_update`` (see :mod:`.turns`).

        A KeyboardInterrupt sends ``turn/interrupt`` and returns the partial
        result with the server's final status (normally ``interrupted``).
        """
        tid = self.resolve(ref)
        res = TurnResult(thread_id=tid, prompt=prompt)
        live = LiveTurn(self.app, res, on_update, approval=self.approval, park=self.notifications.append)
        try:
            started = self.call("turn/start", {"threadId": tid, "input": [{"type": "text", "text": prompt}]})
            res.turn_id, res.status = started["turn"]["id"], "inProgress"
            on_update(res, False)
            live.follow(poll, timeout)
        except AppServerError as exc:  # from follow(): the app-server died or the stream broke
            raise (self._dead(one_line(exc)) if not self.app.is_alive() else CodexUsageError(one_line(exc))) from None
        except KeyboardInterrupt:
            live.interrupt()
        res.finish()
        on_update(res, True)
        return res
