"""CodexState: the binary's sqlite state, read and (deliberately) edited, on disk and under pyfakefs; real binaries."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    CodexState,
    FakeCodexHome,
    MockResponsesServer,
    StateEditError,
    create_fake_rollout,
    create_final_assistant_message_sse_response,
    create_state_database,
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


def make_state(home):
    """A small state_5 + thread_history_1 pair shaped like the binary's (the columns the edits touch)."""
    with contextlib.closing(sqlite3.connect(home / "state_5.sqlite")) as db:
        db.execute("pragma journal_mode = wal")  # as the binary keeps it: edits must survive a -wal beside the file
        db.execute("create table threads (id text primary key, created_at integer, archived integer, title text)")
        db.execute("create table backfill_state (id integer primary key check (id = 1), status text not null, "
                   "last_watermark text, last_success_at integer, updated_at integer not null)")
        db.executemany("insert into threads values (?, ?, ?, ?)", [("a", 1, 0, "first"), ("b", 2, 0, "second")])
        db.execute("insert into backfill_state values (1, 'running', 'x', null, 5)")
        db.commit()
    with contextlib.closing(sqlite3.connect(home / "thread_history_1.sqlite")) as db:
        db.execute("create table thread_turns (thread_id text, turn_id text)")
        db.execute("create table thread_items (thread_id text, item_id text)")
        db.executemany("insert into thread_turns values (?, ?)", [("a", "t1"), ("b", "t2")])
        db.commit()


def test_edits_are_deliberate_transactions(tmp_path):
    home = tmp_path
    make_state(home)
    state = CodexState(home)
    assert state.update_thread("a", title="renamed", archived=1) == {"id": "a", "created_at": 1, "archived": 1, "title": "renamed"}
    with pytest.raises(StateEditError, match=r"threads has no column\(s\) nope"):
        state.update_thread("a", nope=1)
    with pytest.raises(StateEditError, match="no threads row for zzz"):
        state.update_thread("zzz", title="x")
    with pytest.raises(StateEditError, match="at least one column"):
        state.update_thread("a")
    with pytest.raises(RuntimeError), state.edit() as db:  # an error rolls the whole edit back
        db.execute("delete from threads")
        raise RuntimeError("boom")
    assert [t["id"] for t in state.threads()] == ["a", "b"]
    assert state.delete_thread("b") is True and state.delete_thread("b") is False
    with contextlib.closing(state.connect("thread_history")) as db:
        assert [tuple(r) for r in db.execute("select thread_id from thread_turns")] == [("a",)]
    row = state.mark_backfill_complete(at=100)
    assert (row["status"], row["last_success_at"], row["updated_at"], row["last_watermark"]) == ("complete", 100, 100, "x")
    assert state.columns("threads") == ["id", "created_at", "archived", "title"] and state.columns("missing") == []


def test_edits_work_on_a_fake_home_copied_from_a_real_one(tmp_path, fs):
    """sqlite cannot open pyfakefs files: reads go through an in-memory copy, edits are written back in one rename."""
    fs.pause()
    real = tmp_path / "real"
    real.mkdir()
    make_state(real)
    fs.resume()
    fake = FakeCodexHome("/fake/home")
    fake.copy_from(real)
    state = CodexState(fake.path)
    assert [t["title"] for t in state.threads()] == ["first", "second"]  # was "unable to open database file"
    with contextlib.closing(state.connect()) as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("delete from threads")
    state.update_thread("a", title="edited in the fake home")
    state.delete_thread("b")
    assert not (fake.path / "state_5.sqlite-wal").exists()  # merged into the file, not left stale beside it
    assert [(t["id"], t["title"]) for t in CodexState(fake.path).threads()] == [("a", "edited in the fake home")]
    fs.pause()
    out = tmp_path / "out"
    fs.resume()
    fake.materialize(out)
    fs.pause()
    try:  # the real disk sees the edit through plain sqlite
        with contextlib.closing(sqlite3.connect(out / "state_5.sqlite")) as db:
            assert db.execute("select id, title from threads").fetchall() == [("a", "edited in the fake home")]
    finally:
        fs.resume()


@pytest.mark.codex_binary
def test_state_database_without_a_turn_and_edits_the_binary_sees(real_codex):
    with MockResponsesServer() as server, CodexHome(server, fresh=True) as home:
        state = create_state_database(home.path, codex_bin=real_codex)
        assert state.path().name == "state_5.sqlite" and state.threads() == []
        assert state.mark_backfill_complete()["status"] == "complete"
        tid = create_fake_rollout(home.path, turns=[("hello", "hi")], codex_version=None if real_codex is None else "0.171.0")
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            app.initialize()
            assert [t["id"] for t in app.request("thread/list", {})["data"]] == [tid]
        assert state.thread(tid) is not None  # the binary wrote the fake's row on first sight
        state.update_thread(tid, title="set in the state")
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            app.initialize()
            assert app.request("thread/read", {"threadId": tid})["thread"]["name"] == "set in the state"
        assert state.delete_thread(tid)
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            app.initialize()
            read = app.request("thread/read", {"threadId": tid, "includeTurns": True})["thread"]
        assert read["preview"] == "hello" and len(read["turns"]) == 1  # the rollout is still the thread
        assert state.thread(tid) is not None  # and the binary put the row back


@pytest.mark.codex_binary
def test_state_of_a_real_home_copied_into_a_fake_one(tmp_path, fs):
    fs.pause()
    try:
        with MockResponsesServer() as server, CodexHome(server, path=tmp_path / "real") as home:
            server.enqueue(create_final_assistant_message_sse_response("ok"))
            with AppServerProcess(home.path) as app:
                app.initialize()
                tid = app.start_thread()["id"]
                app.run_turn(tid, "remember me")
    finally:
        fs.resume()
    fake = FakeCodexHome("/fake/home")
    fake.copy_from(tmp_path / "real")
    state = CodexState(fake.path)
    assert state.thread(tid)["first_user_message"] == "remember me"
    with contextlib.closing(state.connect("thread_history")) as db:
        assert db.execute("select count(*) from thread_items where thread_id = ?", (tid,)).fetchone()[0] == 2
    assert state.update_thread(tid, title="from the fake")["title"] == "from the fake"
