"""The respx transport: same script, same captured requests, same check(), for httpx and the openai SDK."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import respx
from codex_fixtures import (
    Gate,
    MockResponsesCheckError,
    MockResponsesServer,
    ResponsesScript,
    create_final_assistant_message_sse_response,
    ev_assistant_message,
    ev_completed,
    ev_function_call,
    ev_response_created,
    mount_responses_respx,
    sse,
)
from codex_fixtures.mock.respx_mount import DEFAULT_BASE_URL
from codex_fixtures.mock.sse import spec_complete_stream

if TYPE_CHECKING:  # openai is imported where it is used: at collection it would cost every xdist worker ~1 s
    import openai

TEXT = "Scripted answer from the mock"


def streamed_text_body(text: str = TEXT) -> str:
    """A spec-complete stream with per-word deltas (what the SDK accumulator needs)."""
    message = ev_assistant_message("msg-1", text, streamed=True)
    return sse(spec_complete_stream([ev_response_created("resp-1"), *message, ev_completed("resp-1")]))


def function_call_body() -> str:
    events = [ev_response_created("resp-fc"), ev_function_call("call-7", "get_weather", '{"city":"Paris"}'), ev_completed("resp-fc")]
    return sse(spec_complete_stream(events))


def sdk(**kw) -> openai.OpenAI:
    import openai

    return openai.OpenAI(api_key="test", base_url=DEFAULT_BASE_URL, max_retries=0, **kw)


def async_sdk() -> openai.AsyncOpenAI:
    import openai

    return openai.AsyncOpenAI(api_key="test", base_url=DEFAULT_BASE_URL, max_retries=0)


# ------------------------------------------------------------------ openai SDK, sync and async


@pytest.mark.parametrize("body", [streamed_text_body(), create_final_assistant_message_sse_response(TEXT)], ids=["deltas", "canned"])
def test_openai_sync_stream_and_create_get_the_scripted_text(body):
    with mount_responses_respx([body, body]) as mock:
        client = sdk()
        with client.responses.stream(model="mock-model", input="hello") as stream:
            events = [e.type for e in stream]
            final = stream.get_final_response()
        assert final.output_text == TEXT and final.id == "resp-1"
        assert events[0] == "response.created" and events[-1] == "response.completed"
        created = list(client.responses.create(model="mock-model", input="again", stream=True))
        assert created[-1].response.output_text == TEXT
        mock.check()
    assert [r.message_input_texts("user") for r in mock.requests] == [["hello"], ["again"]]
    assert mock.requests[0].header("authorization") == "Bearer test"


def test_openai_async_stream_and_create_get_the_scripted_text():
    async def main():
        client = async_sdk()
        async with client.responses.stream(model="mock-model", input="hi async") as stream:
            deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
            final = await stream.get_final_response()
        created = [e async for e in await client.responses.create(model="m", input="x", stream=True)]
        return deltas, final, created

    with mount_responses_respx([streamed_text_body(), streamed_text_body()]) as mock:
        deltas, final, created = asyncio.run(main())
        mock.check()
    assert "".join(deltas) == TEXT and final.output_text == TEXT
    assert created[-1].type == "response.completed"
    assert mock.requests[0].message_input_texts("user") == ["hi async"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_openai_sdk_gets_scripted_function_calls(mode):
    def check(final):
        calls = [item for item in final.output if item.type == "function_call"]
        assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [("call-7", "get_weather", {"city": "Paris"})]

    with mount_responses_respx([function_call_body()]) as mock:
        if mode == "sync":
            with sdk().responses.stream(model="m", input="weather?") as stream:
                check(stream.get_final_response())
        else:
            async def main():
                async with async_sdk().responses.stream(model="m", input="weather?") as stream:
                    return await stream.get_final_response()

            check(asyncio.run(main()))
        mock.check()


def test_scripted_http_error_reaches_the_sdk_as_its_exception():
    import openai

    script = ResponsesScript()
    script.enqueue(None, status=429, headers={"retry-after": "0"})
    with mount_responses_respx(script) as mock, pytest.raises(openai.RateLimitError):
        sdk().responses.create(model="m", input="x")
    mock.check()


# ------------------------------------------------------------------ parity with the loopback server


def _normalized(requests):
    return [
        (r.method, r.path, r.query, r.index, r.body_json, r.header("content-type"), r.header("authorization"))
        for r in requests
    ]


def _drive_httpx(base: str, client_cls=httpx.Client) -> list[str]:
    texts = []
    with client_cls() as client:
        for prompt in ("one", "two"):
            payload = {"model": "mock-model", "input": prompt, "stream": True}
            with client.stream("POST", f"{base}/responses?api-version=1", json=payload,
                               headers={"authorization": "Bearer k"}) as resp:
                texts.append(resp.read().decode())
        assert client.get(f"{base}/models").json() == {"models": []}
    return texts


def test_captured_requests_match_the_loopback_server():
    bodies = [create_final_assistant_message_sse_response("a"), create_final_assistant_message_sse_response("b")]
    with MockResponsesServer(ResponsesScript()) as server:
        for b in bodies:
            server.enqueue(b)
        loop_texts = _drive_httpx(server.url_v1)
        server.check()
    with mount_responses_respx(list(bodies)) as mock:
        rx_texts = _drive_httpx(DEFAULT_BASE_URL)
        mock.check()
    assert rx_texts == loop_texts == bodies
    assert _normalized(mock.requests) == _normalized(server.requests)
    assert [r.path for r in mock.all_requests] == ["/v1/responses", "/v1/responses", "/v1/models"]


def test_one_script_served_by_loopback_and_respx_at_once():
    import openai

    script = ResponsesScript(repeat=create_final_assistant_message_sse_response(TEXT))
    with MockResponsesServer(script) as server, mount_responses_respx(server) as mock:
        assert mock.script is script
        with sdk().responses.stream(model="m", input="via respx") as stream:
            assert stream.get_final_response().output_text == TEXT
        loop = openai.OpenAI(api_key="test", base_url=server.url_v1, max_retries=0)  # loopback passes through
        with loop.responses.stream(model="m", input="via loopback") as stream:
            assert stream.get_final_response().output_text == TEXT
        assert [r.message_input_texts("user") for r in server.requests] == [["via respx"], ["via loopback"]]
        assert [r.index for r in script.requests] == [1, 2]
        server.check()


# ------------------------------------------------------------------ streaming behaviour


def test_async_stream_with_delays_does_not_block_the_event_loop():
    script = ResponsesScript()
    script.enqueue(streamed_text_body("a b c d"), delay_between_events_s=0.05)

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with httpx.AsyncClient() as client, client.stream("POST", f"{DEFAULT_BASE_URL}/responses", json={"input": "x"}) as resp:
            chunks = [c async for c in resp.aiter_raw()]
        task.cancel()
        return chunks, ticks

    with mount_responses_respx(script) as mock:
        started = time.monotonic()
        chunks, ticks = asyncio.run(main())
        mock.check()
    assert len(chunks) == 11  # one SSE event per chunk: created + 8 message events + completed ... + done
    assert time.monotonic() - started >= 0.4 and ticks >= 10


def test_gate_holds_a_sync_stream_until_released():
    gate = Gate(after=1)
    script = ResponsesScript()
    script.enqueue(create_final_assistant_message_sse_response("held"), gate=gate)
    with mount_responses_respx(script) as mock, httpx.Client() as client:
        with client.stream("POST", f"{DEFAULT_BASE_URL}/responses", json={"input": "x"}) as resp:
            it = resp.iter_raw()
            assert next(it).startswith(b"event: response.created")
            releaser = threading.Timer(0.2, gate.release)
            releaser.start()
            started = time.monotonic()
            rest = b"".join(it)  # held at the gate until the timer releases it
            assert gate.wait_reached(0) and time.monotonic() - started >= 0.15
        assert b"response.completed" in rest
        mock.check()


def test_closing_a_stream_early_ends_the_reply():
    script = ResponsesScript()
    script.enqueue(create_final_assistant_message_sse_response("never read"), gate=Gate(after=1, max_hold_s=5))
    with mount_responses_respx(script) as mock, httpx.Client() as client:
        started = time.monotonic()
        with client.stream("POST", f"{DEFAULT_BASE_URL}/responses", json={"input": "x"}) as resp:
            next(resp.iter_raw())
        assert time.monotonic() - started < 2
        mock.check()


# ------------------------------------------------------------------ sources, routes, strictness


def test_sources_single_body_repeats_and_list_is_exact():
    with mount_responses_respx(create_final_assistant_message_sse_response("r")) as mock:
        for _ in range(3):
            assert httpx.post(f"{DEFAULT_BASE_URL}/responses", json={"input": "x"}).status_code == 200
        mock.check()
    with mount_responses_respx(["a", "b"]) as mock:
        httpx.post(f"{DEFAULT_BASE_URL}/responses", json={"input": "x"})
        with pytest.raises(MockResponsesCheckError, match="1 scripted reply never requested"):
            mock.check()
    with pytest.raises(TypeError, match="expected a MockResponsesServer"), mount_responses_respx(42):
        pass


def test_unexpected_requests_are_problems_and_other_hosts_are_not_mocked():
    with mount_responses_respx(create_final_assistant_message_sse_response("r")) as mock:
        assert httpx.get(f"{DEFAULT_BASE_URL}/files").status_code == 404
        assert httpx.post(f"{DEFAULT_BASE_URL}/responses", content=b"{not json").status_code == 400
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.get("https://example.invalid/")
        with pytest.raises(MockResponsesCheckError) as info:
            mock.check()
    assert "unexpected request GET /v1/files" in str(info.value)
    assert "body is not JSON" in str(info.value)


def test_custom_base_url_and_existing_router_and_cleanup():
    import openai

    base = "https://gateway.example/openai/v1"
    with respx.mock(assert_all_called=False) as router:
        router.get("https://other.example/ping").respond(204)
        with mount_responses_respx(create_final_assistant_message_sse_response("via gw"), base_url=base, router=router) as mock:
            client = openai.OpenAI(api_key="test", base_url=base, max_retries=0)
            with client.responses.stream(model="m", input="x") as stream:
                assert stream.get_final_response().output_text == "via gw"
            assert mock.responses_route.call_count == 1
            assert httpx.get("https://other.example/ping").status_code == 204
        assert len(router.routes) == 1  # our routes are gone, the user's route stays
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.post(f"{base}/responses", json={"input": "x"})
    with pytest.raises(openai.APIConnectionError):  # no mount: the default openai client is not routed any more
        openai.OpenAI(api_key="test", base_url="http://127.0.0.1:9/v1", max_retries=0).responses.create(model="m", input="x")


# ------------------------------------------------------------------ the plugin fixture


@pytest.mark.codex(reply="from the fixture")
def test_codex_respx_fixture_serves_the_marker_reply(codex_respx):
    with sdk().responses.stream(model="m", input="x") as stream:
        assert stream.get_final_response().output_text == "from the fixture"
    assert len(codex_respx.requests) == 1


def test_codex_respx_shares_the_codex_responses_script(codex_responses, codex_respx):
    assert codex_respx.script is codex_responses.script
    sdk().responses.create(model="m", input="shared")
    assert codex_responses.requests[0].message_input_texts("user") == ["shared"]


def test_enqueue_has_the_same_signature_as_the_loopback_server() -> None:
    import inspect

    from codex_fixtures import MockResponsesServer
    from codex_fixtures.mock.respx_mount import RespxMount

    assert inspect.signature(RespxMount.enqueue) == inspect.signature(MockResponsesServer.enqueue)
    with mount_responses_respx([]) as mock:
        mock.enqueue(None, status=429, headers={"retry-after": "2"})
        response = httpx.post(f"{DEFAULT_BASE_URL}/responses", json={"input": "x"})
        assert (response.status_code, response.headers["retry-after"]) == (429, "2")
        mock.check()
        assert mock.problems == []
