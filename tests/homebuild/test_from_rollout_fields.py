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

import pytest
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


def _state(home: Path) -> dict[str, tuple]:
    dbs = sorted(home.glob("state_*.sqlite"))
    if not dbs:
        return {}
    with sqlite3.connect(dbs[-1]) as con:
        cols = {r[1] for r in con.execute("PRAGMA table_info(threads)")}
        if "archived_at" not in cols:
            return {}
        rows = {r[0]: r[1:] for r in con.execute("SELECT id, tokens_used, archived, archived_at FROM threads")}
    con.close()
    return rows


@pytest.mark.codex_binary
def test_usage_justifications_and_archive_time_survive_a_round_trip_through_the_binary(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A home the binary wrote from a spec with them gives them back (from_home), and a rebuild writes the same."""
    from codex_fixtures import SpecCommand, SpecTurn, build_home
    from codex_fixtures.homebuild.cache import HomeCache

    codex_bin = request.config.getoption("--codex-bin") or None
    t0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    archived_at = datetime(2024, 3, 2, 8, 30, 15, tzinfo=UTC)
    spec = HomeSpec()
    spec.thread(turns=[SpecTurn("look", "seen", commands=[SpecCommand("echo hi", "to greet")], at=t0,
                                usage=SpecUsage(120, 20, 30, 4)),
                       SpecTurn("again", "ok", usage={"input_tokens": 200, "output_tokens": 10})],
                started_at=t0, archived=archived_at, approval_policy="on-request", sandbox="read-only")
    cache = HomeCache(tmp_path / "cache")
    original = build_home(spec, tmp_path / "original", codex_bin=codex_bin, cache=cache)
    back = HomeSpec.from_home(original.path)
    (thread,) = back.threads
    assert [t.usage for t in thread.turns] == [SpecUsage(120, 20, 30, 4), SpecUsage(200, 0, 10, 0)]
    assert [c.justification for c in thread.turns[0].commands] == ["to greet"]
    state = _state(original.path)
    if state:  # 0.163+: the archive time is in the state database
        assert thread.archived == archived_at
    else:  # 0.101 keeps no archive time: archived, after every other step
        assert thread.archived is True
    rebuilt = build_home(back, tmp_path / "rebuilt", codex_bin=codex_bin, cache=cache)
    if state:
        assert list(_state(rebuilt.path).values()) == list(state.values())  # tokens_used, archived, archived_at
