"""Finer scripted replies: ``required=False``, ``delay_s``, exact waits, plain strings in sequences."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from codex_fixtures import (
    MockResponsesCheckError,
    MockResponsesServer,
    ResponsesScript,
    create_final_assistant_message_sse_response,
    create_mock_responses_server_sequence,
    parse_sse,
)
from codex_fixtures.mock.script import sequence

BODY = json.dumps({"model": "m", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]}]})


def post(script: ResponsesScript) -> bytes:
    return script.handle("POST", "/v1/responses", {}, BODY.encode()).read_all()


def test_optional_reply_not_asked_is_no_error():
    script = ResponsesScript()
    script.enqueue(create_final_assistant_message_sse_response("one"))
    script.enqueue(create_final_assistant_message_sse_response("maybe"), required=False)
    post(script)
    script.check()


def test_optional_reply_is_served_once_if_asked():
    script = ResponsesScript()
    script.enqueue(create_final_assistant_message_sse_response("maybe"), required=False)
    assert b"maybe" in post(script)
    assert script.handle("POST", "/v1/responses", {}, BODY.encode()).status == 500  # nothing left
    assert "no scripted reply left" in script.problems[0]


def test_required_reply_not_asked_still_fails():
    script = ResponsesScript()
    script.enqueue(create_final_assistant_message_sse_response("must"))
    script.enqueue(create_final_assistant_message_sse_response("maybe"), required=False)
    with pytest.raises(MockResponsesCheckError, match="1 scripted reply never requested") as info:
        script.check()
    assert "must" in str(info.value) and "maybe" not in str(info.value)


def test_optional_shows_in_describe():
    reply = ResponsesScript().enqueue(create_final_assistant_message_sse_response("x"), required=False)
    assert reply.describe().endswith("(optional)")


def test_delay_s_holds_the_whole_response_before_the_status_line():
    with MockResponsesServer() as server:
        server.enqueue(create_final_assistant_message_sse_response("late"), delay_s=0.3)
        started = time.monotonic()
        with httpx.stream("POST", server.url_v1 + "/responses", content=BODY) as reply:
            headers_after = time.monotonic() - started
            text = reply.read().decode()
        assert headers_after >= 0.3
        assert [e["type"] for e in parse_sse(text)][-1] == "response.completed"
        server.check()


@pytest.mark.parametrize("bad", [-1, float("inf"), float("nan")])
def test_bad_delay_s_is_one_line(bad):
    with pytest.raises(ValueError, match="delay_s must be a finite number >= 0"):
        ResponsesScript().enqueue(None, delay_s=bad)


@pytest.mark.parametrize("bad", [-1, float("inf"), float("nan"), "0.1"])
def test_bad_delay_between_events_is_one_line(bad):
    with pytest.raises(ValueError, match=r"^delay_between_events_s must be a finite number >= 0 \(seconds, at most a week\), got "):
        ResponsesScript().enqueue([], delay_between_events_s=bad)
    with pytest.raises(ValueError, match="delay_between_events_s must be a finite number >= 0"):
        ResponsesScript().enqueue(lambda request: [], delay_between_events_s=bad)  # refused now, not when a request comes


def test_exact_wait_returns_exactly_n():
    script = ResponsesScript(repeat=create_final_assistant_message_sse_response("r"))
    post(script)
    post(script)
    assert len(script.wait_for_requests(2, timeout=1, exact=True, settle_s=0.05)) == 2


def test_exact_wait_fails_when_more_came():
    script = ResponsesScript(repeat=create_final_assistant_message_sse_response("r"))
    for _ in range(3):
        post(script)
    with pytest.raises(MockResponsesCheckError, match=r"expected exactly 2 POST .../responses request\(s\).*3 came") as info:
        script.wait_for_requests(2, timeout=1, exact=True, settle_s=0.05)
    assert "#3 POST /v1/responses" in str(info.value) and "'q'" in str(info.value)


def test_exact_wait_fails_when_one_more_arrives_while_settling():
    script = ResponsesScript(repeat=create_final_assistant_message_sse_response("r"))
    post(script)
    first_waited = threading.Event()

    def late() -> None:
        first_waited.wait(5)
        post(script)

    thread = threading.Thread(target=late)
    thread.start()
    script.wait_for_requests(1, timeout=1)
    first_waited.set()
    try:
        with pytest.raises(MockResponsesCheckError, match="2 came"):
            script.wait_for_requests(1, timeout=1, exact=True, settle_s=10)  # cut short by the arrival
    finally:
        thread.join(5)


def test_non_exact_wait_accepts_more():
    script = ResponsesScript(repeat=create_final_assistant_message_sse_response("r"))
    for _ in range(3):
        post(script)
    assert len(script.wait_for_requests(2, timeout=1)) == 3


def test_plain_strings_in_a_sequence_are_assistant_text():
    script = sequence(["hello there", create_final_assistant_message_sse_response("sse body")])
    first, second = post(script).decode(), post(script).decode()
    done = [e for e in parse_sse(first) if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["content"][0]["text"] == "hello there"
    assert "sse body" in second
    script.check()


def test_text_with_a_line_that_looks_like_an_sse_field_is_still_text():
    text = "The record has\nid: 42\ndata: yes"
    script = sequence([text, "\n" + create_final_assistant_message_sse_response("sse body")])
    done = [e for e in parse_sse(post(script).decode()) if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["content"][0]["text"] == text
    assert "sse body" in post(script).decode()  # a body may start with a blank line
    script.check()


def test_server_sequence_takes_plain_strings():
    with create_mock_responses_server_sequence(["hi"]) as server:
        text = httpx.post(server.url_v1 + "/responses", content=BODY).text
        assert '"text": "hi"' in text or '"text":"hi"' in text
        server.check()


@pytest.mark.parametrize(("items", "index", "kind"), [([123], 0, "int"), (["ok", {"type": "x"}], 1, "dict"), ([None], 0, "NoneType")])
def test_a_non_reply_item_names_its_index(items, index, kind):
    with pytest.raises(TypeError, match=rf"responses\[{index}\] must be .* got {kind}") as info:
        sequence(items)
    assert "\n" not in str(info.value)


def test_a_malformed_reply_item_names_its_index_too():
    with pytest.raises(TypeError, match=r"responses\[1\]: got a list holding 2 string\(s\)") as info:
        sequence(["ok", ["a", "b"]])
    assert "\n" not in str(info.value)


def test_enqueue_takes_plain_text_too():
    script = ResponsesScript()
    script.enqueue("typed text")
    script.enqueue('{"error": {"message": "raw"}}', status=500)  # non-200 strings stay raw bodies
    done = [e for e in parse_sse(post(script).decode()) if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["content"][0]["text"] == "typed text"
    assert b'"raw"' in post(script)


@pytest.mark.codex_binary
def test_delay_s_delays_a_real_turn_by_at_least_the_delay():
    from codex_fixtures import AppServerProcess, CodexHome

    with MockResponsesServer() as server, CodexHome(server) as home:
        server.enqueue("slow answer", delay_s=0.5)
        with AppServerProcess(home.path) as app:
            app.initialize()
            thread = app.start_thread()
            assert app.run_turn(thread["id"], "hi")["status"] == "completed"
            done = time.time()
        assert done - server.requests[0].time >= 0.5
        server.check()
