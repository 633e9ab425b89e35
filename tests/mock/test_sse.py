"""SSE framing and event builders: exact upstream wire bytes, shapes, and openai SDK acceptance."""

from __future__ import annotations

import base64
import functools
import json
import typing

import httpx
import pytest
from codex_fixtures.mock.sse import (
    create_final_assistant_message_sse_response,
    create_shell_command_sse_response,
    ev_assistant_message,
    ev_completed,
    ev_completed_with_tokens,
    ev_failed,
    ev_function_call,
    ev_local_shell_call,
    ev_message_item_added,
    ev_output_text_delta,
    ev_reasoning_item,
    ev_reasoning_item_added,
    ev_reasoning_summary_text_delta,
    ev_reasoning_text_delta,
    ev_response_created,
    ev_shell_command_call,
    parse_sse,
    spec_complete_stream,
    sse,
    sse_completed,
    sse_failed,
)
from hypothesis import given
from hypothesis import strategies as st

if typing.TYPE_CHECKING:  # openai is imported where it is used: at collection it would cost every xdist worker ~1 s
    import openai


@functools.cache
def sdk_event_models() -> dict[str, typing.Any]:
    """The openai SDK's stream event model for each event type (openai imported on first use, not at collection)."""
    from openai.types.responses import ResponseStreamEvent

    union = typing.get_args(ResponseStreamEvent)[0]
    return {typing.get_args(m.model_fields["type"].annotation)[0]: m for m in typing.get_args(union)}


def sdk_validate(event: dict) -> None:
    """Validate one event strictly against the openai SDK model for its type."""
    sdk_event_models()[event["type"]].model_validate(event)


# ------------------------------------------------------------------ framing


def test_sse_module_still_exports_every_event_builder() -> None:
    """The ``ev_*`` builders moved to ``mock.stream_events``; ``mock.sse`` re-exports each (fails on main: no such module)."""
    from codex_fixtures.mock import sse as sse_module
    from codex_fixtures.mock import stream_events

    assert set(stream_events.__all__) <= set(sse_module.__all__)
    assert all(getattr(sse_module, name) is getattr(stream_events, name) for name in stream_events.__all__)


def test_sse_wire_bytes_match_upstream_framing() -> None:
    body = sse([{"type": "response.output_text.delta", "delta": "hé\n"}, {"type": "response.in_progress"}])
    assert body == (
        "event: response.output_text.delta\n"
        'data: {"type":"response.output_text.delta","delta":"hé\\n"}\n'
        "\n"
        "event: response.in_progress\n"
        "\n"
    )


def test_sse_of_upstream_shaped_builder_is_byte_exact() -> None:
    assert sse([ev_output_text_delta("hi")]) == (
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"hi"}\n\n'
    )
    assert sse([]) == ""


@pytest.mark.parametrize("bad", [{"delta": "x"}, {"type": 3}, "response.created"])
def test_sse_rejects_events_without_string_type(bad: object) -> None:
    with pytest.raises(ValueError, match="needs a string 'type'"):
        sse([bad])  # type: ignore[list-item]


def test_parse_sse_round_trips_every_builder() -> None:
    events = [
        ev_response_created("resp-1"),
        ev_reasoning_item_added("rs-1", ["thinking"]),
        ev_reasoning_summary_text_delta("think"),
        ev_reasoning_text_delta("raw"),
        ev_reasoning_item("rs-1", ["thinking"], ["raw"]),
        ev_message_item_added("msg-1", ""),
        ev_output_text_delta("he"),
        ev_assistant_message("msg-1", "hello"),
        ev_function_call("call-1", "f", '{"a":1}'),
        ev_local_shell_call("call-2", "completed", ["ls", "-l"]),
        {"type": "response.in_progress"},
        ev_completed("resp-1"),
    ]
    assert parse_sse(sse(events)) == events


def test_parse_sse_handles_crlf_comments_and_multiline_data() -> None:
    body = ': keep-alive\r\nevent: a\r\ndata: {"type":\r\ndata: "a"}\r\n\r\nevent: b\r\n\r\n'
    assert parse_sse(body) == [{"type": "a"}, {"type": "b"}]


def test_parse_sse_rejects_non_json_data() -> None:
    with pytest.raises(ValueError, match="event #1: data is not JSON"):
        parse_sse("data: [DONE]\n\n")


