"""What the real binary does with rollout files (reference §1-§4), through the plugin fixtures.

Each test asserts the *observed* behaviour of the bundled binary (0.163.0);
where it differs from what the on-demand materialization change intended,
the docstring says so (the ``codex-repro`` scenarios report the difference).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from codex_fixtures import (
    ARCHIVED_SESSIONS_SUBDIR,
    AppServerProcess,
    JSONRPCRemoteError,
    MockResponsesServer,
    create_exec_command_sse_response,
    create_final_assistant_message_sse_response,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
    read_rollout,
)

T = 10.0


@pytest.fixture(autouse=True)
def observed_on_0_163_and_later(request: pytest.FixtureRequest) -> None:
    """These tests pin what 0.163.0 (and 0.171.0) do; 0.101.0 differs (no ``ephemeral`` field, ``thread/archive``
    refuses a thread with no rollout yet): ``codex-repro run`` reports those differences, scenario by scenario."""
    if "codex_app_server" in request.fixturenames:
        binary = request.getfixturevalue("codex_binary")
        if binary.version_tuple[:2] < (0, 163):
            pytest.skip(f"pins 0.163+ behaviour; codex {binary.version} differs (see `codex-repro run`)")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error_of(app: AppServerProcess, method: str, params: dict) -> tuple[int, str]:
    err = app.read_stream_until_error_message(app.send_request(method, params), timeout=T)
    return err.code, err.message


def test_start_reports_future_path_and_writes_nothing(codex_app_server, codex_home):
    thread = codex_app_server.start_thread({"model": "mock-model"})
    path = Path(thread["path"])
    assert path.is_absolute() and not path.exists()
    assert path.parent.relative_to(codex_home / "sessions")  # sessions/YYYY/MM/DD
    assert path.name.endswith(f"-{thread['id']}.jsonl")
    assert thread["ephemeral"] is False and thread["status"] == {"type": "idle"}
    assert not (codex_home / "sessions").exists()
    assert find_thread_path_by_id_str(codex_home, thread["id"]) is None
    # reading metadata does not materialize either
    read = codex_app_server.request("thread/read", {"threadId": thread["id"]}, timeout=T)["thread"]
    assert read["path"] == thread["path"] and read["turns"] == []
    assert not path.exists()


def test_first_completed_turn_writes_the_rollout_at_that_path(codex_app_server, codex_home, codex_responses):
    thread = codex_app_server.start_thread({"model": "mock-model"})
    turn = codex_app_server.run_turn(thread["id"], "hello", timeout=T)
    assert turn["status"] == "completed"
    path = Path(thread["path"])
    assert find_thread_path_by_id_str(codex_home, thread["id"]) == path
    records = read_rollout(path)
    assert records[0]["type"] == "session_meta"
    assert records[0]["payload"]["id"] == thread["id"]
    assert len(codex_responses.requests) == 1
    assert "hello" in codex_responses.requests[0].message_input_texts("user")


def test_archive_of_just_started_thread_materializes_into_archived_sessions(codex_app_server, codex_home):
    """0.163.0: succeeds and writes a one-line session_meta file straight into archived_sessions/."""
    thread = codex_app_server.start_thread({"model": "mock-model"})
    assert codex_app_server.request("thread/archive", {"threadId": thread["id"]}, timeout=T) == {}
    note = codex_app_server.read_stream_until_notification_message("thread/archived", timeout=T)
    assert note.params == {"threadId": thread["id"]}
    archived = find_archived_thread_path_by_id_str(codex_home, thread["id"])
    assert archived is not None and archived.parent == codex_home / ARCHIVED_SESSIONS_SUBDIR
    assert archived.name == Path(thread["path"]).name
    assert [r["type"] for r in read_rollout(archived)] == ["session_meta"]
    assert list_rollouts(codex_home) == []
    # archive twice: the thread has no active rollout any more
    code, message = error_of(codex_app_server, "thread/archive", {"threadId": thread["id"]})
    assert (code, message) == (-32600, f"no rollout found for thread id {thread['id']}")


def test_unarchive_restores_original_path_then_resume_and_turn_work(codex_app_server, codex_home):
    thread = codex_app_server.start_thread({"model": "mock-model"})
    codex_app_server.request("thread/archive", {"threadId": thread["id"]}, timeout=T)
    archived = find_archived_thread_path_by_id_str(codex_home, thread["id"])
    digest = sha(archived)
    result = codex_app_server.request("thread/unarchive", {"threadId": thread["id"]}, timeout=T)
    assert result["thread"]["status"] == {"type": "notLoaded"}
    restored = Path(thread["path"])
    assert restored.exists() and sha(restored) == digest
    assert find_archived_thread_path_by_id_str(codex_home, thread["id"]) is None
    # a turn needs the thread loaded again: not found until resume
    code, message = error_of(codex_app_server, "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "x"}]})
    assert (code, message) == (-32600, f"thread not found: {thread['id']}")
    codex_app_server.request("thread/resume", {"threadId": thread["id"]}, timeout=T)
    assert codex_app_server.run_turn(thread["id"], "after unarchive", timeout=T)["status"] == "completed"
    assert len(read_rollout(restored)) > 1


@pytest.mark.parametrize("method", ["thread/resume", "thread/fork"])
def test_resume_and_fork_of_just_started_thread_fail(codex_app_server, codex_home, method):
    """0.163.0 differs from the change's intent: no on-demand materialization for resume/fork."""
    thread = codex_app_server.start_thread({"model": "mock-model"})
    code, message = error_of(codex_app_server, method, {"threadId": thread["id"]})
    assert (code, message) == (-32600, f"no rollout found for thread id {thread['id']}")
    assert not Path(thread["path"]).exists()


