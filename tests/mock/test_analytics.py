"""Picking analytics events out of the binary's batched POSTs (fails on main: no such helper)."""

from __future__ import annotations

import threading

import httpx
import pytest
from codex_fixtures.mock.analytics import ANALYTICS_PATH, analytics_events, wait_for_analytics_event
from codex_fixtures.mock.loopback import MockResponsesServer


def post(server, *events):
    body = {"events": [{"event_type": kind, "event_params": params} for kind, params in events]}
    assert httpx.post(server.uri + ANALYTICS_PATH, json=body, timeout=5).status_code == 200


def test_events_are_picked_from_batches_and_waited_for():
    with MockResponsesServer() as server:
        server.route("POST", ANALYTICS_PATH, json={})
        post(server, ("a", {"n": 1}), ("b", {"n": 2}))
        late = threading.Thread(target=post, args=(server, ("b", {"n": 3})))
        late.start()
        assert wait_for_analytics_event(server, "b", 5, where=lambda p: p["n"] == 3) == {"n": 3}
        late.join(5)
        assert [e["event_params"]["n"] for e in analytics_events(server.all_requests, "b")] == [2, 3]
        assert wait_for_analytics_event(server, "a", 5) == {"n": 1}  # already received counts
        with pytest.raises(TimeoutError, match="no analytics event 'c' within 0.1s; arrived: a, b"):
            wait_for_analytics_event(server, "c", 0.1)
        server.check()


def test_a_wait_routes_the_path_when_nothing_does():
    with MockResponsesServer() as server:
        with pytest.raises(TimeoutError, match="arrived: none"):
            wait_for_analytics_event(server, "x", 0.05)
        post(server, ("x", {"ok": True}))  # the sink the wait added answers it
        assert wait_for_analytics_event(server, "x", 5) == {"ok": True}
        server.check()
