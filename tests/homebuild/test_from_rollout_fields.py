"""``from_rollout`` keeps what readers read (issue 24, item 3): token usage, justifications, the archive time.

Synthetic rollouts in the binary's shapes: ``event_msg/token_count`` with running totals
(a turn's usage is what its totals grew by), ``exec_command`` arguments with a
``justification``, and a home whose state database has ``threads.archived_at`` (0.163+).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_fixtures import HomeSpec, SpecUsage

A = "019a0000-0000-7000-8000-00000000000a"
TS = "2024-03-01T10:00:00.000Z"


def _rec(kind: str, payload: Any, ts: str = TS) -> dict[str, Any]:
    return {"timestamp": ts, "type": kind, "payload": payload}


def _tokens(inp: int, cached: int, out: int, reasoning: int) -> dict[str, Any]:
    total = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
             "reasoning_output_tokens": reasoning, "total_tokens": inp + out}
    return _rec("event_msg", {"type": "token_count", "info": {"total_token_usage": total, "last_token_usage": total}})


def _records() -> list[dict[str, Any]]:
    call = {"type": "function_call", "name": "exec_command", "call_id": "c1",
            "arguments": json.dumps({"cmd": "ls -la", "justification": "to see the files"})}
    return [
        _rec("session_meta", {"id": A, "timestamp": TS, "cwd": "/", "cli_version": "0.171.0"}),
        _rec("event_msg", {"type": "task_started", "turn_id": "t1"}),
        _rec("event_msg", {"type": "user_message", "message": "first"}),
        _rec("response_item", call),
        _rec("response_item", {"type": "function_call_output", "call_id": "c1",
                               "output": "Chunk ID: x\nWall time: 0.01 seconds\nProcess exited with code 0\n"
                                         "Original token count: 2\nOutput:\nfile\n"}),
        _tokens(100, 40, 20, 5),
        _rec("response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]}),
        _tokens(250, 90, 50, 5),
        _rec("event_msg", {"type": "task_started", "turn_id": "t2"}, "2024-03-01T10:01:00.000Z"),
        _rec("event_msg", {"type": "user_message", "message": "second"}, "2024-03-01T10:01:00.000Z"),
        _rec("response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "b"}]}),
        _tokens(400, 100, 60, 5),
    ]


def _home(tmp_path: Path, archived: bool) -> Path:
    home = tmp_path / "home"
    day = home / ("archived_sessions" if archived else "sessions/2024/03/01")
    day.mkdir(parents=True)
    path = day / f"rollout-2024-03-01T10-00-00-{A}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    return path


def test_usage_and_justifications_are_kept(tmp_path: Path) -> None:
    spec = HomeSpec.from_rollout(_home(tmp_path, archived=False))
    first, second = spec.threads[0].turns
    assert first.usage == SpecUsage(250, 90, 50, 5)  # the turn's growth of the running totals (two responses)
    assert second.usage == SpecUsage(150, 10, 10, 0)
    (command,) = first.commands
    assert command.justification == "to see the files"  # the model's text, not "spec"
    assert str(command) == "printf '%s' 'file\n'"  # a stand-in printing the recorded output
    trusted = HomeSpec.from_rollout(_home(tmp_path / "b", archived=False), run_commands=True)
    assert str(trusted.threads[0].turns[0].commands[0]) == "ls -la"
    assert trusted.threads[0].turns[0].commands[0].justification == "to see the files"


def test_the_archive_time_comes_from_the_homes_state_database(tmp_path: Path) -> None:
    path = _home(tmp_path, archived=True)
    home = tmp_path / "home"
    assert HomeSpec.from_rollout(path).threads[0].archived is True  # no state database: archived, time unknown
    when = datetime(2024, 3, 5, 12, 0, 7, tzinfo=UTC)
    with sqlite3.connect(home / "state_5.sqlite") as con:
        con.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, archived INTEGER, archived_at INTEGER)")
        con.execute("INSERT INTO threads VALUES (?, 1, ?)", (A, int(when.timestamp())))
    con.close()
    before = sorted(p.name for p in home.iterdir())
    spec = HomeSpec.from_rollout(path)
    assert spec.threads[0].archived == when
    assert sorted(p.name for p in home.iterdir()) == before  # the user's home is not written to (no -shm, no -wal)
    assert HomeSpec.from_home(home).threads[0].archived == when