def test_ephemeral_thread_is_pathless_and_rejects_rollout_operations(codex_app_server, codex_home):
    thread = codex_app_server.start_thread({"model": "mock-model", "ephemeral": True})
    assert thread["ephemeral"] is True and thread["path"] is None
    assert codex_app_server.run_turn(thread["id"], "hi", timeout=T)["status"] == "completed"
    for method in ("thread/archive", "thread/resume", "thread/fork"):
        code, _ = error_of(codex_app_server, method, {"threadId": thread["id"]})
        assert code == -32600, method
    assert list_rollouts(codex_home, archived=None) == []


def test_revert_after_two_turns_writes_a_segment_and_keeps_the_original(codex_app_server, codex_home, codex_binary, codex_responses):
    if not codex_binary.has_method("thread/revert"):
        pytest.skip(f"{codex_binary.describe()} has no thread/revert")
    thread = codex_app_server.start_thread({"model": "mock-model"})
    codex_app_server.run_turn(thread["id"], "first", timeout=T)
    second = codex_app_server.run_turn(thread["id"], "second", timeout=T)
    base = Path(thread["path"])
    digest = sha(base)
    result = codex_app_server.request("thread/revert", {"threadId": thread["id"], "beforeTurnId": second["id"]}, timeout=T)
    assert sha(base) == digest
    segments = [r for r in list_rollouts(codex_home) if r.is_segment]
    assert len(segments) == 1 and str(segments[0].path) == result["thread"]["path"]
    assert read_rollout(segments[0].path)[0]["payload"]["history_base"]["thread_id"] == thread["id"]
    turns = codex_app_server.request("thread/read", {"threadId": thread["id"], "includeTurns": True}, timeout=T)["thread"]["turns"]
    assert len(turns) == 1
    # the next model request carries only the kept history
    codex_app_server.run_turn(thread["id"], "third", timeout=T)
    texts = codex_responses.requests[-1].message_input_texts("user")
    assert "first" in texts and "third" in texts and "second" not in texts


