"""CodexState: the binary's sqlite state, read-only; stable columns checked on the real binaries."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    CodexState,
    MockResponsesServer,
    create_final_assistant_message_sse_response,
)
from codex_fixtures.home.state import STABLE_THREAD_COLUMNS


def make_db(path, rows=()):
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("create table threads (id text primary key, created_at integer, archived integer, title text)")
        db.executemany("insert into threads values (?, ?, ?, ?)", rows)
        db.commit()


def test_opens_the_newest_generation(tmp_path):
    make_db(tmp_path / "state_4.sqlite", [("old", 1, 0, "from 4")])
    make_db(tmp_path / "state_12.sqlite", [("b", 2, 1, "second"), ("a", 1, 0, "first")])
    (tmp_path / "state_x.sqlite").write_text("not a generation")
    state = CodexState(tmp_path)
    assert state.path().name == "state_12.sqlite"
    assert [t["id"] for t in state.threads()] == ["a", "b"]
    assert [t["id"] for t in state.threads(archived=True)] == ["b"]
    assert state.thread("a") == {"id": "a", "created_at": 1, "archived": 0, "title": "first"}
    assert state.thread("missing") is None
    assert state.tables() == ["threads"]


def test_connections_are_read_only(tmp_path):
    make_db(tmp_path / "state_5.sqlite")
    with contextlib.closing(CodexState(tmp_path).connect()) as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("insert into threads values ('x', 1, 0, 't')")


def test_missing_database_is_one_line(tmp_path):
    make_db(tmp_path / "logs_2.sqlite")
    with pytest.raises(FileNotFoundError, match=r"no state_N.sqlite in .* \(state databases present: logs\)"):
        CodexState(tmp_path).threads()
    with pytest.raises(ValueError, match="thread_id must be a non-empty string"):
        CodexState(tmp_path).thread("")


@pytest.mark.codex_binary
def test_state_sees_a_thread_after_its_first_turn(real_codex):
    with MockResponsesServer() as server, CodexHome(server) as home:
        server.enqueue(create_final_assistant_message_sse_response("ok"))
        state = CodexState(home.path)
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            app.initialize()
            thread = app.start_thread()
            assert state.thread(thread["id"]) is None  # thread/start alone writes no row
            app.run_turn(thread["id"], "count the rows")
            row = state.thread(thread["id"])  # read while the binary runs (WAL)
            assert row is not None
            with contextlib.closing(state.connect("thread_history")) as db:
                turns = db.execute("select count(*) from thread_turns").fetchone()[0]
        assert turns == 1
        assert state.path().name == "state_5.sqlite"
        assert set(STABLE_THREAD_COLUMNS) <= set(row)
        assert row["first_user_message"] == "count the rows"
        assert row["model_provider"] == "mock_provider" and row["archived"] == 0
        assert row["rollout_path"] == str(home.find(thread["id"]))
        assert [t["id"] for t in state.threads()] == [thread["id"]]
        assert {"threads", "thread_spawn_edges", "thread_sections"} <= set(state.tables())
        server.check()
