"""Time: a spec's ``started_at`` and a turn's ``at`` are what the binary serves and what the home holds.

The build runs on the real clock (the linux binaries are static-pie musl: an
``LD_PRELOAD`` clock faker never loads, checked below) and the closed home is
rewritten; these tests show a fresh app-server accepts and serves the rewritten
home: ``thread/list`` (active and archived), ``thread/read {includeTurns}``,
``thread/turns/list``, resume + a new turn; and that the files say the same
(rollout name and date folders, record timestamps, ``session_index.jsonl``, sqlite rows).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexBinary,
    HomeSpec,
    MockResponsesServer,
    SpecTurn,
    build_home,
    create_final_assistant_message_sse_response,
    read_rollout,
)
from codex_fixtures.homebuild.cache import HomeCache
from codex_fixtures.homebuild.clock import NOMINAL_STEP_MS
from homebuild_observe import rollout_of

pytestmark = pytest.mark.codex_binary
UTC = UTC
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2024, 3, 1, 12, 5, tzinfo=timezone(timedelta(hours=2)))  # 10:05 UTC, given in +02:00
T_FORK = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
T_OLD = datetime(2023, 1, 1, tzinfo=UTC)


def ts(when: datetime) -> int:
    return int(when.timestamp())


def timed_spec() -> tuple[HomeSpec, list]:
    spec = HomeSpec()
    notes = spec.thread(turns=[("hi", "hello"), SpecTurn("later", "yes", at=T1), ("right after", "ok")], name="notes",
                        started_at=T0)
    fork = spec.fork(notes, turns=[("in fork", "forked")], started_at=T_FORK)
    old = spec.thread(turns=[("old one", "old")], archived=True, started_at=T_OLD)
    now = spec.thread(turns=[("today", "now")])
    return spec, [notes, fork, old, now]


@pytest.fixture(scope="module")
def timed_home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    binary = request.getfixturevalue("codex_binary")
    spec, refs = timed_spec()
    before = datetime.now(UTC)
    cache = HomeCache(tmp_path_factory.mktemp("cache"))
    built = build_home(spec, tmp_path_factory.mktemp("timed") / "home", codex_bin=binary.path, cache=cache)
    return binary, built, refs, before, cache


@pytest.fixture(scope="module")
def codex_binary(request: pytest.FixtureRequest) -> CodexBinary:  # module scope for the module-scoped home
    from codex_fixtures import codex_binary_info, resolve_codex_bin

    return codex_binary_info(resolve_codex_bin(option=request.config.getoption("--codex-bin") or None))


def test_the_files_say_the_spec_times(timed_home) -> None:
    binary, built, (notes, fork, old, now), _, _ = timed_home
    path = rollout_of(built.path, built.id(notes))
    assert path.name.startswith("rollout-2024-03-01T10-00-00-")
    assert path.parent == built.path / "sessions" / "2024" / "03" / "01"
    stamps = [datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r in read_rollout(path)]
    assert stamps[0] >= T0 and stamps[-1] < T1 + timedelta(seconds=60)
    assert any(T1 <= s < T1 + timedelta(seconds=60) for s in stamps)
    assert rollout_of(built.path, built.id(old)).name.startswith("rollout-2023-01-01T00-00-00-")
    assert datetime.fromtimestamp(path.stat().st_mtime, UTC) < T1 + timedelta(seconds=60)
    index = built.path / "session_index.jsonl"
    if index.exists():
        names = {e["id"]: e for e in map(json.loads, index.read_text().splitlines())}
        assert names[built.id(notes)]["updated_at"].startswith("2024-03-01T10:05:")
    state = built.path / "state_5.sqlite"
    if state.exists():
        with sqlite3.connect(state) as con:
            created = dict(con.execute("SELECT id, created_at FROM threads").fetchall())
        assert created[built.id(notes)] == ts(T0)
        assert created[built.id(old)] == ts(T_OLD)


def test_the_binary_serves_the_spec_times(timed_home, tmp_path: Path) -> None:
    """On a copy from the cache (the module's home stays as built), pointed at a mock of its own."""
    binary, first, (notes, fork, old, now), before, cache = timed_home
    with MockResponsesServer() as server:
        built = build_home(first.spec, tmp_path / "copy", codex_bin=binary.path, server=server, cache=cache)
        assert built.from_cache and built.thread_ids == first.thread_ids
        with AppServerProcess(built.path, codex_bin=binary.path) as app:
            app.initialize()
            listed = {t["id"]: t for t in app.request("thread/list", {})["data"]}
            archived = {t["id"]: t for t in app.request("thread/list", {"archived": True})["data"]}
            assert listed[built.id(notes)]["createdAt"] == ts(T0)
            assert ts(T1) <= listed[built.id(notes)]["updatedAt"] < ts(T1) + 60
            assert listed[built.id(fork)]["createdAt"] == ts(T_FORK)
            assert archived[built.id(old)]["createdAt"] == ts(T_OLD)
            # no time asked: right after the step before it (old's start, old's turn: NOMINAL_STEP_MS each)
            assert listed[built.id(now)]["createdAt"] == ts(T_OLD) + 2 * NOMINAL_STEP_MS // 1000
            assert [t["id"] for t in app.request("thread/list", {"sortKey": "created_at"})["data"]][:3] == [
                built.id(fork), built.id(notes), built.id(now)]
            if binary.has_method("thread/turns/list"):
                turns = app.request("thread/read", {"threadId": built.id(notes), "includeTurns": True})["thread"]["turns"]
                starts = [t["startedAt"] for t in turns]
                assert ts(T0) <= starts[0] < ts(T0) + 60  # the first turn follows the start (as long after as in the build)
                assert starts[1] == ts(T1)
                assert ts(T1) <= starts[2] < ts(T1) + 60
                paged = app.request("thread/turns/list", {"threadId": built.id(notes)})["data"]
                assert sorted(t["startedAt"] for t in paged) == sorted(starts)
                assert [t["startedAt"] for t in app.request(
                    "thread/read", {"threadId": built.id(fork), "includeTurns": True})["thread"]["turns"]][-1] < ts(T_FORK) + 60
            app.request("thread/resume", {"threadId": built.id(notes)})  # the binary takes the rewritten home on
            server.enqueue(create_final_assistant_message_sse_response("again"))
            turn = app.run_turn(built.id(notes), "once more", 60)
            assert turn["status"] == "completed"
            after = {t["id"]: t for t in app.request("thread/list", {})["data"]}
            assert after[built.id(notes)]["createdAt"] == ts(T0)
            assert after[built.id(notes)]["updatedAt"] >= ts(before) - 1


def test_an_ld_preload_clock_faker_cannot_reach_the_binary(timed_home) -> None:
    """Why the home is rewritten: the binary is statically linked (no dynamic loader, no LD_PRELOAD)."""
    binary = timed_home[0]
    head = Path(binary.path).read_bytes()[:4096]
    assert head[:4] == b"\x7fELF"
    assert b"ld-linux" not in head and b"/lib/ld-musl" not in head, "a dynamic loader: a clock faker might work here"


def test_a_creation_stamped_with_two_seconds_is_seen(tmp_path: Path) -> None:
    """A thread/start that crosses a second: file name, session_meta and answer disagree, no shift fits them all."""
    from codex_fixtures.homebuild.drive import creation_seconds

    tid = "01a24cc4-801d-7d03-b74b-48dc8e2b25d0"
    day = tmp_path / "sessions" / "2026" / "12" / "06"
    day.mkdir(parents=True)
    meta = {"timestamp": "2026-12-06T19:10:14.019Z", "type": "session_meta",
            "payload": {"id": tid, "timestamp": "2026-12-06T19:10:14.001Z"}}
    (day / f"rollout-2026-12-06T19-10-13-{tid}.jsonl").write_text(json.dumps(meta) + "\n")
    second = ts(datetime(2026, 12, 6, 19, 10, 14, tzinfo=UTC))
    assert creation_seconds(tmp_path, tid, second) == {second - 1, second}
    (day / f"rollout-2026-12-06T19-10-13-{tid}.jsonl").rename(day / f"rollout-2026-12-06T19-10-14-{tid}.jsonl")
    assert creation_seconds(tmp_path, tid, second) == {second}


def test_a_drive_with_a_split_creation_is_driven_again_in_an_empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      codex_binary: CodexBinary) -> None:
    from codex_fixtures.homebuild import build as build_mod

    calls: list[list[str]] = []
    real_split = build_mod.split_creations

    def split_once(home: Path, result) -> list[str]:
        calls.append(sorted(p.name for p in home.iterdir()))
        return ["pretend"] if len(calls) == 1 else real_split(home, result)

    monkeypatch.setattr(build_mod, "split_creations", split_once)
    spec = HomeSpec()
    ref = spec.thread(turns=[("hi", "hello")], started_at=T0)
    built = build_home(spec, tmp_path / "home", codex_bin=codex_binary.path, cache=HomeCache(tmp_path / "cache"))
    assert len(calls) == 2 and "sessions" in calls[0] and "sessions" in calls[1]
    (path,) = [p for p in (built.path / "sessions").rglob("*.jsonl")]  # one thread: the first drive left nothing
    assert path.name.startswith("rollout-2024-03-01T10-00-00-") and built.id(ref) in path.name
