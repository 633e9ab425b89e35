"""The thread API subcommands of ``%codex``: each one a method of the connected binary, checked first.

``name``, ``delete``, ``compact``, ``turns``, ``loaded``, ``unsubscribe``,
``goal``, ``metadata``, ``rollback`` and ``rpc`` are functions of a
:class:`~codex_magics.session.CodexSession` and the parsed arguments; a method
the binary does not offer is refused with the version that has it
(:func:`need`). ``%codex call`` (:func:`call`) reaches every other ``thread/*``
/ ``turn/*`` method, with options built from its params schema
(:mod:`.schema`). No IPython here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_fixtures.appserver.thread_api import rollback_params

from .display import Result, RpcResult, Table, short_id
from .errors import CodexUsageError
from .rollouts import rollout_state
from .schema import catalog_of, loads_json

if TYPE_CHECKING:
    from .session import CodexSession

__all__ = ["SINCE", "call", "delete", "goal", "loaded", "metadata", "name", "need", "rollback", "rpc", "turns",
           "unsubscribe", "turns_rows"]

SINCE = {
    m: "0.163.0"
    for m in (
        "thread/delete", "thread/unsubscribe", "thread/goal/set", "thread/goal/get", "thread/goal/clear", "thread/metadata/update",
        "thread/turns/list", "thread/items/list", "thread/inject_items", "thread/revert", "thread/shellCommand",
        "thread/attachment/add", "thread/attachment/list", "thread/attachment/remove", "thread/attachmentOwner/list",
        "thread/section/move", "thread/approveGuardianDeniedAction",
    )
}
"""A release that has each method the oldest binary checked (0.101.0) lacks (from their schemas)."""


def need(session: CodexSession, method: str, cmd: str) -> None:
    """Refuse ``cmd`` when the connected binary does not offer ``method`` (saying which version has it)."""
    if session.binary.has_method(method):
        return
    since = SINCE.get(method)
    where = f"codex {since} has it" if since else "a newer codex may have it"
    raise CodexUsageError(f"%codex {cmd}: codex {session.binary.version} does not offer {method} ({where})")


def _ts(value: Any) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if isinstance(value, (int, float)) and value else None


def name(session: CodexSession, ref: str | None, new_name: str) -> Result:
    """``thread/name/set`` (it writes the rollout's first record when there is none yet)."""
    need(session, "thread/name/set", "name")
    tid = session.resolve(ref)
    session.call("thread/name/set", {"threadId": tid, "name": new_name})
    thread = session._remember({**session.threads.get(tid, {"id": tid}), "name": new_name})
    return session._thread_result(f"thread named {new_name!r}", thread)


def delete(session: CodexSession, ref: str | None) -> Result:
    """``thread/delete``; the rollout files are checked on disk after it."""
    need(session, "thread/delete", "delete")
    tid = session.resolve(ref)
    session.call("thread/delete", {"threadId": tid})
    session.threads.pop(tid, None)
    if session.current == tid:
        session.current = None
    data = rollout_state(session.codex_home, tid)
    data["state"] = "deleted" if not data["exists"] else data["state"]
    note = "no current thread now: %codex start or %codex use THREAD" if session.current is None else ""
    return Result("thread deleted", data, fields=["thread", "state", "exists", "files"], note=note)


def turns_rows(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per turn: id, status, items, prompt, reply, start, duration."""
    rows = []
    for turn in turns:
        items = turn.get("items", [])
        user = next((i for i in items if i.get("type") == "userMessage"), {})
        agent = [i.get("text", "") for i in items if i.get("type") == "agentMessage"]
        prompt = " ".join(c.get("text", "") for c in user.get("content", []) if isinstance(c, dict))
        ms = turn.get("durationMs")
        rows.append({"id": turn["id"], "status": turn.get("status"), "items": len(items), "prompt": prompt, "reply": " ".join(agent),
                     "started": _ts(turn.get("startedAt")), "duration": f"{ms / 1000:.1f} s" if isinstance(ms, int) else None})
    return rows


def turns(session: CodexSession, ref: str | None, limit: int | None = None) -> Table:
    """``thread/turns/list`` as a table, oldest first."""
    need(session, "thread/turns/list", "turns")
    tid = session.resolve(ref)
    params: dict[str, Any] = {"threadId": tid, "sortDirection": "asc"}
    if limit:
        params["limit"] = limit
    result = session.call("thread/turns/list", params)
    more = "more turns: %codex call thread/turns/list --cursor ..." if result.get("nextCursor") else ""
    return Table(f"turns of {short_id(tid)}", ["id", "status", "items", "prompt", "reply", "started", "duration"],
                 turns_rows(result.get("data", [])), note=more)


def loaded(session: CodexSession) -> Table:
    """``thread/loaded/list``: the threads the app-server holds in memory."""
    need(session, "thread/loaded/list", "loaded")
    ids = session.call("thread/loaded/list", {}).get("data", [])
    rows = [{"current": "*" if i == session.current else "", "id": i, "name": (session.threads.get(i) or {}).get("name")} for i in ids]
    return Table("loaded threads", ["current", "id", "name"], rows, legend="* = the current thread")


def unsubscribe(session: CodexSession, ref: str | None) -> Result:
    """``thread/unsubscribe``: this client stops getting the thread's notifications."""
    need(session, "thread/unsubscribe", "unsubscribe")
    tid = session.resolve(ref)
    result = session.call("thread/unsubscribe", {"threadId": tid})
    return Result("thread/unsubscribe", {"thread": tid, "status": result.get("status")})


def goal(session: CodexSession, action: str, ref: str | None, objective: str | None = None, status: str | None = None,
         token_budget: int | None = None) -> Result:
    """``thread/goal/get``, ``thread/goal/set`` or ``thread/goal/clear``."""
    method = f"thread/goal/{action}"
    need(session, method, f"goal {action}")
    tid = session.resolve(ref)
    params: dict[str, Any] = {"threadId": tid}
    if action == "set":
        given = {"objective": objective, "status": status, "tokenBudget": token_budget}
        if all(v is None for v in given.values()):
            raise CodexUsageError("%codex goal set: give --objective, --status or --token-budget")
        params.update({k: v for k, v in given.items() if v is not None})
    elif objective or status or token_budget is not None:
        raise CodexUsageError(f"%codex goal {action}: --objective/--status/--token-budget are for goal set")
    catalog_of(session.binary).validate(method, params)
    result = session.call(method, params)
    g = result.get("goal") if isinstance(result, dict) else None
    if action == "clear":
        return Result("goal cleared" if result.get("cleared") else "no goal to clear", {"thread": tid, "cleared": result.get("cleared")})
    data = {"thread": tid, **(g or {})}
    fields = ["thread", "objective", "status", "tokenBudget", "tokensUsed", "timeUsedSeconds"]
    note = "set one: %codex goal set --objective TEXT" if not g else ""
    if g and g.get("status") == "active":
        note = "an active goal lets codex start turns on its own (goal continuation): %codex wait follows one, --status paused stops it"
    return Result("goal" if g else "no goal", data, fields=[f for f in fields if f in data], note=note)


def metadata(session: CodexSession, ref: str | None, git: dict[str, str | None]) -> Result:
    """The thread's git metadata: shown (``thread/read``), or updated with ``thread/metadata/update``."""
    tid = session.resolve(ref)
    if git:
        need(session, "thread/metadata/update", "metadata")
        params = {"threadId": tid, "gitInfo": git}
        catalog_of(session.binary).validate("thread/metadata/update", params)
        result = session.call("thread/metadata/update", params)
        thread = session._remember(result["thread"]) if isinstance(result.get("thread"), dict) else None
    else:
        thread = None
    thread = thread or session._remember(session.call("thread/read", {"threadId": tid})["thread"])
    info = thread.get("gitInfo") or {}
    data = {"thread": tid, "branch": info.get("branch"), "sha": info.get("sha"), "originUrl": info.get("originUrl"), "cwd": thread.get("cwd")}
    return Result("thread metadata updated" if git else "thread metadata", data)


def rollback(session: CodexSession, ref: str | None = None, turns: int | None = None, before: str | None = None) -> Result:
    """Drop turns with ``thread/revert`` or ``thread/rollback``, whichever the binary has."""
    tid = session.resolve(ref)
    method = session.binary.rollback_method
    if method is None:
        raise CodexUsageError(f"codex {session.binary.version} has neither thread/revert nor thread/rollback")
    thread = session.call("thread/read", {"threadId": tid})["thread"]
    if thread.get("ephemeral"):
        raise CodexUsageError("ephemeral threads have no rollout to roll back")
    if not thread.get("path") or not Path(thread["path"]).exists():
        raise CodexUsageError(f"thread {short_id(tid)} has no turns yet: nothing to roll back")
    ids = [t["id"] for t in session.call("thread/read", {"threadId": tid, "includeTurns": True})["thread"].get("turns", [])]
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
    result = session.call(method, rollback_params(method, tid, before_turn_id=before, num_turns=turns))
    thread = session._remember(result.get("thread", thread))
    res = session._thread_result(f"rolled back {turns} turn(s) with {method}", thread, note=f"history now ends before turn {short_id(before)}")
    res.data.update(method=method, before_turn=before, turns_removed=turns)
    return res


def parse_json_object(text: str, what: str = "params") -> dict[str, Any]:
    """A JSON object typed by the user, or one line saying what is wrong with it."""
    try:
        value = loads_json(text)
    except json.JSONDecodeError as exc:
        raise CodexUsageError(f"{what} are not valid JSON: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:  # NaN / Infinity: Python's json accepts them, the app-server drops the line
        raise CodexUsageError(f"{what} are not valid JSON: {exc}") from None
    except RecursionError:
        raise CodexUsageError(f"{what} are not valid JSON: nested too deeply to parse") from None
    if not isinstance(value, dict):
        raise CodexUsageError(f"{what} must be a JSON object, like {{\"limit\": 5}}; got {text[:80]!r}")
    return value


def rpc(session: CodexSession, method: str, params_json: str | None = None) -> RpcResult:
    """Send any JSON-RPC request; ``params_json`` is a JSON object (not checked against the schema)."""
    params = parse_json_object(params_json) if params_json else None
    result = session.call(method, params)
    if isinstance(result, dict) and isinstance(result.get("thread"), dict) and "id" in result["thread"]:
        session._remember(result["thread"])
    return RpcResult(method, result)


def call(session: CodexSession, method: str, params: dict[str, Any]) -> RpcResult:
    """A ``thread/*`` / ``turn/*`` method with params checked against the binary's schema first.

    ``threadId``, when the method takes one and it is not given, is the current
    thread (or the id a unique prefix names).
    """
    catalog = catalog_of(session.binary)
    if not catalog.has(method):
        since = SINCE.get(method)
        where = f"; codex {since} has it" if since else ""
        raise CodexUsageError(f"codex {session.binary.version} does not offer {method}{where} (%codex call --help lists its methods)")
    takes = {p.name for p in catalog.params(method)}
    if "threadId" in takes and (params.get("threadId") is None or isinstance(params["threadId"], str)):  # else: the schema's error
        params = {**params, "threadId": session.resolve(params.get("threadId"))}
    catalog.validate(method, params)
    result = session.call(method, params)
    if isinstance(result, dict) and isinstance(result.get("thread"), dict) and "id" in result["thread"]:
        session._remember(result["thread"])
    return RpcResult(method, result)
