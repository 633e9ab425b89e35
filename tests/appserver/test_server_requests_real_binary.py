"""Approvals against the real binary: an escalated ``exec_command`` under ``on-request`` + ``workspace-write``.

Measured on 0.101.0, 0.163.0 and 0.171.0: the server asks with
``item/commandExecution/requestApproval`` (``itemId`` = the call id, ``reason`` =
the justification, ``command`` = ``/bin/bash -lc '<cmd>'``); ``accept`` runs the
command in the thread's cwd, ``decline`` answers the model ``... Rejected("rejected by
user")`` and the turn completes; an execpolicy amendment is written to
``CODEX_HOME/rules/default.rules``. The v1 API (``newConversation``, 0.101.0 only)
asks with ``execCommandApproval`` and takes ``approved`` / ``denied``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexBinary,
    JSONRPCRequest,
    create_exec_command_sse_response,
    create_final_assistant_message_sse_response,
)
from codex_fixtures.appserver.websocket import supports_websocket_auth

pytestmark = [
    pytest.mark.codex_binary,
    pytest.mark.codex(
        config={"approval_policy": "on-request", "sandbox_mode": "workspace-write"},
        responses=[
            create_exec_command_sse_response("touch marker.txt", escalate=True, justification="the test needs a marker"),
            create_final_assistant_message_sse_response("done"),
        ],
    ),
]

T = 30.0
APPROVAL = "item/commandExecution/requestApproval"


@pytest.fixture
def start_app(codex_binary: CodexBinary, codex_home: Path, tmp_path: Path) -> Iterator[Callable[..., AppServerProcess]]:
    """Start an initialized app-server on ``codex_home`` with ``approvals=``; a temp HOME keeps ``bash -lc`` off real profiles."""
    (tmp_path / "home").mkdir()
    started: list[AppServerProcess] = []

    def start(approvals=None, **kw) -> AppServerProcess:
        env = {"HOME": str(tmp_path / "home")}
        app = AppServerProcess(codex_home, codex_bin=codex_binary.path, env=env, approvals=approvals, **kw)
        started.append(app)
        app.initialize(timeout=T)
        return app

    yield start
    for app in started:
        app.close()


def run(app: AppServerProcess) -> tuple[dict, dict]:
    thread = app.start_thread({"model": "mock-model"}, timeout=T)
    return thread, app.run_turn(thread["id"], "make a marker", timeout=T)


def test_accept_runs_the_command_in_the_threads_cwd(start_app, codex_responses) -> None:
    app = start_app("accept")
    thread, turn = run(app)
    assert turn["status"] == "completed"
    assert (Path(thread["cwd"]) / "marker.txt").is_file()
    (record,) = app.server_requests
    assert (record.method, record.answered_by, record.answer) == (APPROVAL, "approvals", {"decision": "accept"})
    assert record.params["itemId"] == "call-1" and record.params["reason"] == "the test needs a marker"
    assert record.params["command"].endswith("touch marker.txt'") and record.params["cwd"] == thread["cwd"]
    first, second = codex_responses.requests
    assert first.function_call_output("call-1") is None
    output = second.function_call_output("call-1")
    assert output is not None and "Process exited with code 0" in output["output"]


def test_approvals_answer_over_the_websocket_transport_too(start_app, codex_binary) -> None:
    if not supports_websocket_auth(codex_binary.path):
        pytest.skip(f"codex {codex_binary.version} has no --ws-auth (websocket tests of this module need the token)")
    app = start_app("accept", transport="websocket")
    thread, turn = run(app)
    assert turn["status"] == "completed" and (Path(thread["cwd"]) / "marker.txt").is_file()
    assert [(r.method, r.answered_by) for r in app.server_requests] == [(APPROVAL, "approvals")]


def test_decline_leaves_no_file_and_the_turn_completes(start_app, codex_responses) -> None:
    app = start_app("decline")
    thread, turn = run(app)
    assert turn["status"] == "completed"
    assert not (Path(thread["cwd"]) / "marker.txt").exists()
    assert [(r.method, r.answer) for r in app.server_requests] == [(APPROVAL, {"decision": "decline"})]
    output = codex_responses.requests[1].function_call_output("call-1")
    assert output is not None and "rejected by user" in output["output"]


def test_a_handler_sees_the_params_and_the_binary_gets_its_answer(start_app, codex_home) -> None:
    seen: list[JSONRPCRequest] = []

    def amend(request: JSONRPCRequest) -> dict:
        seen.append(request)
        prefix = request.params["proposedExecpolicyAmendment"]
        return {"decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": prefix}}}

    app = start_app(amend)
    thread, turn = run(app)
    assert turn["status"] == "completed" and (Path(thread["cwd"]) / "marker.txt").is_file()
    (request,) = seen
    assert request.method == APPROVAL and request.params["threadId"] == thread["id"] and request.params["itemId"] == "call-1"
    assert request.params["proposedExecpolicyAmendment"] == ["touch", "marker.txt"]
    # the binary acted on exactly that answer: it persisted the amendment as an allow rule
    rules = (Path(codex_home) / "rules" / "default.rules").read_text()
    assert 'prefix_rule(pattern=["touch", "marker.txt"], decision="allow")' in rules


def test_without_approvals_the_request_waits_for_the_test(start_app, codex_responses) -> None:
    app = start_app()
    thread = app.start_thread({"model": "mock-model"}, timeout=T)
    app.request("turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "make a marker"}]}, timeout=T)
    request = app.read_stream_until_request_message(timeout=T, method=APPROVAL)
    assert [r.answered for r in app.server_requests] == [False]
    app.send_response(request.id, {"decision": "accept"})
    app.read_stream_until_notification_message("turn/completed", timeout=T)
    assert app.server_requests[0].answered_by == "test"
    assert (Path(thread["cwd"]) / "marker.txt").is_file()


def test_v1_exec_command_approval_is_answered_in_its_own_words(start_app, codex_binary, codex_responses) -> None:
    if not codex_binary.has_method("newConversation"):
        pytest.skip(f"codex {codex_binary.version} has no v1 API (newConversation), so it never sends execCommandApproval")
    app = start_app("accept")
    conversation = app.request("newConversation", {"model": "mock-model", "cwd": str(app.cwd)}, timeout=T)
    app.request("addConversationListener", {"conversationId": conversation["conversationId"]}, timeout=T)
    items = [{"type": "text", "data": {"text": "make a marker"}}]
    app.request("sendUserMessage", {"conversationId": conversation["conversationId"], "items": items}, timeout=T)
    app.read_stream_until_notification_message("codex/event/task_complete", timeout=T)
    (record,) = app.server_requests
    assert (record.method, record.answer) == ("execCommandApproval", {"decision": "approved"})  # "accept" would reject it
    assert (app.cwd / "marker.txt").is_file()


def test_approvals_answer_a_further_websocket_connection_too(start_app, codex_binary) -> None:
    if not supports_websocket_auth(codex_binary.path):
        pytest.skip(f"codex {codex_binary.version} has no --ws-auth (websocket tests of this module need the token)")
    from codex_fixtures._plugin_support import failure_sections

    app = start_app("accept", transport="websocket")
    ide = app.new_connection()
    ide.initialize(timeout=T)
    thread, turn = run(ide)  # the turn, and so its approval request, belongs to the second client
    assert turn["status"] == "completed" and (Path(thread["cwd"]) / "marker.txt").is_file()
    assert [(r.method, r.answered_by, r.answer) for r in ide.server_requests] == [(APPROVAL, "approvals", {"decision": "accept"})]
    assert app.server_requests == []
    titles = [title for title, _ in failure_sections([app])]
    assert f"codex app-server pid {app.pid} connection 1: server requests" in titles
