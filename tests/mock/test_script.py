"""The scripted Responses API without sockets: ordering, repeat, problems, check, gates and cuts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.mock.script import (
    CapturedRequest,
    Gate,
    Reply,
    ResponsesScript,
    ScriptedReply,
    repeating_assistant,
    sequence,
)
from codex_fixtures.mock.sse import (
    create_final_assistant_message_sse_response,
    ev_assistant_message,
    ev_completed,
    ev_function_call,
    ev_response_created,
    parse_sse,
    sse,
)

WAIT = 5.0
BODY = json.dumps({"model": "m", "input": []}).encode()


def post(script: ResponsesScript, body: bytes = BODY, path: str = "/v1/responses", **headers: str) -> Reply:
    return script.handle("POST", path, {"content-type": "application/json", **headers}, body)


def events_of(reply: Reply) -> list[dict]:
    return parse_sse(reply.read_all().decode())


def three_events(text: str = "hi") -> list[dict]:
    return [ev_response_created("r"), ev_assistant_message("m", text), ev_completed("r")]


class Drain:
    """Consume a reply's chunks on a thread (a held gate blocks the consumer)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._run, args=(chunks,), daemon=True)
        self.thread.start()

    def _run(self, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            self.received.append(chunk)

    def join(self) -> bool:
        self.thread.join(WAIT)
        return not self.thread.is_alive()


# ------------------------------------------------------------------ ordering and routing


def test_replies_are_served_in_fifo_order() -> None:
    script = sequence([three_events("one"), create_final_assistant_message_sse_response("two")])
    first, second = post(script), post(script)
    assert (first.status, first.headers["content-type"], first.streaming) == (200, "text/event-stream", True)
    assert events_of(first)[1]["item"]["content"][0]["text"] == "one"
    assert events_of(second)[1]["item"]["content"][0]["text"] == "two"
    assert [r.index for r in script.requests] == [1, 2]
    script.check()


def test_chunks_are_one_per_event_for_events_and_bodies() -> None:
    body = create_final_assistant_message_sse_response("x")
    for reply in (ScriptedReply(events=tuple(three_events())), ScriptedReply(body=body)):
        assert len(reply.chunks) == 3
        assert all(c.endswith(b"\n\n") for c in reply.chunks)
    assert b"".join(ScriptedReply(body=body).chunks).decode() == body


def test_repeat_is_served_unbounded_after_the_fifo() -> None:
    script = repeating_assistant("again")
    script.enqueue(three_events("first"))
    texts = [events_of(post(script))[1]["item"]["content"][0]["text"] for _ in range(4)]
    assert texts == ["first", "again", "again", "again"]
    script.check()
    script.set_repeat(None)
    assert post(script).status == 500


def test_models_endpoint_answers_empty_list_without_problem() -> None:
    script = ResponsesScript()
    reply = script.handle("GET", "/v1/models?client_version=1", {}, b"")
    assert (reply.status, json.loads(reply.read_all())) == (200, {"models": []})
    assert script.all_requests[0].query == "client_version=1"
    assert script.requests == []
    script.check()


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("POST", "/v1/models"), ("PUT", "/v1/responses")])
def test_unknown_path_or_method_is_404_and_a_problem(method: str, path: str) -> None:
    script = ResponsesScript()
    reply = script.handle(method, path, {}, b"{}")
    assert reply.status == 404
    assert "unexpected request" in json.loads(reply.read_all())["error"]["message"]
    assert [f"{r.method} {r.path}" for r in script.all_requests] == [f"{method} {path}"]
    with pytest.raises(MockResponsesCheckError, match=f"unexpected request {method} {path}"):
        script.check()


def test_malformed_json_is_400_a_problem_and_keeps_the_reply() -> None:
    script = sequence([three_events()])
    assert post(script, b"{not json").status == 400
    assert post(script).status == 200
    with pytest.raises(MockResponsesCheckError, match=r"request #1 POST /v1/responses: body is not JSON") as info:
        script.check()
    assert "9 bytes starting b'{not json'" in str(info.value)  # enough to recognise the body


def test_unused_replies_are_listed_with_what_they_say() -> None:
    script = sequence(
        [
            create_final_assistant_message_sse_response("first"),
            create_final_assistant_message_sse_response("second"),
            [ev_response_created("r"), ev_function_call("c1", "shell", "{}"), ev_completed("r")],
            ScriptedReply(status=429, headers={"retry-after": "1"}),
        ]
    )
    post(script).read_all()
    with pytest.raises(MockResponsesCheckError) as info:
        script.check()
    (problem,) = info.value.problems
    lines = problem.splitlines()
    assert lines[0] == "3 scripted replies never requested (4 scripted, 1 served; 1 POST .../responses received):"
    assert lines[1].strip().startswith("#2: ") and lines[1].endswith("saying 'second'")
    assert lines[2].strip().startswith("#3: ") and lines[2].endswith("saying 'function_call shell'")
    assert lines[3].strip() == "#4: HTTP 429 error body"


