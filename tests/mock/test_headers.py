"""Scripted response headers are checked when scripted: CR/LF (header injection), bad names, non-Latin-1 (issue 18, 8)."""

from __future__ import annotations

import socket

import pytest
from codex_fixtures import MockResponsesServer, ScriptedReply

INJECTED = {"x-a": "1\r\nSet-Cookie: session=stolen"}
BAD = [
    ({"x-a": "1\r\nSet-Cookie: s=1"}, "a CR"),
    ({"x-a": "1\nSet-Cookie: s=1"}, "an LF"),
    ({"x-a": "1\x00"}, "a NUL"),
    ({"x-a": "1\x1b[0m"}, "a control character"),
    ({"x a": "1"}, "not an HTTP token"),
    ({"x-a:\r\nSet-Cookie": "1"}, "not an HTTP token"),
    ({"": "1"}, "not an HTTP token"),
    ({"x-a": "caf\u00e9 \u2603"}, "not Latin-1"),
]


def raw_get(server: MockResponsesServer, path: str) -> bytes:
    """The raw response bytes of ``GET path`` below the mock's secret prefix (httpx would parse away what we look for)."""
    host, port = server.origin.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET /{server.path_prefix.strip('/')}{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(("headers", "why"), BAD, ids=[w for _, w in BAD])
def test_route_refuses_a_bad_header_in_one_line(headers, why):
    with MockResponsesServer() as server:
        with pytest.raises(ValueError, match=why) as info:
            server.route("GET", "/x", body="ok", headers=headers)
        assert "\n" not in str(info.value) and "route GET /x" in str(info.value)


@pytest.mark.parametrize(("headers", "why"), BAD, ids=[w for _, w in BAD])
def test_enqueue_refuses_a_bad_header_in_one_line(headers, why):
    with MockResponsesServer() as server:
        with pytest.raises(ValueError, match=why) as info:
            server.enqueue("hello", headers=headers)
        assert "\n" not in str(info.value)
        with pytest.raises(ValueError, match=why):
            server.enqueue(lambda request: "hello", headers=headers)  # a computed reply: refused now, not when asked
        with pytest.raises(ValueError, match=why):
            ScriptedReply(body="", headers=headers)
        server.check()  # nothing was queued


def test_no_header_is_injected_into_a_response():
    """What used to happen: the CR/LF went out raw and the client saw a Set-Cookie header."""
    with MockResponsesServer() as server:
        with pytest.raises(ValueError, match="header injection"):
            server.route("GET", "/x", body="ok", headers=INJECTED)
        server.route("GET", "/x", body="ok", headers={"x-a": "1\tand a tab"})
        raw = raw_get(server, "/x")
        assert b"set-cookie" not in raw.lower()
        assert b"x-a: 1\tand a tab\r\n" in raw
        server.check()


def test_good_headers_are_served_as_given():
    with MockResponsesServer() as server:
        server.route("GET", "/x", body="ok", headers={"Retry-After": "1", "X-Latin": "caf\u00e9"})
        raw = raw_get(server, "/x")
        assert b"retry-after: 1\r\n" in raw and "x-latin: caf\u00e9\r\n".encode("latin-1") in raw
