"""What the binary shows of a home, normalized so two homes with the same threads compare equal.

Shared by the home-builder tests: ids become ``<id0>``, ``<id1>``, ... in order of
first appearance, times and durations are masked (times have their own tests),
paths are made relative to the home, rollout file names lose their timestamp.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from codex_fixtures import (
    AppServerProcess,
    CodexBinary,
    JSONRPCRemoteError,
    MockResponsesServer,
    create_final_assistant_message_sse_response,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    rollout_record_kinds,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROLLOUT_TS = re.compile(r"(\d{4}/\d{2}/\d{2}/)?rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-")
TIME_KEYS = {"createdAt", "updatedAt", "recencyAt", "startedAt", "completedAt", "durationMs", "startedAtMs",
             "completedAtMs", "updated_at", "processId", "sectionEnteredAt"}


class Normalizer:
    """Masks ids, times and home paths in JSON values (one instance per home: ids numbered in order)."""

    def __init__(self, home: Path, cwd: str | None = None) -> None:
        self.home = str(home)
        self.cwd = cwd
        self.ids: dict[str, str] = {}

    def text(self, value: str) -> str:
        value = value.replace(self.home, "<home>")
        if self.cwd:
            value = value.replace(self.cwd, "<cwd>")
        value = ROLLOUT_TS.sub("rollout-<ts>-", value)
        return UUID.sub(lambda m: self.ids.setdefault(m.group(0), f"<id{len(self.ids)}>"), value)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("<t>" if k in TIME_KEYS and v is not None else self(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def answer(app: AppServerProcess, method: str, params: dict[str, Any], key: str) -> Any:
    """The result's ``key``, or the error the binary answered (what a binary refuses must be refused for both homes)."""
    try:
        return app.request(method, params)[key]
    except JSONRPCRemoteError as exc:
        return {"error": str(exc).splitlines()[0]}


def rollout_of(home: Path, thread_id: str) -> Path:
    path = find_thread_path_by_id_str(home, thread_id) or find_archived_thread_path_by_id_str(home, thread_id)
    assert path is not None, f"no rollout for {thread_id} in {home}"
    return path


def observe(binary: CodexBinary, home: Path, ids: list[str], server: MockResponsesServer, *,
            resume: int = 0, cwd: str | None = None) -> dict[str, Any]:
    """Everything a fresh app-server shows of ``home``'s threads ``ids``, then a resumed thread's new turn (``cwd`` masked)."""
    norm = Normalizer(home, cwd)
    for thread_id in ids:  # number the threads in spec order first
        norm.text(thread_id)
    seen: dict[str, Any] = {}
    with AppServerProcess(home, codex_bin=binary.path, approvals="accept") as app:
        app.initialize()
        seen["list"] = norm(app.request("thread/list", {})["data"])
        seen["list_archived"] = norm(app.request("thread/list", {"archived": True})["data"])
        for n, thread_id in enumerate(ids):
            seen[f"read{n}"] = norm(answer(app, "thread/read", {"threadId": thread_id, "includeTurns": True}, "thread"))
            if binary.has_method("thread/turns/list"):
                seen[f"turns{n}"] = norm(answer(app, "thread/turns/list", {"threadId": thread_id}, "data"))
        target = ids[resume]
        seen["resume"] = norm(app.request("thread/resume", {"threadId": target})["thread"])
        server.enqueue(create_final_assistant_message_sse_response("again"))
        seen["new_turn"] = norm(app.run_turn(target, "once more", 60))
        seen["after"] = norm(app.request("thread/read", {"threadId": target, "includeTurns": True})["thread"])
    seen["kinds"] = [rollout_record_kinds(rollout_of(home, t)) for t in ids]
    index = home / "session_index.jsonl"
    seen["session_index"] = [norm(json.loads(line)) for line in index.read_text().splitlines()] if index.exists() else []
    return seen
