"""MockResponsesServer over real loopback sockets, driven with httpx (and the openai SDK)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.mock.loopback import (
    MockResponsesServer,
    create_mock_responses_server_repeating_assistant,
    create_mock_responses_server_sequence,
    create_mock_responses_server_sequence_unchecked,
)
from codex_fixtures.mock.script import Gate, ResponsesScript
from codex_fixtures.mock.sse import (
    create_final_assistant_message_sse_response,
    ev_assistant_message,
    ev_completed,
    ev_response_created,
    parse_sse,
    spec_complete_stream,
    sse,
)

WAIT = 5.0
REQUEST = {"model": "mock-model", "input": [{"type": "message", "role": "user", "content": "hi"}]}


def three_events(text: str = "hi") -> list[dict]:
    return [ev_response_created("resp-1"), ev_assistant_message("msg-1", text), ev_completed("resp-1")]


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mock-responses-")]


@pytest.fixture
def server() -> Iterator[MockResponsesServer]:
    with MockResponsesServer() as srv:
        yield srv


@pytest.fixture
def client(server: MockResponsesServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url_v1, timeout=WAIT) as http:
        yield http


def read_event(lines: Iterator[str]) -> dict:
    """Read one SSE event (up to its blank line) from an httpx line iterator."""
    block = []
    for line in lines:
        if not line:
            break
        block.append(line)
    return parse_sse("\n".join(block) + "\n\n")[0]


# ------------------------------------------------------------------ lifecycle and addresses


def test_addresses_and_idempotent_lifecycle() -> None:
    srv = MockResponsesServer()
    with pytest.raises(RuntimeError, match="not started"):
        srv.uri
    assert srv.start() is srv.start()
    assert srv.origin == f"http://127.0.0.1:{srv.port}" and srv.url_v1 == srv.uri + "/v1"
    assert srv.uri == srv.origin + srv.path_prefix and len(srv.path_prefix) == 33  # "/" + 32 random characters
    assert srv.path_prefix not in repr(srv)
    srv.close()
    srv.close()
    with pytest.raises(RuntimeError, match="closed"):
        srv.start()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        MockResponsesServer(host=host)


def test_models_endpoint(server: MockResponsesServer, client: httpx.Client) -> None:
    response = client.get("/models")
    assert (response.status_code, response.json()) == (200, {"models": []})
    server.check()


# ------------------------------------------------------------------ streaming


def test_events_arrive_incrementally_while_the_gate_holds(server: MockResponsesServer, client: httpx.Client) -> None:
    gate = Gate(after=1)
    server.enqueue(three_events(), gate=gate)
    with client.stream("POST", "/responses", json=REQUEST) as response:
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.iter_lines()
        assert read_event(lines)["type"] == "response.created"  # readable while the rest is held
        assert gate.wait_reached(WAIT) and not gate.released
        gate.release()
        rest = [read_event(lines), read_event(lines)]
    assert [e["type"] for e in rest] == ["response.output_item.done", "response.completed"]
    [request] = server.requests
    assert request.message_input_texts("user") == ["hi"]
    assert request.header("Content-Type") == "application/json"
    server.check()


def test_eight_concurrent_streams(server: MockResponsesServer) -> None:
    gate = Gate(after=1)
    for n in range(8):
        server.enqueue(three_events(f"m{n}"), gate=gate)
    first_seen = [threading.Event() for _ in range(8)]
    bodies: list[list[dict]] = [[] for _ in range(8)]

    def stream(n: int) -> None:
        with httpx.Client(base_url=server.url_v1, timeout=WAIT) as http:
            with http.stream("POST", "/responses", json=REQUEST) as response:
                lines = response.iter_lines()
                bodies[n].append(read_event(lines))
                first_seen[n].set()
                bodies[n].extend(parse_sse("\n".join(lines) + "\n"))

    threads = [threading.Thread(target=stream, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    assert all(seen.wait(WAIT) for seen in first_seen)  # all 8 are open and held at once
    gate.release()
    for thread in threads:
        thread.join(WAIT)
    texts = sorted(b[1]["item"]["content"][0]["text"] for b in bodies)
    assert texts == [f"m{n}" for n in range(8)]
    assert all(b[-1]["type"] == "response.completed" for b in bodies)
    server.check()


def test_cut_after_truncates_the_body(server: MockResponsesServer, client: httpx.Client) -> None:
    server.enqueue(three_events(), cut_after=2)
    response = client.post("/responses", json=REQUEST)
    assert response.status_code == 200
    assert [e["type"] for e in parse_sse(response.text)] == ["response.created", "response.output_item.done"]
    server.check()


def test_openai_sdk_streams_from_the_server(server: MockResponsesServer) -> None:
    events = [ev_response_created("resp-1"), *ev_assistant_message("msg-1", "hello there", streamed=True)]
    server.enqueue(sse(spec_complete_stream([*events, ev_completed("resp-1")])))
    import openai  # here, not at the top: importing it costs every collecting process ~0.4 s

    with openai.OpenAI(api_key="sk-test", base_url=server.url_v1, max_retries=0) as sdk:
        with sdk.responses.stream(model="mock-model", input="hi") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            assert stream.get_final_response().output_text == "hello there"
    assert deltas == ["hello ", "there"]
    assert server.requests[0].message_input_texts("user") == ["hi"]
    server.check()


# ------------------------------------------------------------------ errors and problems


def test_500_and_429_with_retry_after(server: MockResponsesServer, client: httpx.Client) -> None:
    server.enqueue(None, status=500)
    server.enqueue(None, status=429, headers={"retry-after": "1"})
    first, second = client.post("/responses", json=REQUEST), client.post("/responses", json=REQUEST)
    assert (first.status_code, first.json()["error"]["type"]) == (500, "server_error")
    assert (second.status_code, second.headers["retry-after"]) == (429, "1")
    assert second.json()["error"]["code"] == "rate_limit_exceeded"
    server.check()


def test_unknown_path_and_malformed_json_are_4xx_and_listed(
    server: MockResponsesServer, client: httpx.Client
) -> None:
    server.enqueue(three_events())
    assert client.get("/unknown").status_code == 404
    assert client.post("/responses", content=b"{oops", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/responses", json=REQUEST).status_code == 200
    with pytest.raises(MockResponsesCheckError) as info:
        server.check()
    assert len(info.value.problems) == 2
    assert "unexpected request GET /v1/unknown" in info.value.problems[0]
    assert "request #1 POST /v1/responses: body is not JSON" in info.value.problems[1]
    assert [r.path for r in server.all_requests] == ["/v1/unknown", "/v1/responses", "/v1/responses"]


def test_request_after_the_script_ran_out() -> None:
    with create_mock_responses_server_sequence([three_events()]) as srv:
        with httpx.Client(base_url=srv.url_v1, timeout=WAIT) as http:
            assert http.post("/responses", json=REQUEST).status_code == 200
            response = http.post("/responses", json=REQUEST)
        assert response.status_code == 500
        message = "mock Responses API: no scripted reply left for request #2 POST /v1/responses: 1 scripted, 1 served; its last user message: 'hi'"
        assert response.json()["error"]["message"] == message
        with pytest.raises(MockResponsesCheckError, match=message):
            srv.check()


def test_bad_request_line_is_recorded_not_printed(
    server: MockResponsesServer, capfd: pytest.CaptureFixture[str]
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"GET /v1/responses NOT-HTTP/1.1\r\n\r\n")
        assert b"400" in sock.recv(4096)  # the stdlib's HTTP/0.9-style error page
    assert any("code 400, message Bad request version" in p for p in server.problems)
    assert capfd.readouterr().err == ""


def test_handler_exceptions_become_problems_and_500() -> None:
    class Broken(ResponsesScript):
        def handle(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def,override]
            raise RuntimeError("boom")

    with MockResponsesServer(Broken()) as srv:
        with httpx.Client(base_url=srv.url_v1, timeout=WAIT) as http:
            response = http.post("/responses", json=REQUEST)
        assert response.status_code == 500 and "boom" in response.json()["error"]["message"]
        with pytest.raises(MockResponsesCheckError, match="handler error on POST /v1/responses: RuntimeError"):
            srv.check()


# ------------------------------------------------------------------ factories and shutdown


def test_factories() -> None:
    with create_mock_responses_server_repeating_assistant("again") as srv:
        with httpx.Client(base_url=srv.url_v1, timeout=WAIT) as http:
            bodies = [http.post("/responses", json=REQUEST).text for _ in range(3)]
        assert {parse_sse(b)[1]["item"]["content"][0]["text"] for b in bodies} == {"again"}
        srv.check()
    bodies_in = [create_final_assistant_message_sse_response("a"), three_events("b")]
    with create_mock_responses_server_sequence(bodies_in) as checked:
        assert checked.running
        with pytest.raises(MockResponsesCheckError, match="2 scripted replies never requested"):
            checked.check()
    with create_mock_responses_server_sequence_unchecked(bodies_in) as unchecked:
        unchecked.check()


def test_close_with_a_held_gate_is_fast_and_leaves_no_thread() -> None:
    srv = MockResponsesServer().start()
    gate = Gate(after=1)
    srv.enqueue(three_events(), gate=gate)
    received: list[str] = []

    def stream() -> None:
        with httpx.Client(base_url=srv.url_v1, timeout=WAIT) as http:
            with http.stream("POST", "/responses", json=REQUEST) as response:
                received.extend(response.iter_lines())

    client_thread = threading.Thread(target=stream, daemon=True)
    client_thread.start()
    assert gate.wait_reached(WAIT)
    started = time.monotonic()
    srv.close()
    assert time.monotonic() - started < 1.0
    client_thread.join(WAIT)
    assert not client_thread.is_alive()
    assert [e["type"] for e in parse_sse("\n".join(received) + "\n")] == ["response.created"]
    assert server_threads() == []
    assert srv.problems == []


def test_close_drops_idle_connections() -> None:
    srv = MockResponsesServer().start()
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\n")  # a request that never finishes
    try:
        started = time.monotonic()
        srv.close()
        assert time.monotonic() - started < 1.0
        assert server_threads() == []
    finally:
        sock.close()


def test_reset_keeps_serving(server: MockResponsesServer, client: httpx.Client) -> None:
    server.enqueue(three_events())
    server.reset()
    server.enqueue(three_events("after reset"))
    body = client.post("/responses", json=REQUEST).text
    assert parse_sse(body)[1]["item"]["content"][0]["text"] == "after reset"
    assert json.loads(server.requests[0].body) == REQUEST
    server.check()
