"""What the binary makes of a failing mock (500, 429, JSON error bodies, cut streams, gates) and of request_user_input by mode.

Each README claim of "How to make the model fail" is checked here on the real binary.
"""

from __future__ import annotations

import json

import pytest
from codex_fixtures import Gate, create_final_assistant_message_sse_response
from codex_fixtures.mock.tool_calls import create_request_user_input_sse_response

pytestmark = pytest.mark.codex_binary

HIGH_DEMAND = "We\u2019re currently experiencing high demand, which may cause temporary errors."


def plain(message: str) -> str:
    """``message`` with 0.101.0's straight apostrophe as the curly one later releases write."""
    return message.replace("'", "\u2019")
PLAN = {"mode": "plan", "settings": {"model": "mock-model", "reasoning_effort": None, "developer_instructions": None}}


def turn(app, text="hi", **extra):
    thread = app.start_thread()
    params = {"threadId": thread["id"], "input": [{"type": "text", "text": text}], **extra}
    return app.start_turn_and_wait_for_completion(params, 30).params["turn"]


def errors(app) -> list[dict]:
    return [json.loads(line[3:])["params"] for line in app.transcript if line.startswith("<- ") and '"method":"error"' in line]


@pytest.mark.codex(responses=[])
def test_http_500_becomes_high_demand(codex_app_server, codex_responses):
    codex_responses.enqueue(None, status=500)
    done = turn(codex_app_server)
    assert done["status"] == "failed"
    assert (plain(done["error"]["message"]), done["error"]["codexErrorInfo"]) == (HIGH_DEMAND, "internalServerError")
    assert errors(codex_app_server)[-1]["willRetry"] is False


@pytest.mark.codex(responses=[])
def test_a_json_error_body_500_still_reads_high_demand_but_400_shows_the_body(codex_app_server, codex_responses):
    body = {"error": {"message": "custom boom from the test", "type": "invalid_request_error", "code": "bad_thing"}}
    codex_responses.enqueue(body, status=500)
    codex_responses.enqueue(body, status=400)
    assert plain(turn(codex_app_server)["error"]["message"]) == HIGH_DEMAND
    shown = turn(codex_app_server)["error"]
    assert json.loads(shown["message"]) == body and shown["codexErrorInfo"] == "other"


@pytest.mark.codex(responses=[])
def test_http_429_with_retry_after(codex_app_server, codex_responses):
    codex_responses.enqueue(None, status=429, headers={"retry-after": "1"})
    done = turn(codex_app_server)
    assert done["status"] == "failed"
    assert done["error"]["message"] == "exceeded retry limit, last status: 429 Too Many Requests"
    assert done["error"]["codexErrorInfo"] == {"responseTooManyFailedAttempts": {"httpStatusCode": 429}}


@pytest.mark.codex(responses=[])
def test_a_cut_stream_fails_the_turn(codex_app_server, codex_responses):
    codex_responses.enqueue(create_final_assistant_message_sse_response("partial"), cut_after=2)
    done = turn(codex_app_server)
    assert done["status"] == "failed"
    assert done["error"]["message"] == "stream disconnected before completion: stream closed before response.completed"


@pytest.mark.codex(responses=[], config={"stream_max_retries": 1})
def test_a_cut_stream_is_retried_when_the_config_allows(codex_app_server, codex_responses):
    codex_responses.enqueue(create_final_assistant_message_sse_response("partial"), cut_after=2)
    codex_responses.enqueue("whole")
    assert turn(codex_app_server)["status"] == "completed"
    (note,) = errors(codex_app_server)
    assert note["willRetry"] is True and note["error"]["message"] == "Reconnecting... 1/1"
    assert len(codex_responses.requests) == 2


@pytest.mark.codex(responses=[])
def test_a_gate_holds_the_turn_until_released(codex_app_server, codex_responses):
    gate = Gate(after=1)
    codex_responses.enqueue(create_final_assistant_message_sse_response("released"), gate=gate)
    app = codex_app_server
    thread = app.start_thread()
    app.send_turn_start_request({"threadId": thread["id"], "input": [{"type": "text", "text": "hi"}]})
    assert gate.wait_reached(15)
    status = app.request("thread/read", {"threadId": thread["id"]})["thread"].get("status")  # none on 0.101.0
    assert status is None or status["type"] == "active"  # still running, the stream held open
    assert not [m for m in app.transcript if '"method":"turn/completed"' in m]
    gate.release()
    done = app.read_stream_until_notification_message("turn/completed", 15)
    assert done.params["turn"]["status"] == "completed"


@pytest.mark.codex(responses=[create_request_user_input_sse_response("Proceed?"), "ok"])
def test_request_user_input_in_default_mode_never_reaches_the_client(codex_app_server, codex_responses):
    assert turn(codex_app_server)["status"] == "completed"
    assert codex_app_server.server_requests == []
    assert codex_responses.requests[1].function_call_output("call-1")["output"] == "request_user_input is unavailable in Default mode"


@pytest.mark.codex(responses=[create_request_user_input_sse_response("Proceed?"), "ok"], approvals="accept")
def test_request_user_input_in_plan_mode_asks_the_client(codex_app_server, codex_responses):  # approvals= leaves it to the test
    app = codex_app_server
    thread = app.start_thread()
    app.send_turn_start_request({"threadId": thread["id"], "input": [{"type": "text", "text": "hi"}], "collaborationMode": PLAN})
    asked = app.read_stream_until_request_message(timeout=15, method="item/tool/requestUserInput")
    assert asked.params["questions"][0]["question"] == "Proceed?"
    app.send_response(asked.id, {"answers": {"confirm": {"answers": ["Yes"]}}})
    done = app.read_stream_until_notification_message("turn/completed", 15)
    assert done.params["turn"]["status"] == "completed"
    assert "Yes" in codex_responses.requests[1].function_call_output("call-1")["output"]
