"""The real binary reaches the mock every way it reaches a model: WebSocket, HTTP, zstd bodies, the built-in provider.

Each test fails on main: there the mock answers the WebSocket upgrade 404 (a recorded problem, and
the binary retries it for ~6 s), hands zstd bodies to the script undecoded (400 "body is not JSON"),
and ``model_provider="openai"`` writes a ``[model_providers.openai]`` table the binary refuses.
"""

from __future__ import annotations

import pytest
from codex_fixtures.mock.sse import ev_assistant_message, ev_completed, ev_response_created

pytestmark = [
    pytest.mark.codex_binary,
    pytest.mark.codex_requires(version=">=0.163", reason="pins 0.163+ (Responses WebSocket, openai_base_url, zstd bodies)"),
]

BUILTIN = {"model_provider": "openai"}


def text(prompt: str) -> list[dict]:
    return [{"type": "text", "text": prompt, "text_elements": []}]


def turn(app, prompt: str) -> dict:
    thread = app.start_thread()
    done = app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text(prompt)})
    assert done.params["turn"]["status"] == "completed"
    return thread


def reply(n: int, said: str) -> list[dict]:
    return [ev_response_created(f"resp-{n}"), ev_assistant_message(f"msg-{n}", said), ev_completed(f"resp-{n}")]


@pytest.mark.codex(transport="websocket", responses=[reply(1, "over the socket"), reply(2, "again")])
def test_a_custom_provider_turn_runs_over_websocket(codex_app_server, codex_responses):
    app = codex_app_server
    thread = turn(app, "first")
    app.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("second")})
    first, second = codex_responses.requests
    assert {first.transport, second.transport} == {"websocket"}
    assert first.body_json["type"] == "response.create" and "second" in second.body_json["input"][-1]["content"][0]["text"]
    upgrades = [r for r in codex_responses.all_requests if r.method == "GET" and r.transport == "websocket"]
    assert upgrades and all(u.path == "/v1/responses" for u in upgrades)


@pytest.mark.codex(config={"transport": "websocket"})
def test_an_unasked_probe_is_declined_once_and_the_turn_falls_back_to_http(codex_app_server, codex_responses):
    turn(codex_app_server, "hello")
    upgrades = [r for r in codex_responses.all_requests if r.method == "GET" and r.transport == "websocket"]
    (request,) = codex_responses.requests
    assert request.transport == "http" and len(upgrades) == 1  # no retries
    assert codex_responses.problems == []


@pytest.mark.codex(auth="chatgpt", config=BUILTIN, transport="websocket")
def test_chatgpt_login_through_the_builtin_provider_over_websocket(codex_app_server, codex_responses, codex_home):
    assert "openai_base_url" in (codex_home / "config.toml").read_text()
    turn(codex_app_server, "hello")
    (request,) = codex_responses.requests
    assert request.transport == "websocket" and request.header("authorization") == "Bearer fake-access-token"
    assert request.header("chatgpt-account-id") == "acct-test"


@pytest.mark.codex(auth="chatgpt", config=BUILTIN)
def test_chatgpt_login_through_the_builtin_provider_over_http_with_zstd_bodies(codex_app_server, codex_responses):
    turn(codex_app_server, "hello zstd")
    (request,) = codex_responses.requests
    assert (request.transport, request.encoding, request.header("content-encoding")) == ("http", "zstd", "zstd")
    assert request.message_input_texts("user")[-1] == "hello zstd"
    assert request.header("authorization") == "Bearer fake-access-token"


@pytest.mark.codex(responses=[reply(1, "first answer"), reply(2, "second answer")])
def test_an_item_the_binary_sends_back_normalizes_to_the_scripted_one(codex_app_server, codex_responses):
    # fails on main: no normalized view (the binary adds status, drops the id, adds annotations)
    from codex_fixtures.mock.captured import normalize_response_item

    thread = turn(codex_app_server, "hello")
    codex_app_server.start_turn_and_wait_for_completion({"threadId": thread["id"], "input": text("again")})
    sent_back = [i for i in codex_responses.requests[1].normalized_input() if i.get("role") == "assistant"]
    assert sent_back == [normalize_response_item(ev_assistant_message("msg-1", "first answer")["item"])]
    assert {"type", "role", "content"} == set(codex_responses.requests[1].normalized_input()[-1])  # the user's, id gone