@given(st.text(), st.text(min_size=1))
def test_parse_sse_inverts_sse_for_any_text(text: str, item_id: str) -> None:
    events = [ev_assistant_message(item_id, text), *ev_assistant_message(item_id, text, streamed=True)]
    assert parse_sse(sse(events)) == events


# ------------------------------------------------------------------ builder shapes


def test_message_builders_have_upstream_shapes() -> None:
    item = {"type": "message", "role": "assistant", "id": "msg-1", "content": [{"type": "output_text", "text": "hi"}]}
    assert ev_assistant_message("msg-1", "hi") == {"type": "response.output_item.done", "item": item}
    assert ev_message_item_added("msg-1", "hi") == {"type": "response.output_item.added", "item": item}
    assert ev_output_text_delta("d") == {"type": "response.output_text.delta", "delta": "d"}


def test_output_text_delta_with_item_id_is_spec_complete() -> None:
    event = ev_output_text_delta("d", item_id="msg-1", sequence_number=4)
    assert event == {
        "type": "response.output_text.delta",
        "delta": "d",
        "item_id": "msg-1",
        "output_index": 0,
        "content_index": 0,
        "logprobs": [],
        "sequence_number": 4,
    }
    sdk_validate(event)


def test_tool_call_builders_have_upstream_shapes() -> None:
    assert ev_function_call("c1", "f", "{}") == {
        "type": "response.output_item.done",
        "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
    }
    shell = ev_shell_command_call("c2", "ls -l")["item"]
    assert (shell["name"], json.loads(shell["arguments"])) == ("shell_command", {"command": "ls -l"})
    assert ev_local_shell_call("c3", "in_progress", ["echo", "x"])["item"] == {
        "type": "local_shell_call",
        "call_id": "c3",
        "status": "in_progress",
        "action": {"type": "exec", "command": ["echo", "x"]},
    }
    with pytest.raises(TypeError, match="JSON string"):
        ev_function_call("c1", "f", {"a": 1})  # type: ignore[arg-type]


def test_reasoning_builders_have_upstream_shapes() -> None:
    done = ev_reasoning_item("rs", ["s1", "s2"], ["r1", "r2"])["item"]
    assert done["summary"] == [{"type": "summary_text", "text": "s1"}, {"type": "summary_text", "text": "s2"}]
    assert base64.b64decode(done["encrypted_content"]) == b"b" * 550 + b"r1r2"
    assert done["content"] == [{"type": "reasoning_text", "text": "r1"}, {"type": "reasoning_text", "text": "r2"}]
    assert "content" not in ev_reasoning_item("rs", ["s"])["item"]
    assert ev_reasoning_item_added("rs", ["s"]) == {
        "type": "response.output_item.added",
        "item": {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "s"}]},
    }
    assert ev_reasoning_summary_text_delta("x") == {
        "type": "response.reasoning_summary_text.delta",
        "delta": "x",
        "summary_index": 0,
    }
    assert ev_reasoning_text_delta("x") == {"type": "response.reasoning_text.delta", "delta": "x", "content_index": 0}