@pytest.mark.parametrize(
    ("value", "options", "message"),
    [
        ({"type": "response.created"}, {}, r"got a single event dict \(type 'response.created'\); wrap it in a list"),
        (42, {}, "expected a list of event dicts or an SSE body string, got int"),
        (["event: a\ndata: {}\n\n", "event: b\n\n"], {}, "got a list holding 2 string"),
        (None, {"status": "500"}, "status must be an int HTTP status, not str '500'"),
    ],
)
def test_enqueue_rejects_what_it_cannot_serve_with_one_line(value: Any, options: dict[str, Any], message: str) -> None:
    script = ResponsesScript()
    with pytest.raises(TypeError, match=message) as info:
        script.enqueue(value, **options)
    assert "\n" not in str(info.value)
    assert script.pending == []


def test_request_after_script_ran_out_is_500_and_a_problem() -> None:
    script = sequence([three_events()])
    post(script).read_all()
    reply = post(script)
    message = "mock Responses API: no scripted reply left for request #2 POST /v1/responses: 1 scripted, 1 served"
    assert (reply.status, json.loads(reply.read_all())["error"]["message"]) == (500, message)
    with pytest.raises(MockResponsesCheckError, match=message) as info:
        script.check()
    assert info.value.problems == [message]


def test_exhausted_script_names_the_user_message_of_the_extra_request() -> None:
    script = sequence([])
    post(script, json.dumps({"input": [{"type": "message", "role": "user", "content": "the extra turn"}]}).encode())
    assert script.problems == [
        "mock Responses API: no scripted reply left for request #1 POST /v1/responses: 0 scripted, 0 served; "
        "its last user message: 'the extra turn'"
    ]


def test_check_reports_unused_replies_only_in_exact_mode() -> None:
    checked = sequence([three_events(), three_events()])
    post(checked)
    with pytest.raises(MockResponsesCheckError, match=r"1 scripted reply never requested \(2 scripted, 1 served; 1 POST") as info:
        checked.check()
    assert "#2: 3 SSE event(s) [response.created, response.output_item.done, response.completed]" in str(info.value)
    unchecked = sequence([three_events(), three_events()], checked=False)
    post(unchecked)
    unchecked.check()
    assert len(unchecked.pending) == 1


def test_reset_forgets_everything() -> None:
    script = repeating_assistant("x")
    script.enqueue(three_events())
    script.handle("GET", "/nope", {}, b"")
    script.reset()
    assert (script.requests, script.all_requests, script.problems, script.pending) == ([], [], [], [])
    assert post(script).status == 500  # the repeat is gone too


def test_closed_script_answers_503_and_records_it() -> None:
    script = repeating_assistant("x")
    script.close()
    assert post(script).status == 503
    assert "after the mock Responses API was closed" in script.problems[0]


# ------------------------------------------------------------------ error replies and validation


def test_429_with_retry_after_and_default_json_error() -> None:
    script = ResponsesScript()
    script.enqueue(None, status=429, headers={"retry-after": "1"})
    script.enqueue('{"error": {"message": "custom"}}', status=500)
    reply = post(script)
    assert (reply.status, reply.streaming) == (429, False)
    assert (reply.headers["retry-after"], reply.headers["content-type"]) == ("1", "application/json")
    error = json.loads(reply.read_all())["error"]
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert json.loads(post(script).read_all()) == {"error": {"message": "custom"}}
    script.check()


def test_scripted_reply_validation() -> None:
    with pytest.raises(ValueError, match="answers an error body"):
        ScriptedReply(events=tuple(three_events()), status=500)
    with pytest.raises(ValueError, match="events or body"):
        ScriptedReply(events=(), body="")
    with pytest.raises(ValueError, match="needs a string 'type'"):
        ResponsesScript().enqueue([{"delta": "no type"}])
    with pytest.raises(ValueError, match="not both"):
        ResponsesScript().enqueue(ScriptedReply(body=""), status=500)
    with pytest.raises(ValueError, match="after"):
        Gate(after=-1)


# ------------------------------------------------------------------ captured requests


def test_captured_request_inspectors() -> None:
    body = {
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_image"}]},
            {"role": "user", "content": "b"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        ],
        "note": 'say "héllo"',
    }
    script = repeating_assistant("x")
    post(script, json.dumps(body).encode(), **{"X-Codex-Window-Id": "t:0"})
    [request] = script.requests
    assert request.header("x-codex-window-id") == request.header("X-CODEX-WINDOW-ID") == "t:0"
    assert request.headers["Content-Type"] == "application/json"
    assert request.header("authorization") is None
    assert request.body_json == body
    assert request.message_input_texts("user") == ["a", "b"]
    assert request.message_input_texts("developer") == ["rules"]
    assert request.function_call_output("c1") == body["input"][-1]
    assert request.function_call_output("nope") is None
    assert request.body_contains_text('say "héllo"')
    assert not request.body_contains_text("absent")


