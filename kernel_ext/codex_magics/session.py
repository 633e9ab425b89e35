"""Kernel-side state behind ``%codex``: one app-server session, no IPython.

A :class:`CodexSession` owns either a *sandbox* (a loopback mock Responses
API, a temp CODEX_HOME with the hermetic config, and a real ``codex
app-server``) or a *connection* to a real CODEX_HOME. It tracks the current
thread, resolves id prefixes (with "did you mean"), runs live turns by
pumping the driver's notifications, and reads the on-disk rollouts. Every
user mistake or app-server error becomes :class:`CodexUsageError` with one
line; the magics turn it into IPython's ``UsageError``. ``close()`` (also at
interpreter exit) stops everything it started.
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
from collections.abc import Callable, Sequence
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
    list_rollouts,
    read_rollout,
)
from codex_fixtures.sse import ev_assistant_message, ev_completed, ev_response_created

from .display import Result, RpcResult, Table, TurnResult, short_id

__all__ = ["DEFAULT_REPLY", "CodexSession", "CodexUsageError", "one_line"]

DEFAULT_REPLY = "Hello from the Codex sandbox: this reply is streamed word by word by a local mock of the Responses API."
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEXISH_RE = re.compile(r"^[0-9a-f-]+$")
_PASSED_ENV = ("OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL")
_LIVE: weakref.WeakSet[CodexSession] = weakref.WeakSet()


class CodexUsageError(Exception):
    """A one-line, user-facing error (bad input, or the app-server said no)."""


def one_line(exc: BaseException) -> str:
    """A short single-line description of a driver / app-server error."""
    if isinstance(exc, JSONRPCRemoteError):
        msg = exc.rpc_message.split(", expected one of")[0]
        msg = msg if len(msg) <= 300 else msg[:299] + "…"
        return f"{exc.method or 'request'} failed: JSON-RPC {exc.code}: {msg}"
    if isinstance(exc, AppServerExitedError):
        tail = (exc.stderr_tail or "").strip().splitlines()
        last = f" — {tail[-1][:160]}" if tail else ""
        return f"app-server exited (exit code {exc.exit_code}){last}"
    if isinstance(exc, AppServerError):
        return exc.summary.splitlines()[0]
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _streamed_reply(text: str, delay: float) -> ScriptedReply:
    events = [ev_response_created("resp-1"), *ev_assistant_message("msg-1", text, streamed=True), ev_completed("resp-1")]
    return ScriptedReply(events=tuple(events), delay_between_events_s=delay)


def _close_all() -> None:
    for session in list(_LIVE):
        session.close()


atexit.register(_close_all)


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
        self.closed = False
        _LIVE.add(self)

    # ------------------------------------------------------------ creation
    @classmethod
    def sandbox(
        cls, reply: str = DEFAULT_REPLY, *, codex_bin: str | None = None, stream_delay: float = 0.03, timeout: float = 30.0
    ) -> CodexSession:
        """Mock Responses API + temp CODEX_HOME (hermetic config) + a real app-server."""
        server = MockResponsesServer(ResponsesScript(repeat=_streamed_reply(reply, stream_delay))).start()
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
            app = AppServerProcess(path, codex_bin=codex_bin or None, args=args, env=env)
            app.initialize(timeout=timeout)
            return cls(app, mode="connect", codex_home=path, timeout=timeout)
        except BaseException as exc:
            if app is not None:
                app.close()
            if isinstance(exc, CodexFixturesError):
                raise CodexUsageError(f"cannot connect: {one_line(exc)}") from None
            raise

    def close(self) -> None:
        """Stop the app-server, the mock server and remove the temp home (idempotent)."""
        if self.closed:
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
                self._answer(msg)

    def _check_alive(self) -> None:
        if self.closed:
            raise CodexUsageError("this session was stopped: run %codex sandbox or %codex connect")
        if not self.app.is_alive():
            self.error = f"app-server exited (exit code {self.app.returncode})"
            raise CodexUsageError(f"{self.error}; run %codex stop, then %codex sandbox or %codex connect")

    def call(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        """One JSON-RPC request; errors become :class:`CodexUsageError` (one line)."""
        self._check_alive()
        self.pump()
        try:
            return self.app.request(method, params, timeout or self.timeout)
        except JSONRPCRemoteError as exc:
            raise CodexUsageError(one_line(exc)) from None
        except (AppServerExitedError, AppServerTimeoutError) as exc:
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
        }
        res = Result(f"codex {self.mode}", data)
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
        """``thread/list`` as a table (plus threads of this session not written to disk yet)."""
        result = self.call("thread/list", {"archived": archived, "limit": limit})
        rows = []
        for t in result.get("data", []):
            self._remember(t)
            path = t.get("path") or ""
            rows.append(
                {
                    "": "*" if t["id"] == self.current else "",
                    "id": t["id"],
                    "name": t.get("name"),
                    "preview": t.get("preview"),
                    "status": (t.get("status") or {}).get("type"),
                    "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t["updatedAt"])) if t.get("updatedAt") else None,
                    "rollout": os.path.relpath(path, self.codex_home) if path.startswith(str(self.codex_home)) else path,
                }
            )
        title = "archived threads" if archived else "threads"
        listed = {r["id"] for r in rows}
        unlisted = [i for i, t in self.threads.items() if i not in listed and t.get("path") and not Path(t["path"]).exists()]
        note = f"{len(unlisted)} thread(s) started here are not listed: no rollout written yet" if unlisted and not archived else ""
        return Table(title, ["", "id", "name", "preview", "status", "updated", "rollout"], rows, note=note)

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
        return self.rollout(tid, title="thread archived")

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

    def rollback(self, ref: str | None = None, turns: int | None = None, before: str | None = None) -> Result:
        """Drop turns with ``thread/revert`` or ``thread/rollback``, whichever the binary has."""
        tid = self.resolve(ref)
        method = self.binary.rollback_method
        if method is None:
            raise CodexUsageError(f"codex {self.binary.version} has neither thread/revert nor thread/rollback")
        thread = self.call("thread/read", {"threadId": tid})["thread"]
        if thread.get("ephemeral"):
            raise CodexUsageError("ephemeral threads have no rollout to roll back")
        if not thread.get("path") or not Path(thread["path"]).exists():
            raise CodexUsageError(f"thread {short_id(tid)} has no turns yet: nothing to roll back")
        ids = [t["id"] for t in self.call("thread/read", {"threadId": tid, "includeTurns": True})["thread"].get("turns", [])]
        if turns is not None:
            if not 1 <= turns <= len(ids):
                raise CodexUsageError(f"cannot roll back {turns} turn(s): thread {short_id(tid)} has {len(ids)}")
            before = ids[-turns]
        else:
            hits = [i for i in ids if i.startswith(str(before).lower())]
            if len(hits) != 1:
                raise CodexUsageError(f"no single turn matches {before!r}; turns: {', '.join(short_id(i) for i in ids) or 'none'}")
            before = hits[0]
            turns = len(ids) - ids.index(before)
        params = {"threadId": tid, "beforeTurnId": before} if method == "thread/revert" else {"threadId": tid, "numTurns": turns}
        result = self.call(method, params)
        thread = self._remember(result.get("thread", thread))
        res = self._thread_result(
            f"rolled back {turns} turn(s) with {method}", thread, note=f"history now ends before turn {short_id(before)}"
        )
        res.data.update(method=method, before_turn=before, turns_removed=turns)
        return res

    def rollout(self, ref: str | None = None, title: str = "rollout on disk") -> Result:
        """The on-disk truth for one thread: files, state, lines, record types."""
        tid = self.resolve(ref)
        files = [r for r in list_rollouts(self.codex_home, archived=None) if r.thread_id == tid]
        expected = (self.threads.get(tid) or {}).get("path")
        base = next((r for r in files if not r.is_segment), files[0] if files else None)
        types: collections.Counter[str] = collections.Counter()
        lines = 0
        for r in files:
            try:
                records = read_rollout(r.path)
                types.update(rec["type"] for rec in records)
                lines += len(records) if r is base else 0
            except (CodexFixturesError, OSError, ValueError):
                lines += len(r.path.read_text(encoding="utf-8", errors="replace").splitlines()) if r is base else 0
                types["(unreadable line)"] += 1
        state = "archived" if files and all(r.archived for r in files) else "active" if files else "not yet written"
        data = {
            "thread": tid,
            "state": state,
            "exists": bool(files),
            "archived": bool(files) and all(r.archived for r in files),
            "path": str(base.path) if base else expected,
            "lines": lines,
            "segments": sum(1 for r in files if r.is_segment),
            "record_types": dict(types),
            "files": [str(r.path) for r in files],
        }
        fields = ["thread", "state", "path", "lines", "segments", "record_types"]
        return Result(title, data, fields=fields)

    def rpc(self, method: str, params_json: str | None = None) -> RpcResult:
        """Send any JSON-RPC request; ``params_json`` is a JSON object."""
        params = None
        if params_json:
            try:
                params = json.loads(params_json)
            except json.JSONDecodeError as exc:
                raise CodexUsageError(f"params are not valid JSON: {exc.msg} at column {exc.colno}") from None
        result = self.call(method, params)
        if isinstance(result, dict) and isinstance(result.get("thread"), dict) and "id" in result["thread"]:
            self._remember(result["thread"])
        return RpcResult(method, result)

    # ------------------------------------------------------------------ turns
    def run_turn(
        self,
        ref: str | None,
        prompt: str,
        on_update: Callable[[TurnResult, bool], None] = lambda r, final: None,
        *,
        poll: float = 0.1,
        timeout: float = 300.0,
    ) -> TurnResult:
        """Start a turn and follow it to ``turn/completed``, calling ``on_update``.

        A KeyboardInterrupt sends ``turn/interrupt`` and returns the partial
        result with the server's final status (normally ``interrupted``).
        """
        tid = self.resolve(ref)
        res = TurnResult(thread_id=tid, prompt=prompt)
        try:
            started = self.call("turn/start", {"threadId": tid, "input": [{"type": "text", "text": prompt}]})
            res.turn_id, res.status = started["turn"]["id"], "inProgress"
            on_update(res, False)
            self._follow(res, on_update, poll, timeout)
        except KeyboardInterrupt:
            res.interrupted = True
            self._interrupt(res)
        on_update(res, True)
        return res

    def _mine(self, res: TurnResult, note: JSONRPCNotification) -> bool:
        p = note.params or {}
        return p.get("threadId") == res.thread_id and (p.get("turnId") or (p.get("turn") or {}).get("id")) == res.turn_id

    def _follow(self, res: TurnResult, on_update: Callable[[TurnResult, bool], None], poll: float, timeout: float) -> None:
        """The notification pump of a live turn: every message is read in order; this turn's update ``res``."""
        deadline = time.monotonic() + timeout
        while not res.done:
            try:
                msg = self.app.read_next_message(poll)
            except AppServerTimeoutError:
                if time.monotonic() > deadline:
                    raise CodexUsageError(f"turn {short_id(res.turn_id)} did not complete within {timeout:g}s") from None
                on_update(res, False)  # lets a throttled display catch up while the stream is quiet
                continue
            except AppServerError as exc:
                self.error = one_line(exc)
                raise CodexUsageError(self.error) from None
            if isinstance(msg, JSONRPCRequest):
                self._answer(msg, res)
            elif isinstance(msg, JSONRPCNotification):
                if self._mine(res, msg):
                    self._apply(res, msg)
                    on_update(res, False)
                else:
                    self.notifications.append(msg)

    def _answer(self, request: JSONRPCRequest, res: TurnResult | None = None) -> None:
        """Answer a server-to-client request: approvals get ``self.approval``, anything else an error."""
        try:
            if request.method.endswith("/requestApproval"):
                self.app.send_response(request.id, {"decision": self.approval})
                if res is not None:
                    res.items.append({"id": str(request.id), "type": "approval", "summary": request.method, "status": self.approval})
            else:
                self.app.send_error(request.id, -32601, f"{request.method} is not supported by codex_magics")
        except AppServerError:
            pass

    def _apply(self, res: TurnResult, note: JSONRPCNotification) -> None:
        p, m = note.params or {}, note.method
        if m == "item/agentMessage/delta":
            res._messages[p.get("itemId", "")] = res._messages.get(p.get("itemId", ""), "") + p.get("delta", "")
        elif m in ("item/started", "item/completed"):
            item = p.get("item") or {}
            kind = item.get("type")
            if kind == "agentMessage" and m == "item/completed":
                res._messages[item.get("id", "")] = item.get("text", "")
            elif kind not in ("agentMessage", "userMessage", "reasoning", None):
                summary = item.get("command") or item.get("tool") or item.get("query") or item.get("id")
                entry = {
                    "id": item.get("id"),
                    "type": kind,
                    "summary": summary,
                    "status": item.get("status"),
                    "exit_code": item.get("exitCode"),
                    "output": item.get("aggregatedOutput"),
                }
                old = next((i for i in res.items if i["id"] == entry["id"]), None)
                old.update(entry) if old else res.items.append(entry)
        elif m == "thread/tokenUsage/updated":
            res.usage = (p.get("tokenUsage") or {}).get("last")
        elif m == "error":
            res.error = (p.get("error") or {}).get("message")
        elif m == "turn/completed":
            turn = p.get("turn") or {}
            res.status = turn.get("status") or "completed"
            if turn.get("error"):
                res.error = turn["error"].get("message")
        res.text = "\n\n".join(t for t in res._messages.values() if t)

    def _interrupt(self, res: TurnResult) -> None:
        try:
            if res.turn_id is None and self.app.is_alive():  # interrupted while turn/start was in flight
                started = self.app.read_stream_until_notification_message(
                    "turn/started", 2.0, predicate=lambda n: (n.params or {}).get("threadId") == res.thread_id
                )
                res.turn_id = (started.params or {}).get("turn", {}).get("id")
        except (AppServerError, KeyboardInterrupt):
            pass
        if res.turn_id is None or not self.app.is_alive():
            res.status = "interrupted"
            return
        try:
            rid = self.app.send_turn_interrupt_request({"threadId": res.thread_id, "turnId": res.turn_id})
            self.app.read_stream_until_response_or_error(rid, 10.0)
            while not res.done:
                self._apply(res, self.app.read_stream_until_matching_notification("turn end", lambda n: self._mine(res, n), 10.0))
        except (AppServerError, KeyboardInterrupt):
            res.status = "interrupted"
