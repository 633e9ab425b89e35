"""Ports of upstream app-server tests (turn_start, turn_steer, output_schema, thread_metadata_update) with no helper module.

Each test names the upstream test it ports (``codex-rs/app-server/tests/suite/v2/<file>.rs``), written again
with the toolkit's fixtures only: content-matched replies, route waits on a body, Gates instead of sleeping
shell commands, and the params check that keeps a misspelt field from passing silently.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from codex_fixtures import Gate, create_exec_command_sse_response, ev_completed, ev_response_created
from codex_fixtures.appserver.api_schema import catalog_for
from codex_fixtures.mock.analytics import wait_for_analytics_event
from codex_fixtures.mock.matching import body_contains, header_is, when
from codex_fixtures.mock.sse import ev_assistant_message, ev_function_call, sse

pytestmark = pytest.mark.codex_binary

ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": False}
ANALYTICS = "/backend-api/codex/analytics-events/events"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def needs(binary, method: str, param: str | None = None) -> None:
    """Skip unless the binary's own schema has ``method`` (and its ``param``): ports are keyed by capability."""
    catalog = catalog_for(binary)
    if not catalog.has(method):
        pytest.skip(f"codex {binary.version} has no {method}")
    if param is not None and param not in {p.name for p in catalog.params(method)}:
        pytest.skip(f"codex {binary.version}: {method} has no param {param!r}")


def text(prompt: str) -> list[dict]:
    return [{"type": "text", "text": prompt, "text_elements": []}]


def start_turn(app, thread_id: str, prompt: str, **extra) -> dict:
    """``turn/start`` answered: the in-progress turn (the turn runs on)."""
    rid = app.send_turn_start_request({"threadId": thread_id, "input": text(prompt), **extra})
    return app.read_stream_until_response_message(rid).result["turn"]


# output_schema.rs: turn_start_accepts_output_schema_v2
def test_turn_start_accepts_output_schema(codex_app_server, codex_responses):
    app = codex_app_server
    thread = app.start_thread()
    app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("Hello"), "outputSchema": ANSWER_SCHEMA})
    (request,) = codex_responses.requests
    assert request.body_json["text"]["format"] == {"name": "codex_output_schema", "type": "json_schema", "strict": True,
                                                   "schema": ANSWER_SCHEMA}


# output_schema.rs: turn_start_output_schema_is_per_turn_v2
def test_turn_start_output_schema_is_per_turn(codex_app_server, codex_responses):
    app = codex_app_server
    thread = app.start_thread()
    app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("Hello"), "outputSchema": ANSWER_SCHEMA})
    app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("Hello again"), "outputSchema": None})
    first, second = codex_responses.requests
    assert first.body_json["text"]["format"]["schema"] == ANSWER_SCHEMA
    assert "format" not in (second.body_json.get("text") or {})


# turn_start.rs: turn_start_emits_notifications_and_accepts_model_override
def test_turn_start_emits_notifications_and_accepts_model_override(codex_app_server, codex_responses):
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    turn = start_turn(app, thread["id"], "Hello")
    started = app.read_stream_until_notification_message("turn/started")
    assert started.params["threadId"] == thread["id"] and started.params["turn"]["status"] == "inProgress"
    app.read_stream_until_notification_message("turn/completed")
    second = start_turn(app, thread["id"], "Second", model="mock-model-override")
    assert second["id"] and second["id"] != turn["id"]
    completed = app.read_stream_until_notification_message("turn/completed", predicate=lambda n: n.params["turn"]["id"] == second["id"])
    assert (completed.params["threadId"], completed.params["turn"]["status"]) == (thread["id"], "completed")
    assert [r.body_json["model"] for r in codex_responses.requests] == ["mock-model", "mock-model-override"]