def test_captured_request_string_input_and_bad_json() -> None:
    request = CapturedRequest("POST", "/v1/responses", {"A": "1"}, b'{"input": "hi"}', 0.0)
    assert request.message_input_texts("user") == ["hi"]
    assert request.header("a") == "1"
    bad = CapturedRequest("POST", "/v1/responses", {"content-encoding": "zstd"}, b"\x28\xb5\x2f\xfd", 0.0)
    with pytest.raises(ValueError, match=r"body is not JSON \(content-encoding: zstd\)"):
        bad.body_json
    with pytest.raises(ValueError, match="no 'input'"):
        CapturedRequest("POST", "/v1/responses", {}, b"{}", 0.0).input


def test_wait_for_requests() -> None:
    script = repeating_assistant("x")
    with pytest.raises(TimeoutError, match="0 arrived"):
        script.wait_for_requests(1, timeout=0.01)
    threading.Thread(target=lambda: [post(script) for _ in range(2)], daemon=True).start()
    assert len(script.wait_for_requests(2, timeout=WAIT)) == 2


# ------------------------------------------------------------------ cut, gate, delay


def test_cut_after_drops_the_rest_of_the_stream() -> None:
    script = ResponsesScript()
    script.enqueue(three_events(), cut_after=2)
    assert [e["type"] for e in events_of(post(script))] == ["response.created", "response.output_item.done"]


def test_gate_holds_the_stream_until_released() -> None:
    gate = Gate(after=1)
    script = ResponsesScript()
    script.enqueue(three_events(), gate=gate)
    chunks = post(script).chunks
    first = next(chunks)
    assert parse_sse(first.decode())[0]["type"] == "response.created"
    drain = Drain(chunks)
    assert gate.wait_reached(WAIT)
    assert drain.thread.is_alive() and drain.received == [] and not gate.released
    gate.release()
    assert drain.join()
    assert [e["type"] for e in parse_sse(b"".join(drain.received).decode())][-1] == "response.completed"


def test_gate_after_last_event_keeps_the_stream_open() -> None:
    gate = Gate(after=5)
    script = ResponsesScript()
    script.enqueue(three_events(), gate=gate)
    drain = Drain(post(script).chunks)
    assert gate.wait_reached(WAIT)
    assert len(drain.received) == 3 and drain.thread.is_alive()
    gate.release()
    assert drain.join()


def test_close_ends_a_held_stream_without_the_rest() -> None:
    gate = Gate(after=1)
    script = ResponsesScript()
    script.enqueue(three_events(), gate=gate)
    drain = Drain(post(script).chunks)
    assert gate.wait_reached(WAIT)
    script.close()
    assert drain.join()
    assert len(drain.received) == 1 and not gate.released
    assert script.problems == []


def test_gate_safety_net_ends_the_stream_and_records_a_problem() -> None:
    script = ResponsesScript()
    script.enqueue(three_events(), gate=Gate(after=1, max_hold_s=0.01))
    assert len(post(script).read_all().split(b"\n\n")) == 2  # one event, then the end
    assert "for over 0.01s" in script.problems[0]


def test_delay_between_events_is_applied_and_cancellable() -> None:
    script = ResponsesScript()
    script.enqueue(three_events(), delay_between_events_s=0.02)
    started = time.monotonic()
    assert len(events_of(post(script))) == 3
    assert time.monotonic() - started >= 0.04
    script.enqueue(three_events(), delay_between_events_s=30.0)
    reply = post(script)
    assert next(reply.chunks)
    drain = Drain(reply.chunks)
    reply.cancel()
    assert drain.join() and drain.received == []


def test_reset_ends_streams_in_flight() -> None:
    gate = Gate(after=0)
    script = ResponsesScript()
    script.enqueue(sse(three_events()), gate=gate)
    drain = Drain(post(script).chunks)
    assert gate.wait_reached(WAIT)
    script.reset()
    assert drain.join() and drain.received == []


def test_unpaired_tool_calls_and_outputs_are_recorded_as_problems():
    from codex_fixtures.mock.script import repeating_assistant

    script = repeating_assistant("ok")
    body = {
        "input": [
            {"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "b", "output": "?"},
            {"type": "tool_search_output", "execution": "server"},
        ]
    }
    script.handle("POST", "/v1/responses", {}, json.dumps(body).encode()).read_all()
    assert script.requests[0].call_pairing_problems() == [
        "function_call_output 'b' answers no call in the same input",
        "function_call 'a' has no output in the same input",
    ]
    with pytest.raises(MockResponsesCheckError, match="answers no call"):
        script.check()
