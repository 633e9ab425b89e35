"""A turn that runs while the notebook goes on: start without waiting, steer, interrupt, wait; and turn hints.

A ``%%codex --no-wait`` cell starts a turn and returns at once: the app-server
keeps streaming into the session's buffer, and the kernel is free for
``%codex steer TEXT`` (``turn/steer``), ``%codex interrupt`` (``turn/interrupt``)
and ``%codex wait`` (follow it to its end, live). The running turn of a thread
is the one this session started, else the last ``inProgress`` turn that
``thread/read`` reports (a turn another client started). No IPython here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codex_fixtures import AppServerError, JSONRPCNotification

from .api_cmds import need
from .display import Result, TurnResult, short_id
from .errors import CodexUsageError, one_line
from .rollouts import disk_states
from .turns import LiveTurn, OnUpdate

if TYPE_CHECKING:
    from .session import CodexSession

__all__ = ["compact", "interrupt", "running_turn", "start_no_wait", "steer", "turn_hint", "wait"]


def _text_input(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def _ended(session: CodexSession, tid: str, turn_id: str) -> bool:
    session.pump()
    return any(
        n.method == "turn/completed" and (n.params or {}).get("threadId") == tid and ((n.params or {}).get("turn") or {}).get("id") == turn_id
        for n in session.notifications
    )


def running_turn(session: CodexSession, tid: str) -> str:
    """The id of the thread's running turn, or one line saying there is none."""
    mine = session.running.get(tid)
    if mine and not _ended(session, tid, mine):
        return mine
    session.running.pop(tid, None)
    thread = session.call("thread/read", {"threadId": tid, "includeTurns": True})["thread"]
    live = [t["id"] for t in thread.get("turns", []) if t.get("status") == "inProgress"]
    if not live:
        raise CodexUsageError(f"thread {short_id(tid)} has no running turn (start one with a %%codex --no-wait cell)")
    return live[-1]


def start_no_wait(session: CodexSession, ref: str | None, prompt: str) -> TurnResult:
    """``turn/start`` and return at once; the turn goes on (see :func:`wait`)."""
    tid = session.resolve(ref)
    if session.running.get(tid) and not _ended(session, tid, session.running[tid]):
        raise CodexUsageError(f"thread {short_id(tid)} has a running turn: %codex steer TEXT, %codex interrupt or %codex wait")
    started = session.call("turn/start", {"threadId": tid, "input": _text_input(prompt)})
    res = TurnResult(thread_id=tid, prompt=prompt, turn_id=started["turn"]["id"], status="inProgress")
    session.running[tid] = res.turn_id
    return res


def steer(session: CodexSession, ref: str | None, text: str) -> Result:
    """``turn/steer``: add ``text`` to the thread's running turn."""
    need(session, "turn/steer", "steer")
    if not text.strip():
        raise CodexUsageError("%codex steer: give the TEXT to add to the running turn")
    tid = session.resolve(ref)
    turn_id = running_turn(session, tid)
    result = session.call("turn/steer", {"threadId": tid, "expectedTurnId": turn_id, "input": _text_input(text)})
    return Result("turn steered", {"thread": tid, "turn_id": result.get("turnId", turn_id), "text": text},
                  note="%codex wait follows the turn to its end")


def wait(session: CodexSession, ref: str | None, on_update: OnUpdate, *, poll: float = 0.1, timeout: float = 300.0) -> TurnResult:
    """Follow the thread's running turn to its end, live, from what was already streamed on."""
    tid = session.resolve(ref)
    turn_id = session.running.get(tid) or running_turn(session, tid)
    res = TurnResult(thread_id=tid, prompt="", turn_id=turn_id, status="inProgress")
    live = LiveTurn(session.app, res, on_update, approval=session.approval, park=session.notifications.append)
    session.pump()
    for note in [n for n in session.notifications if isinstance(n, JSONRPCNotification) and live.is_mine(n)]:
        live.apply(note)
        session.notifications.remove(note)
    try:
        if not res.done:
            on_update(res, False)
            live.follow(poll, timeout)
    except AppServerError as exc:
        session.error = one_line(exc)
        raise CodexUsageError(session.error) from None
    except KeyboardInterrupt:
        live.interrupt()
    session.running.pop(tid, None)
    res.finish()
    on_update(res, True)
    return res


def compact(session: CodexSession, ref: str | None, on_update: OnUpdate, *, timeout: float = 120.0) -> TurnResult:
    """``thread/compact/start``, then follow the compaction turn it starts to its end, live."""
    need(session, "thread/compact/start", "compact")
    tid = session.resolve(ref)
    session.call("thread/compact/start", {"threadId": tid})
    try:
        started = session.app.read_stream_until_notification_message(
            "turn/started", 10.0, predicate=lambda n: (n.params or {}).get("threadId") == tid
        )
    except AppServerError as exc:
        raise CodexUsageError(f"compaction of {short_id(tid)} started no turn: {one_line(exc)}") from None
    session.running[tid] = ((started.params or {}).get("turn") or {}).get("id")
    return wait(session, tid, on_update, timeout=timeout)


def interrupt(session: CodexSession, ref: str | None, on_update: OnUpdate) -> TurnResult:
    """``turn/interrupt`` of the thread's running turn, then follow it to its end."""
    need(session, "turn/interrupt", "interrupt")
    tid = session.resolve(ref)
    turn_id = running_turn(session, tid)
    session.call("turn/interrupt", {"threadId": tid, "turnId": turn_id})
    session.running[tid] = turn_id
    return wait(session, tid, on_update, timeout=30.0)


def turn_hint(session: CodexSession, ref: str | None, exc: CodexUsageError) -> str:
    """The error of a turn that could not start, with what to do when the thread is archived or not loaded."""
    text = str(exc)
    if "not found" not in text and "not loaded" not in text:
        return text
    try:
        tid = session.resolve(ref)
        state = disk_states(session.codex_home, [tid])[tid]
    except (CodexUsageError, OSError):
        return text
    if state == "archived":
        return f"thread {short_id(tid)} is archived: run %codex unarchive {short_id(tid)}, then %codex resume {short_id(tid)}, then run the cell again"
    if state == "active":
        return f"thread {short_id(tid)} is not loaded ({text}): run %codex resume {short_id(tid)}, then run the cell again"
    return text
