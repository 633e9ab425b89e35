"""Calibration: a home ``build_home`` wrote is, to the binary, the home a direct drive of the same threads writes.

One spec with a named two-turn thread, a tool-call thread (on-request, approved),
a fork of the named thread with a turn of its own, and an archived thread. The
same threads are driven by hand (plain ``AppServerProcess`` calls, not the
builder), and a fresh app-server on each home must show the same thing:
``thread/list`` (active and archived), ``thread/read {includeTurns}``,
``thread/turns/list`` (where the binary has it), resume + a new turn, names,
the record kinds of every rollout and ``session_index.jsonl``.

On the bundled binary in the suite; ``--codex-bin=`` runs it on any other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexBinary,
    CodexHome,
    HomeSpec,
    MockResponsesServer,
    SpecTurn,
    build_home,
    create_exec_command_sse_response,
    create_final_assistant_message_sse_response,
)
from codex_fixtures.homebuild.build import default_cwd
from codex_fixtures.homebuild.cache import HomeCache
from homebuild_observe import observe

pytestmark = pytest.mark.codex_binary


def calibration_spec() -> HomeSpec:
    spec = HomeSpec()
    notes = spec.thread(turns=[("hi", "hello"), ("more", "sure")], name="notes")
    spec.thread(turns=[SpecTurn("run it", "ran", commands=["echo tool"])], approval_policy="on-request", sandbox="read-only")
    spec.fork(notes, turns=[("in fork", "forked")])
    spec.thread(turns=[("old one", "old")], archived=True)
    return spec


def drive_directly(binary: CodexBinary, home: Path, server: MockResponsesServer) -> list[str]:
    """The calibration spec's threads, driven by hand."""
    cwd = default_cwd()
    final = create_final_assistant_message_sse_response
    with AppServerProcess(home, codex_bin=binary.path, approvals="accept") as app:
        app.initialize()
        notes = app.start_thread({"cwd": cwd})["id"]
        server.enqueue(final("hello"))
        app.run_turn(notes, "hi", 60)
        server.enqueue(final("sure"))
        app.run_turn(notes, "more", 60)
        app.request("thread/name/set", {"threadId": notes, "name": "notes"})
        tool = app.start_thread({"cwd": cwd, "approvalPolicy": "on-request", "sandbox": "read-only"})["id"]
        server.enqueue(create_exec_command_sse_response("echo tool", call_id="call-1-0-0", escalate=True, justification="spec"))
        server.enqueue(final("ran"))
        assert app.run_turn(tool, "run it", 60)["status"] == "completed"
        fork = app.request("thread/fork", {"threadId": notes, "cwd": cwd})["thread"]["id"]
        server.enqueue(final("forked"))
        app.run_turn(fork, "in fork", 60)
        old = app.start_thread({"cwd": cwd})["id"]
        server.enqueue(final("old"))
        app.run_turn(old, "old one", 60)
        app.request("thread/archive", {"threadId": old})
    return [notes, tool, fork, old]


@pytest.fixture
def built_and_direct(codex_binary: CodexBinary, tmp_path: Path) -> tuple[dict, dict]:
    spec = calibration_spec()
    with MockResponsesServer() as server:
        built = build_home(spec, tmp_path / "built", codex_bin=codex_binary.path, server=server, cache=HomeCache(tmp_path / "cache"))
        ids = [built.id(ref) for ref in spec.refs()]
        seen_built = observe(codex_binary, built.path, ids, server)
    with MockResponsesServer() as server, CodexHome(server, path=tmp_path / "direct", fresh=True) as home:
        direct_ids = drive_directly(codex_binary, home.path, server)
        seen_direct = observe(codex_binary, home.path, direct_ids, server)
    return seen_built, seen_direct


def test_a_built_home_shows_what_a_directly_driven_home_shows(built_and_direct: tuple[dict, dict]) -> None:
    seen_built, seen_direct = built_and_direct
    assert seen_built.keys() == seen_direct.keys()
    for key in seen_direct:
        assert seen_built[key] == seen_direct[key], key


def test_the_built_home_holds_what_the_spec_asked(built_and_direct: tuple[dict, dict], codex_binary: CodexBinary) -> None:
    seen, _ = built_and_direct
    listed = {t["id"]: t for t in seen["list"]}
    assert set(listed) == {"<id0>", "<id1>", "<id2>"}
    assert [t["id"] for t in seen["list_archived"]] == ["<id3>"]
    assert seen["read1"]["turns"][0]["status"] == "completed"
    if codex_binary.version_tuple >= (0, 163, 0):  # command items, fork ids and names served on current binaries
        assert [i["type"] for t in seen["read1"]["turns"] for i in t["items"]] == ["userMessage", "commandExecution", "agentMessage"]
        assert seen["read1"]["turns"][0]["items"][1]["aggregatedOutput"] == "tool\n"
        assert seen["read2"]["forkedFromId"] == "<id0>"
        assert listed["<id0>"]["name"] == "notes"
        assert {"id": "<id0>", "thread_name": "notes", "updated_at": "<t>"} in seen["session_index"]
    assert seen["new_turn"]["status"] == "completed"