# turn_start.rs: turn_start_accepts_local_image_input
def test_turn_start_accepts_local_image_input(codex_app_server, codex_responses, tmp_path):
    image = tmp_path / "image.png"
    image.write_bytes(PNG)
    app = codex_app_server
    thread = app.start_thread()
    done = app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": [
        {"type": "localImage", "path": str(image)}, {"type": "text", "text": "what is this", "text_elements": []}]})
    assert done.params["turn"]["status"] == "completed"
    (request,) = codex_responses.requests
    assert request.user_prompts() == ["what is this"]  # the <image ...> / </image> spans are the binary's, not the user's
    assert request.input_images() == ["data:image/png;base64," + base64.b64encode(PNG).decode()]


# turn_steer.rs: turn_steer_requires_active_turn (the analytics event is waited for by its body)
@pytest.mark.codex(auth="chatgpt", responses=[])
def test_turn_steer_requires_active_turn(codex_binary, codex_app_server, codex_responses):
    needs(codex_binary, "turn/steer", "clientUserMessageId")
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    rid = app.send_turn_steer_request({"threadId": thread["id"], "input": text("steer"), "expectedTurnId": "turn-does-not-exist",
                                       "clientUserMessageId": "client-steer-message-1"})
    assert app.read_stream_until_error_message(rid).code == -32600
    steer = wait_for_analytics_event(codex_responses, "codex_turn_steer_event", 15)  # upstream's helper, no loop here
    assert (steer["thread_id"], steer["result"], steer["rejection_reason"]) == (thread["id"], "rejected", "no_active_turn")
    assert steer["expected_turn_id"] == "turn-does-not-exist" and steer["accepted_turn_id"] is None


# turn_steer.rs: turn_steer_returns_active_turn_id (a Gate holds the turn open instead of `sleep 2`)
@pytest.mark.codex(auth="chatgpt", responses=[])
def test_turn_steer_returns_active_turn_id(codex_binary, codex_app_server, codex_responses):
    needs(codex_binary, "turn/steer", "clientUserMessageId")
    gate = Gate(after=1)
    codex_responses.enqueue("first answer", gate=gate)
    codex_responses.enqueue("after the steer", match=body_contains("steer now"))
    events = codex_responses.route("POST", ANALYTICS, json={})
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    turn = start_turn(app, thread["id"], "run long")
    assert gate.wait_reached(15)
    rid = app.send_turn_steer_request({"threadId": thread["id"], "input": text("steer now"), "expectedTurnId": turn["id"],
                                       "clientUserMessageId": "client-steer-message-1"})
    assert app.read_stream_until_response_message(rid).result["turnId"] == turn["id"]
    started = app.read_stream_until_notification_message(
        "item/started", predicate=lambda n: n.params["item"].get("clientId") == "client-steer-message-1")
    assert started.params["item"]["content"] == text("steer now")
    gate.release()
    app.read_stream_until_notification_message("turn/completed", 15)
    (call,) = events.wait_for_calls(1, 15, match='"result":"accepted"')
    steer = next(e for e in call.body_json["events"] if e["event_type"] == "codex_turn_steer_event")["event_params"]
    assert (steer["expected_turn_id"], steer["accepted_turn_id"]) == (turn["id"], turn["id"])


# thread_metadata_update.rs: thread_metadata_update_patches_git_branch_and_returns_updated_thread
def test_thread_metadata_update_patches_git_branch(codex_binary, codex_app_server):
    needs(codex_binary, "thread/metadata/update")
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    updated = app.request("thread/metadata/update", {"threadId": thread["id"], "gitInfo": {"branch": "feature/sidebar-pr"}})["thread"]
    assert (updated["id"], updated["sessionId"]) == (thread["id"], thread["sessionId"])
    assert updated["gitInfo"] == {"sha": None, "branch": "feature/sidebar-pr", "originUrl": None}
    assert updated["status"] == {"type": "idle"}
    read = app.request("thread/read", {"threadId": thread["id"], "includeTurns": False})["thread"]
    assert read["gitInfo"] == updated["gitInfo"] and read["status"] == {"type": "idle"}


