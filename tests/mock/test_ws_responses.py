"""The Responses API over WebSocket on the mock's port, driven with the ``websockets`` client.

Every test here fails on main, whose mock answers a WebSocket upgrade 404 and records a problem.
"""

from __future__ import annotations

import json

import httpx
import pytest
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.mock.loopback import MockResponsesServer
from codex_fixtures.mock.matching import body_contains
from codex_fixtures.mock.sse import ev_assistant_message, ev_completed, ev_response_created
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

WAIT = 5.0


def create(text: str, **extra) -> str:
    return json.dumps(
        {
            "type": "response.create",
            "model": "mock-model",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
            **extra,
        }
    )


def events(reply_id: str, text: str) -> list[dict]:
    return [ev_response_created(reply_id), ev_assistant_message(f"msg-{reply_id}", text), ev_completed(reply_id)]


def read_reply(ws) -> list[dict]:
    """Frames up to the one that ends a reply."""
    out = []
    while True:
        frame = json.loads(ws.recv(timeout=WAIT))
        out.append(frame)
        if frame["type"] in ("response.completed", "response.failed", "error"):
            return out


def test_each_response_create_frame_takes_the_next_scripted_reply_on_one_connection():
    with MockResponsesServer(transport="websocket") as server:
        server.enqueue(events("r1", "first"))
        server.enqueue(events("r2", "second"), match=body_contains("two"))
        with connect(server.ws_url_v1 + "/responses", additional_headers={"x-client": "port"}, open_timeout=WAIT) as ws:
            ws.send(create("one"))
            first = read_reply(ws)
            ws.send(create("two"))
            second = read_reply(ws)
        assert [f["type"] for f in first] == ["response.created", "response.output_item.done", "response.completed"]
        assert first[1]["item"]["content"][0]["text"] == "first" and second[1]["item"]["content"][0]["text"] == "second"
        one, two = server.requests
        assert (one.transport, one.index, one.path, one.header("x-client")) == ("websocket", 1, "/v1/responses", "port")
        assert one.message_input_texts("user") == ["one"] and two.body_json["type"] == "response.create"
        upgrade = server.all_requests[0]
        assert (upgrade.method, upgrade.transport, upgrade.header("x-client")) == ("GET", "websocket", "port")
        server.check()


def test_http_only_server_declines_the_upgrade_with_426_and_records_no_problem():
    with MockResponsesServer() as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(server.ws_url_v1 + "/responses", open_timeout=WAIT)
        assert refused.value.response.status_code == 426
        assert server.problems == [] and server.requests == []
        server.check()


def test_websocket_only_server_makes_an_http_model_request_a_problem():
    with MockResponsesServer(transport="websocket") as server:
        server.enqueue(events("r1", "never"), required=False)
        answer = httpx.post(server.url_v1 + "/responses", json={"model": "m", "input": []}, timeout=WAIT)
        assert answer.status_code == 404
        with pytest.raises(MockResponsesCheckError, match="WebSocket only"):
            server.check()


def test_both_serves_http_and_websocket_from_one_script():
    with MockResponsesServer(transport="both") as server:
        server.enqueue(events("r1", "over http"))
        server.enqueue(events("r2", "over ws"))
        assert httpx.post(server.url_v1 + "/responses", json={"model": "m", "input": []}, timeout=WAIT).status_code == 200
        with connect(server.ws_url_v1 + "/responses", open_timeout=WAIT) as ws:
            ws.send(create("hi"))
            assert read_reply(ws)[1]["item"]["content"][0]["text"] == "over ws"
        assert [r.transport for r in server.requests] == ["http", "websocket"]
        server.check()


def test_an_error_status_becomes_an_error_frame_and_the_connection_stays():
    with MockResponsesServer(transport="websocket") as server:
        server.enqueue(None, status=429, headers={"retry-after": "1"})
        server.enqueue(events("r2", "after"))
        with connect(server.ws_url_v1 + "/responses", open_timeout=WAIT) as ws:
            ws.send(create("one"))
            (error,) = read_reply(ws)
            ws.send(create("two"))
            assert read_reply(ws)[-1]["type"] == "response.completed"
        assert (error["type"], error["status"], error["headers"]["retry-after"]) == ("error", 429, "1")
        server.check()


def test_a_cut_stream_drops_the_connection():
    with MockResponsesServer(transport="websocket") as server:
        server.enqueue(events("r1", "cut"), cut_after=1)
        with connect(server.ws_url_v1 + "/responses", open_timeout=WAIT) as ws:
            ws.send(create("one"))
            assert json.loads(ws.recv(timeout=WAIT))["type"] == "response.created"
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=WAIT)
        server.check()


def test_a_warm_up_frame_is_answered_without_taking_a_scripted_reply():
    with MockResponsesServer(transport="websocket") as server:
        server.enqueue(events("r1", "real"))
        with connect(server.ws_url_v1 + "/responses", open_timeout=WAIT) as ws:
            ws.send(create("warm", generate=False))
            warm = read_reply(ws)
            ws.send(create("real", previous_response_id="prewarm"))
            real = read_reply(ws)
        assert [f["type"] for f in warm] == ["response.created", "response.completed"]
        assert real[1]["item"]["content"][0]["text"] == "real"
        assert len(server.requests) == 1 and [r.method for r in server.all_requests] == ["GET", "WS", "POST"]
        server.check()


def test_an_upgrade_outside_the_secret_prefix_is_refused_and_recorded():
    with MockResponsesServer(transport="websocket") as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(server.origin.replace("http", "ws") + "/v1/responses", open_timeout=WAIT)
        assert refused.value.response.status_code == 404
        assert server.requests == [] and "outside the mock's secret path prefix" in server.problems[0]


def test_a_frame_that_is_not_json_is_a_problem():
    with MockResponsesServer(transport="websocket") as server:
        with connect(server.ws_url_v1 + "/responses", open_timeout=WAIT) as ws:
            ws.send("not json")
            ws.send(create("after", generate=False))
            read_reply(ws)  # the connection still serves
        assert any("not a JSON object" in p for p in server.problems)


def test_transport_is_checked():
    with pytest.raises(ValueError, match="transport must be one of"):
        MockResponsesServer(transport="ws")


def test_close_ends_an_open_websocket_and_its_thread():
    server = MockResponsesServer(transport="websocket").start()
    with connect(server.ws_url_v1 + "/responses", open_timeout=WAIT) as ws:
        ws.send(create("warm", generate=False))
        read_reply(ws)
        server.close()  # joins the connection threads within its budget, else records a problem
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=WAIT)
    assert server.problems == []