def test_lifecycle_events_keep_upstream_keys() -> None:
    completed = ev_completed("resp-9")["response"]
    assert completed["id"] == "resp-9"
    assert completed["usage"]["input_tokens"] == completed["usage"]["total_tokens"] == 0
    assert {"input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details"} <= set(completed["usage"])
    assert (completed["object"], completed["status"]) == ("response", "completed")
    assert ev_completed_with_tokens("r", 42)["response"]["usage"]["input_tokens"] == 42
    assert ev_completed_with_tokens("r", 42)["response"]["usage"]["total_tokens"] == 42
    assert ev_response_created("r")["response"]["id"] == "r"
    failed = ev_failed("r", "boom")
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": "boom"}
    [only] = parse_sse(sse_failed("r", "rate_limit_exceeded", "slow down"))
    assert only["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}


def test_canned_final_assistant_message_body() -> None:
    events = parse_sse(create_final_assistant_message_sse_response("all done"))
    assert [e["type"] for e in events] == ["response.created", "response.output_item.done", "response.completed"]
    assert events[0]["response"]["id"] == events[2]["response"]["id"] == "resp-1"
    assert events[1]["item"]["id"] == "msg-1"
    assert events[1]["item"]["content"][0]["text"] == "all done"
    assert [e["type"] for e in parse_sse(sse_completed("r"))] == ["response.created", "response.completed"]


def test_canned_shell_command_body() -> None:
    events = parse_sse(create_shell_command_sse_response(["echo", "hi there"]))
    assert events[0]["response"]["id"] == events[-1]["response"]["id"] == "resp-call-1"
    item = events[1]["item"]
    assert (item["type"], item["name"], item["call_id"]) == ("function_call", "shell_command", "call-1")
    assert json.loads(item["arguments"]) == {"command": "echo 'hi there'", "workdir": None, "timeout_ms": None}
    custom = parse_sse(create_shell_command_sse_response(["ls"], workdir="/w", timeout_ms=5, call_id="c9"))
    assert json.loads(custom[1]["item"]["arguments"]) == {"command": "ls", "workdir": "/w", "timeout_ms": 5}
    assert custom[1]["item"]["call_id"] == "c9"


# ------------------------------------------------------------------ streamed form and the openai SDK


def test_streamed_assistant_message_is_the_spec_sequence() -> None:
    events = ev_assistant_message("msg-1", "hello big world", streamed=True)
    assert [e["type"] for e in events] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert "".join(e["delta"] for e in events if e["type"].endswith(".delta")) == "hello big world"
    assert [e["sequence_number"] for e in events] == list(range(1, 9))
    assert {e.get("item_id", e.get("item", {}).get("id")) for e in events} == {"msg-1"}
    for event in events:
        sdk_validate(event)


def test_streamed_assistant_message_custom_deltas() -> None:
    events = ev_assistant_message("m", "abc", streamed=True, deltas=["a", "bc"], output_index=2, sequence_start=7)
    assert [e["delta"] for e in events if "delta" in e] == ["a", "bc"]
    assert {e["output_index"] for e in events} == {2}
    assert events[0]["sequence_number"] == 7
    with pytest.raises(ValueError, match="do not join"):
        ev_assistant_message("m", "abc", streamed=True, deltas=["a"])
    with pytest.raises(ValueError, match="streamed=True"):
        ev_assistant_message("m", "abc", deltas=["abc"])  # type: ignore[call-overload]


def test_spec_complete_stream_makes_upstream_events_sdk_valid() -> None:
    events = spec_complete_stream(
        [
            ev_response_created("r"),
            ev_reasoning_item_added("rs", ["a"]),
            ev_reasoning_summary_text_delta("a"),
            ev_reasoning_item("rs", ["a"]),
            ev_message_item_added("m", ""),
            ev_output_text_delta("x"),
            ev_assistant_message("m", "x"),
            ev_function_call("c", "f", "{}"),
            ev_completed("r"),
        ]
    )
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e.get("output_index") for e in events[1:-1]] == [0, 0, 0, 1, 1, 1, 2]
    assert events[5]["item_id"] == "m"
    assert [i["type"] for i in events[-1]["response"]["output"]] == ["reasoning", "message", "function_call"]
    for event in events:
        sdk_validate(event)


def _sdk_client(body: str) -> openai.OpenAI:
    import openai

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="sk-test", base_url="http://mock.invalid/v1", http_client=http_client, max_retries=0)


@pytest.mark.parametrize("streamed", [False, True])
def test_openai_sdk_stream_accumulator_accepts_our_bodies(streamed: bool) -> None:
    message = ev_assistant_message("msg-1", "hi from the mock", streamed=True) if streamed else [
        ev_assistant_message("msg-1", "hi from the mock")
    ]
    body = sse(spec_complete_stream([ev_response_created("resp-1"), *message, ev_completed("resp-1")]))
    client = _sdk_client(body)
    with client.responses.stream(model="mock-model", input="hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.id == "resp-1"
    assert final.output_text == "hi from the mock"
    assert "".join(deltas) == ("hi from the mock" if streamed else "")


def test_openai_sdk_accepts_canned_body() -> None:
    client = _sdk_client(create_final_assistant_message_sse_response("canned"))
    with client.responses.stream(model="mock-model", input="hello") as stream:
        assert stream.get_final_response().output_text == "canned"