# thread_metadata_update.rs: thread_metadata_update_rejects_empty_git_info_patch / _rejects_ephemeral_thread
def test_thread_metadata_update_rejections(codex_binary, codex_app_server):
    needs(codex_binary, "thread/metadata/update")
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    rid = app.send_request("thread/metadata/update", {"threadId": thread["id"], "gitInfo": {}})
    assert app.read_stream_until_error_message(rid).message == "gitInfo must include at least one field"
    ephemeral = app.start_thread({"model": "mock-model", "ephemeral": True})
    rid = app.send_request("thread/metadata/update", {"threadId": ephemeral["id"], "gitInfo": {"branch": "feature/ephemeral"}})
    error = app.read_stream_until_error_message(rid)
    assert (error.code, error.message) == (-32600, f"ephemeral thread does not support metadata updates: {ephemeral['id']}")


SPAWN_ARGS = json.dumps({"message": "child: say done"})


# core suite: responses_api_parent_and_subagent_requests_include_identity_headers, through the app-server.
# The child's request and the parent's continuation race: replies are chosen by content, in any order.
@pytest.mark.codex(responses=[
    when(body_contains("spawn a subagent") & ~header_is("x-openai-subagent", "collab_spawn") & ~body_contains("spawn-call-1"), sse([
        ev_response_created("resp-parent-1"),
        ev_function_call("spawn-call-1", "spawn_agent", SPAWN_ARGS, namespace="multi_agent_v1"),
        ev_completed("resp-parent-1")])),
    when(header_is("x-openai-subagent", "collab_spawn"), "child done"),
    when(body_contains("spawn-call-1") & ~header_is("x-openai-subagent", "collab_spawn"), sse([
        ev_response_created("resp-parent-2"), ev_assistant_message("msg-parent-2", "parent done"), ev_completed("resp-parent-2")])),
    when(body_contains("spawn-call-1") & ~header_is("x-openai-subagent", "collab_spawn"), "parent done again", required=False),
])
def test_parent_and_subagent_requests_carry_identity_headers(codex_binary, codex_app_server, codex_responses):
    if codex_binary.version_tuple[:2] < (0, 163):  # its schema knows spawnAgent items, but its requests offer no spawn_agent tool
        pytest.skip(f"codex {codex_binary.version} offers no multi_agent_v1.spawn_agent tool by default (measured on 0.101.0)")
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    done = app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("spawn a subagent and report")}, 60)
    assert done.params["turn"]["status"] == "completed"
    (child,) = codex_responses.wait_for_requests(1, 30, match=header_is("x-openai-subagent", "collab_spawn"))
    parent = codex_responses.requests[0]
    assert parent.header("x-openai-subagent") is None and parent.header("x-codex-parent-thread-id") is None
    assert child.header("x-codex-parent-thread-id") == thread["id"]
    assert child.body_contains_text("child: say done")
    child_thread = child.header("x-codex-window-id").rsplit(":", 1)[0]
    assert child_thread != thread["id"] and parent.header("x-codex-window-id").rsplit(":", 1)[0] == thread["id"]
    continuation = codex_responses.wait_for_requests(1, 30, match=body_contains("spawn-call-1") & ~header_is("x-openai-subagent", "collab_spawn"))
    assert json.loads(continuation[0].function_call_output("spawn-call-1")["output"])["agent_id"] == child_thread


TINY_PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
MAX_USER_INPUT_TEXT_CHARS = 1 << 20  # codex-rs/protocol/src/user_input.rs


# turn_start.rs: the image input of turn_start's analytics test (V2UserInput::Image { url: TINY_PNG_DATA_URL }), with the
# params check on. Issue 25, item 1: on main the check refused it ("unknown param 'input.0.type' (input.0 takes: url)").
def test_turn_start_accepts_image_url_input(codex_binary, codex_app_server, codex_responses):
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    image = {"type": "image", "url": TINY_PNG_DATA_URL}
    if "detail" in json.dumps(catalog_for(codex_binary).definitions.get("UserInput")):
        image["detail"] = None  # 0.163.0+ (0.101.0's image input has no detail: the check would refuse it, rightly)
    done = app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": [
        image, {"type": "text", "text": "what is this", "text_elements": []}]})
    assert done.params["turn"]["status"] == "completed"
    (request,) = codex_responses.requests
    images = [span for item in request.input for span in item.get("content") or [] if span.get("type") == "input_image"]
    assert [span["image_url"] for span in images] == [TINY_PNG_DATA_URL]