def test_concurrent_archives_one_success_bytes_intact(codex_app_server, codex_home):
    thread = codex_app_server.start_thread({"model": "mock-model"})
    codex_app_server.run_turn(thread["id"], "keep me", timeout=T)
    digest = sha(Path(thread["path"]))
    ids = [codex_app_server.send_thread_archive_request({"threadId": thread["id"]}) for _ in range(10)]
    answers = [codex_app_server.read_stream_until_response_or_error(i, timeout=T) for i in ids]
    successes = [a for a in answers if not hasattr(a, "code")]
    assert len(successes) == 1, answers
    archived = find_archived_thread_path_by_id_str(codex_home, thread["id"])
    assert archived is not None and sha(archived) == digest


def test_remote_error_carries_code_and_stderr(codex_app_server):
    with pytest.raises(JSONRPCRemoteError) as info:
        codex_app_server.request("thread/fork", {"threadId": "01a211aa-2da7-7ee1-9f81-37469a8e85ed"}, timeout=T)
    assert info.value.code == -32600 and info.value.method == "thread/fork"


def test_several_app_servers_stream_at_once(codex_responses, codex_home, codex_binary):
    """Two processes on one CODEX_HOME stream from one mock server at once; both turns complete.

    The second process is spawned after the first finished ``initialize``:
    two processes starting together on one fresh home race the sqlite state
    initialization and one exits ("failed to initialize sqlite state runtime").
    """
    results = []
    with AppServerProcess(codex_home, codex_bin=codex_binary.path) as a:
        a.initialize(timeout=T)
        with AppServerProcess(codex_home, codex_bin=codex_binary.path) as b:
            b.initialize(timeout=T)
            ta, tb = a.start_thread({}), b.start_thread({})
            ra = a.send_turn_start_request({"threadId": ta["id"], "input": [{"type": "text", "text": "a"}]})
            rb = b.send_turn_start_request({"threadId": tb["id"], "input": [{"type": "text", "text": "b"}]})
            for app, rid in ((a, ra), (b, rb)):
                app.read_stream_until_response_message(rid, timeout=T)
                results.append(app.read_stream_until_notification_message("turn/completed", timeout=T).params["turn"]["status"])
    assert results == ["completed", "completed"]
    assert isinstance(codex_responses, MockResponsesServer) and len(codex_responses.requests) == 2


def test_interrupt_a_held_turn_waits_for_that_turns_completion(codex_app_server, codex_responses):
    from codex_fixtures import Gate, ev_assistant_message, ev_completed, ev_response_created

    gate = Gate(after=3)
    codex_responses.enqueue([ev_response_created("r"), *ev_assistant_message("m", "held reply", streamed=True), ev_completed("r")], gate=gate)
    thread = codex_app_server.start_thread()
    turn = codex_app_server.request("turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "wait"}]}, timeout=T)["turn"]
    assert gate.wait_reached(T), "the model stream never reached the gate"
    done = codex_app_server.interrupt_turn_and_wait_for_aborted(thread["id"], turn["id"], timeout=T)
    assert done.params["turn"]["id"] == turn["id"] and done.params["turn"]["status"] == "interrupted"
    gate.release()
    # the next turn on the same thread works
    assert codex_app_server.run_turn(thread["id"], "again", timeout=T)["status"] == "completed"


@pytest.mark.codex(responses=[
    create_exec_command_sse_response("echo hi", call_id="call-1"),
    create_final_assistant_message_sse_response("done"),
])
def test_tool_call_round_trip_keeps_calls_and_outputs_paired(codex_app_server, codex_responses):
    """The binary answers a tool call in the next request; the mock checks the pairing on every request."""
    thread = codex_app_server.start_thread()
    assert codex_app_server.run_turn(thread["id"], "run it", timeout=T)["status"] == "completed"
    second = codex_responses.requests[1]
    assert second.function_call_output("call-1") is not None
    assert second.call_pairing_problems() == []
    assert codex_responses.problems == []
    assert "exec_command" in second.tool_names()
    assert second.instructions_text() is None  # base instructions travel as a developer message
