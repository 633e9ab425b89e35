"""Replies computed from the request: evaluated when it arrives, over the loopback server and respx alike."""

from __future__ import annotations

import json

import httpx
import pytest
from codex_fixtures import (
    CapturedRequest,
    Gate,
    MockResponsesCheckError,
    MockResponsesServer,
    ResponsesScript,
    ScriptedReply,
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_exec_command_call,
    ev_response_created,
    mount_responses_respx,
    parse_sse,
)
from codex_fixtures.mock.computed import ComputedReply
from codex_fixtures.mock.script import sequence

WAIT = 5.0


def post(script: ResponsesScript, body: dict) -> tuple[int, list[dict]]:
    reply = script.handle("POST", "/v1/responses", {"content-type": "application/json"}, json.dumps(body).encode())
    data = reply.read_all().decode()
    return reply.status, parse_sse(data) if reply.status == 200 else [json.loads(data)]


def echo_last_user_text(request: CapturedRequest) -> str:
    return create_final_assistant_message_sse_response("you said " + request.message_input_texts("user")[-1])


def user(text: str) -> dict:
    return {"model": "m", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]}


def test_the_function_sees_the_request_it_answers_and_runs_only_then() -> None:
    seen: list[CapturedRequest] = []

    def reply(request: CapturedRequest) -> list[dict]:
        seen.append(request)
        assert "exec_command" in request.tool_names()
        return [ev_response_created("r"), ev_exec_command_call(f"call-{request.index}", "ls"), ev_completed("r")]

    script = ResponsesScript()
    queued = script.enqueue(reply)
    assert isinstance(queued, ComputedReply) and seen == []
    status, events = post(script, {**user("x"), "tools": [{"type": "function", "name": "exec_command"}]})
    assert status == 200 and [r.index for r in seen] == [1]
    assert events[1]["item"]["call_id"] == "call-1"
    script.check()


def test_options_apply_to_what_the_function_returns() -> None:
    script = ResponsesScript()
    gate = Gate(after=1)
    script.enqueue(lambda request: create_final_assistant_message_sse_response("late"), gate=gate)
    reply = script.handle("POST", "/v1/responses", {}, json.dumps(user("x")).encode())
    assert reply.scripted is not None and reply.scripted.gate is gate
    gate.release()
    assert b"late" in reply.read_all()
    script.enqueue(lambda request: None, status=429, headers={"retry-after": "1"})
    status, (body,) = post(script, user("y"))
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"


def test_bad_options_fail_at_enqueue() -> None:
    with pytest.raises(ValueError, match="no events, gate or cut_after"):
        ResponsesScript().enqueue(lambda request: None, status=500, gate=Gate())


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda request: 1 / 0, "reply function <lambda>() raised ZeroDivisionError: division by zero"),
        (lambda request: {"type": "response.created"}, "returned an unusable reply: expected a list of event dicts"),
        (lambda request: lambda r: None, "returned a function"),
    ],
)
def test_a_failing_function_is_a_500_and_a_problem(function, message: str) -> None:
    script = ResponsesScript()
    script.enqueue(function)
    status, (body,) = post(script, user("x"))
    assert status == 500 and message in body["error"]["message"]
    with pytest.raises(MockResponsesCheckError) as info:
        script.check()
    (problem,) = info.value.problems
    assert problem.startswith("request #1 POST /v1/responses: ") and message in problem


def test_repeat_sequence_and_unused_report() -> None:
    script = ResponsesScript(repeat=echo_last_user_text)
    assert parse_sse(script.handle("POST", "/v1/responses", {}, json.dumps(user("a")).encode()).read_all().decode())[1]["item"][
        "content"
    ][0]["text"] == "you said a"
    unused = sequence([echo_last_user_text])
    with pytest.raises(MockResponsesCheckError, match=r"#1: a reply computed per request by echo_last_user_text\(\)"):
        unused.check()


def test_a_function_returning_a_ready_scripted_reply() -> None:
    script = ResponsesScript()
    script.enqueue(lambda request: ScriptedReply(status=503))
    assert post(script, user("x"))[0] == 503


def test_loopback_and_respx_evaluate_it_per_request() -> None:
    with MockResponsesServer() as server, mount_responses_respx(server) as mount:
        server.enqueue(echo_last_user_text)
        mount.enqueue(echo_last_user_text)
        with httpx.Client(base_url=server.url_v1, timeout=WAIT) as http:
            over_socket = http.post("/responses", json=user("over loopback")).text
        in_process = httpx.post(f"{mount.base_url}/responses", json=user("in process"), timeout=WAIT).text
        assert "you said over loopback" in over_socket and "you said in process" in in_process
        server.check()