# turn_start.rs: turn_start_rejects_combined_oversized_text_input (valid by the schema: sent with the check on)
@pytest.mark.codex(responses=[])
def test_turn_start_rejects_combined_oversized_text_input(codex_binary, codex_app_server):
    if tuple(int(x) for x in codex_binary.version.split(".")[:2]) < (0, 163):
        pytest.skip(f"codex {codex_binary.version} has no input length cap (0.101.0 starts the turn; 0.163.0 has the cap)")
    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    first, second = "x" * (MAX_USER_INPUT_TEXT_CHARS // 2), "y" * (MAX_USER_INPUT_TEXT_CHARS // 2 + 1)
    rid = app.send_turn_start_request({"threadId": thread["id"], "input": [
        {"type": "text", "text": first, "text_elements": []}, {"type": "text", "text": second, "text_elements": []}]})
    error = app.read_stream_until_error_message(rid)
    assert (error.code, error.message) == (-32602, f"Input exceeds the maximum length of {MAX_USER_INPUT_TEXT_CHARS} characters.")
    assert error.data["max_chars"] == MAX_USER_INPUT_TEXT_CHARS and error.data["actual_chars"] == MAX_USER_INPUT_TEXT_CHARS + 1
    app.assert_no_message(lambda m: getattr(m, "method", None) == "turn/started", within=0.25, what="turn/started")


# The server's own params validation (serde): the one place the check is bypassed, with send_raw_request.
@pytest.mark.codex(responses=[])
def test_turn_start_with_a_mistyped_input_is_refused_by_the_server(codex_app_server):
    from codex_fixtures.appserver.api_schema import ParamsSchemaError

    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    params = {"threadId": thread["id"], "input": [{"type": "image"}]}  # an image needs a url (or a fileId)
    with pytest.raises(ParamsSchemaError, match=r"^turn/start: missing required param 'input.0.url' .*send_raw_request\(\)"):
        app.send_turn_start_request(params)
    error = app.read_stream_until_error_message(app.send_raw_request("turn/start", params))
    assert error.code == -32600 and error.message.startswith("Invalid request: ")  # 0.163.0: "... untagged enum ImageReference"


# turn_start.rs: turn_start_exec_approval_toggle_v2, its second turn: per-turn overrides (approval never, a sandbox
# policy, model, effort, summary) with the params check on; the command runs with no approval asked. A misspelt
# sandbox policy field, which the binary would silently drop, is refused before it is sent (issue 25, item 2).
@pytest.mark.codex(config={"approval_policy": "on-request"}, responses=[
    create_exec_command_sse_response("echo toggled > toggled.txt", call_id="call2"), "done 2"])
def test_turn_start_overrides_approval_and_sandbox_policy(codex_app_server, codex_responses):
    from codex_fixtures.appserver.api_schema import ParamsSchemaError

    app = codex_app_server
    thread = app.start_thread({"model": "mock-model"})
    overrides = {"approvalPolicy": "never", "sandboxPolicy": {"type": "dangerFullAccess"}, "model": "mock-model",
                 "effort": "medium", "summary": "auto"}
    with pytest.raises(ParamsSchemaError, match=r"unknown param 'sandboxPolicy.networkAcess' \(sandboxPolicy, a WorkspaceWriteSandboxPolicy"):
        app.send_turn_start_request({"threadId": thread["id"], "input": text("x"),
                                     "sandboxPolicy": {"type": "workspaceWrite", "networkAcess": True}})
    done = app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("run it again"), **overrides})
    assert done.params["turn"]["status"] == "completed"
    assert not app.server_requests  # approval "never": nothing was asked
    assert (Path(thread["cwd"]) / "toggled.txt").read_text() == "toggled\n"
    output = [i for i in codex_responses.requests[1].input if i.get("call_id") == "call2"]
    assert output and output[-1]["type"] == "function_call_output"
