"""Replies matched by request content, matched waits, tool_check apart from strict, JSON error bodies, builders, span readers."""

from __future__ import annotations

import json
import threading

import pytest
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.mock.captured import CapturedRequest
from codex_fixtures.mock.loopback import MockResponsesServer
from codex_fixtures.mock.matching import Matcher, body_contains, header_is, prompt_contains, when
from codex_fixtures.mock.routes import Route
from codex_fixtures.mock.script import ResponsesScript, sequence
from codex_fixtures.mock.sse import ev_function_call, parse_sse
from codex_fixtures.mock.tool_calls import create_exec_command_sse_response, ev_exec_command_call
from codex_fixtures.mock.tool_check import scripted_calls

WAIT = 5.0


def body(prompt: str, tools: list[str] | None = None) -> bytes:
    doc: dict = {"model": "m", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}]}
    if tools is not None:
        doc["tools"] = [{"type": "function", "name": t} for t in tools]
    return json.dumps(doc).encode()


def post(script: ResponsesScript, data: bytes, **headers: str):
    return script.handle("POST", "/v1/responses", {"content-type": "application/json", **headers}, data)


def text_of(reply) -> str:
    events = parse_sse(reply.read_all().decode())
    done = [e for e in events if e.get("type") == "response.output_item.done"]
    return done[-1]["item"]["content"][0]["text"]


def test_matched_replies_go_to_the_request_they_match_in_any_order():
    script = ResponsesScript()
    script.enqueue("for the parent", match=body_contains("parent prompt"))
    script.enqueue("for the child", match=lambda r: r.header("x-openai-subagent") == "collab_spawn")
    script.enqueue("from the fifo")
    assert text_of(post(script, body("child task"), **{"x-openai-subagent": "collab_spawn"})) == "for the child"
    assert text_of(post(script, body("anything"))) == "from the fifo"  # matched ones wait for their request
    assert text_of(post(script, body("the parent prompt"))) == "for the parent"
    script.check()


def test_when_in_a_sequence_and_unused_matched_replies_fail_the_check():
    script = sequence([when(prompt_contains("second"), "two"), when("first", "one", required=True), "fifo"])
    assert text_of(post(script, body("first"))) == "one"
    assert text_of(post(script, body("other"))) == "fifo"
    with pytest.raises(MockResponsesCheckError, match=r"1 matched reply never requested: no request matched prompt_contains\('second'\)"):
        script.check()
    optional = sequence([when("never", "x", required=False)])
    optional.check()  # optional: no error


