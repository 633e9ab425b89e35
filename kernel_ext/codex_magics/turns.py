"""A live turn: the app-server's messages pumped in order, this turn's notifications applied.

:class:`LiveTurn` follows one turn that ``turn/start`` began: it reads every
message the app-server sends, answers server-to-client requests (approvals get
the configured answer, anything else an error), applies this turn's
notifications to a :class:`~codex_magics.display.TurnResult` and hands every
other notification to ``park``. On a KeyboardInterrupt the caller calls
:meth:`LiveTurn.interrupt`, which sends ``turn/interrupt`` and reads on to the
turn's end. No IPython here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from codex_fixtures import (
    AppServerError,
    AppServerProcess,
    AppServerTimeoutError,
    JSONRPCNotification,
    JSONRPCRequest,
)
from codex_fixtures.appserver.server_requests import APPROVAL_DECISIONS

from .display import TurnResult, short_id
from .errors import CodexUsageError

__all__ = ["LiveTurn", "OnUpdate", "answer_request"]

OnUpdate = Callable[[TurnResult, bool], None]
"""``on_update(result, final)``: called after every change of a live turn, and once with ``final=True``."""


def answer_request(app: AppServerProcess, request: JSONRPCRequest, approval: str, res: TurnResult | None = None) -> None:
    """Answer a server-to-client request: approvals get ``approval``, anything else a JSON-RPC error.

    ``approval`` is ``"accept"`` or ``"decline"``; each approval method gets its
    own word for it (:data:`~codex_fixtures.appserver.server_requests.APPROVAL_DECISIONS`:
    the legacy v1 ``execCommandApproval`` / ``applyPatchApproval`` take
    ``"approved"`` / ``"denied"``). An approval answered during a turn is
    recorded as an item of ``res``.
    """
    decisions = APPROVAL_DECISIONS.get(request.method)
    try:
        if decisions is not None or request.method.endswith("/requestApproval"):
            decision = decisions.get(approval, approval) if decisions is not None else approval
            app.send_response(request.id, {"decision": decision})
            if res is not None:
                res.items.append({"id": str(request.id), "type": "approval", "summary": request.method, "status": approval})
        else:
            app.send_error(request.id, -32601, f"{request.method} is not supported by codex_magics")
    except AppServerError:
        pass


class LiveTurn:
    """Follow one turn of ``app`` into ``res``, calling ``on_update`` as it changes."""

    def __init__(
        self,
        app: AppServerProcess,
        res: TurnResult,
        on_update: OnUpdate,
        *,
        approval: str = "decline",
        park: Callable[[JSONRPCNotification], None] = lambda note: None,
    ) -> None:
        self.app = app
        self.res = res
        self.on_update = on_update
        self.approval = approval
        self.park = park

    def is_mine(self, note: JSONRPCNotification) -> bool:
        """Whether ``note`` belongs to this turn (same thread and turn id)."""
        p = note.params or {}
        res = self.res
        return p.get("threadId") == res.thread_id and (p.get("turnId") or (p.get("turn") or {}).get("id")) == res.turn_id

    def follow(self, poll: float, timeout: float) -> None:
        """Read every message in order until ``turn/completed`` (or ``timeout`` seconds).

        Raises:
            CodexUsageError: the turn did not end within ``timeout``.
            AppServerError: the app-server died or the stream broke.
        """
        res = self.res
        deadline = time.monotonic() + timeout
        while not res.done:
            try:
                msg = self.app.read_next_message(poll)
            except AppServerTimeoutError:
                if time.monotonic() > deadline:
                    raise CodexUsageError(f"turn {short_id(res.turn_id)} did not complete within {timeout:g}s") from None
                self.on_update(res, False)  # lets a throttled display catch up while the stream is quiet
                continue
            if isinstance(msg, JSONRPCRequest):
                answer_request(self.app, msg, self.approval, res)
            elif isinstance(msg, JSONRPCNotification):
                if self.is_mine(msg):
                    self.apply(msg)
                    self.on_update(res, False)
                else:
                    self.park(msg)

    def apply(self, note: JSONRPCNotification) -> None:
        """Update the result from one of this turn's notifications."""
        res = self.res
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

    def interrupt(self) -> None:
        """Send ``turn/interrupt`` and read on to the turn's end; the result keeps the server's final status."""
        res, app = self.res, self.app
        res.interrupted = True
        try:
            if res.turn_id is None and app.is_alive():  # interrupted while turn/start was in flight
                started = app.read_stream_until_notification_message(
                    "turn/started", 2.0, predicate=lambda n: (n.params or {}).get("threadId") == res.thread_id
                )
                res.turn_id = (started.params or {}).get("turn", {}).get("id")
        except (AppServerError, KeyboardInterrupt):
            pass
        if res.turn_id is None or not app.is_alive():
            res.status = "interrupted"
            return
        try:
            rid = app.send_turn_interrupt_request({"threadId": res.thread_id, "turnId": res.turn_id})
            app.read_stream_until_response_or_error(rid, 10.0)
            while not res.done:
                self.apply(app.read_stream_until_matching_notification("turn end", self.is_mine, 10.0))
        except (AppServerError, KeyboardInterrupt):
            res.status = "interrupted"