def test_a_matcher_that_raises_is_a_problem_never_a_crash_and_matchers_combine():
    script = ResponsesScript()

    def broken(request: CapturedRequest) -> bool:
        raise KeyError("boom")

    script.enqueue("never", match=broken, required=False)
    script.enqueue("combined", match=body_contains("a") & ~header_is("x-h", "no") | Matcher(lambda r: False, "never()"))
    reply = post(script, body("a"))
    assert text_of(reply) == "combined"
    assert any("broken() raised KeyError" in p for p in script.problems)
    with pytest.raises(TypeError, match="match must be a function"):
        script.enqueue("x", match=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        script.enqueue(when("a", "x"), match="b")


def test_waits_take_a_matcher():
    with MockResponsesServer(ResponsesScript(repeat="ok")) as server:
        import httpx

        sender = threading.Thread(target=lambda: [httpx.post(server.uri + "/v1/responses", content=body(p)) for p in ("one", "two", "one")])
        sender.start()
        matched = server.wait_for_requests(2, WAIT, match=prompt_contains("one"))
        sender.join(WAIT)
        assert [r.user_prompts() for r in matched] == [["one"], ["one"]]
        with pytest.raises(TimeoutError, match=r"1 POST .../responses request\(s\) matching prompt_contains\('three'\), 0 of 3 matched"):
            server.wait_for_requests(1, 0.2, match=prompt_contains("three"))
        events = server.route("POST", "/events", json={})
        for n in range(3):
            httpx.post(server.uri + "/events", json={"n": n})
        assert [json.loads(c.body)["n"] for c in events.wait_for_calls(1, WAIT, match='"n":2')] == [2]
        with pytest.raises(TimeoutError, match=r"call\(s\) of route POST /events matching body_contains\('nope'\)"):
            events.wait_for_calls(1, 0.2, match="nope")


def test_a_matched_wait_names_the_bodies_it_dropped():
    # fails on main (issue 25, item 7): the timeout said "2 of 4 matched" and nothing about the dropped bodies
    import httpx

    with MockResponsesServer(ResponsesScript(repeat="ok"), max_captured_bodies=2) as server:
        for prompt in ("one", "one", "one", "one"):
            httpx.post(server.uri + "/v1/responses", content=body(prompt))
        with pytest.raises(ValueError, match=r"^wait_for_requests\(4, match=prompt_contains\('one'\)\) can never succeed: "
                                             r"max_captured_bodies=2 keeps only the last 2 bodies and prompt_contains\('one'\) reads bodies$"):
            server.wait_for_requests(4, 0.2, match=prompt_contains("one"))  # refused at once, not after the timeout
        anyone = Matcher(lambda r: "one" in r.body.decode(), "a lambda")  # what it reads is unknown: waited for, and the timeout names the drops
        with pytest.raises(TimeoutError) as info:
            server.wait_for_requests(4, 0.2, match=anyone)
        message = str(info.value)
        assert "\n" not in message and "2 of 4 matched; 2 of the others had their bodies dropped (max_captured_bodies)" in message
        with pytest.raises(TimeoutError) as info:
            server.wait_for_requests(1, 0.2, match=prompt_contains("three"))
        assert "0 of 4 matched; 2 of the others had their bodies dropped" in str(info.value)
        assert [r.index for r in server.wait_for_requests(2, 0.2, match=prompt_contains("one") | header_is("x", "y"))] == [3, 4]
        assert (prompt_contains("a") & header_is("x", "y")).reads_body and not (~prompt_contains("a")).reads_body


def test_route_wait_for_calls_without_match_is_unchanged():
    route = Route("GET", "/x")
    with pytest.raises(TimeoutError, match="0 arrived"):
        route.wait_for_calls(1, 0.05)


def test_tool_check_is_apart_from_strict():
    call = create_exec_command_sse_response("ls")  # exec_command, not offered below
    script = ResponsesScript(tool_check=False)
    script.enqueue(call)
    script.enqueue("unused")
    post(script, body("hi", tools=["write_stdin"]))
    with pytest.raises(MockResponsesCheckError) as info:  # still strict about the unused reply
        script.check()
    assert "never requested" in str(info.value) and "exec_command" not in str(info.value)
    checked = ResponsesScript()
    checked.enqueue(call)
    post(checked, body("hi", tools=["write_stdin"]))
    with pytest.raises(MockResponsesCheckError, match="scripted call to 'exec_command'"):
        checked.check()


def test_an_error_reply_takes_a_json_body():
    script = ResponsesScript()
    script.enqueue({"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limit_exceeded"}}, status=429,
                   headers={"retry-after": "1"})
    script.enqueue(None, status=500)
    reply = post(script, body("x"))
    assert (reply.status, reply.headers["content-type"], reply.headers["retry-after"]) == (429, "application/json", "1")
    assert json.loads(reply.read_all()) == {"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limit_exceeded"}}
    assert json.loads(post(script, body("x")).read_all())["error"]["type"] == "server_error"
    with pytest.raises(TypeError, match="single event dict"):
        script.enqueue({"type": "response.created"})  # status 200: a dict is still an event, not a body
    with pytest.raises(TypeError, match="not JSON-serializable"):
        script.enqueue({"error": object()}, status=500)


def test_builders_yield_time_ms_and_namespace():
    args = json.loads(ev_exec_command_call("c", "ls", yield_time_ms=250)["item"]["arguments"])
    assert args == {"cmd": "ls", "yield_time_ms": 250}
    body_text = create_exec_command_sse_response("sleep 1", yield_time_ms=10)
    call = next(e for e in parse_sse(body_text) if e.get("type") == "response.output_item.done")
    assert json.loads(call["item"]["arguments"])["yield_time_ms"] == 10
    with pytest.raises(ValueError, match="yield_time_ms"):
        ev_exec_command_call("c", "ls", yield_time_ms=-1)
    spawn = ev_function_call("s", "spawn_agent", "{}", namespace="multi_agent_v1")
    assert spawn["item"]["namespace"] == "multi_agent_v1"
    from codex_fixtures.mock.replies import ScriptedReply

    assert scripted_calls(ScriptedReply(events=(spawn,))) == [("function_call", "multi_agent_v1.spawn_agent")]
    assert "namespace" not in ev_function_call("s", "x", "{}")["item"]


def test_assistant_history_and_image_spans():
    data = {"input": [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": '<image name=[Image #1] path="/tmp/a.png">'},
            {"type": "input_image", "image_url": "data:image/png;base64,AA=="},
            {"type": "input_text", "text": "</image>"},
            {"type": "input_text", "text": "describe it"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done", "annotations": []}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<image> is a tag I typed"}]},
    ]}
    request = CapturedRequest("POST", "/v1/responses", {}, json.dumps(data).encode(), 0.0)
    assert request.message_input_texts("assistant") == ["Done"]
    assert request.user_prompts() == ["describe it", "<image> is a tag I typed"]
    assert len(request.message_input_texts("user")) == 4  # keeps everything
