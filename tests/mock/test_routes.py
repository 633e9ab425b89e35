"""Routes beyond ``POST .../responses``: canned answers, call records, ``times``, ``required``, ``delay_s``."""

from __future__ import annotations

import inspect
import threading
import time

import httpx
import pytest
from codex_fixtures import MockResponsesCheckError, MockResponsesServer, ResponsesScript, Route, add_chatgpt_backend_routes
from codex_fixtures.mock.routes import CHATGPT_BACKEND_PATHS, RouteOptions


@pytest.fixture
def server():
    with MockResponsesServer() as srv:
        yield srv


def test_json_route_answers_and_records_calls(server):
    route = server.route("GET", "/backend-api/wham/accounts/check", json={"accounts": []})
    reply = httpx.get(server.uri + "/backend-api/wham/accounts/check?x=1", headers={"authorization": "Bearer t"})
    assert reply.status_code == 200
    assert reply.json() == {"accounts": []}
    assert reply.headers["content-type"] == "application/json"
    assert [(c.method, c.path, c.query) for c in route.calls] == [("GET", "/backend-api/wham/accounts/check", "x=1")]
    assert route.calls[0].header("Authorization") == "Bearer t"
    assert server.requests == []  # not a model request
    server.check()


def test_body_status_and_headers(server):
    server.route("POST", "/events", body="accepted", status=202, headers={"X-Mock": "1"})
    reply = httpx.post(server.uri + "/events", content=b"{}")
    assert (reply.status_code, reply.text, reply.headers["x-mock"]) == (202, "accepted", "1")
    assert reply.headers["content-type"].startswith("text/plain")
    server.check()


def test_times_caps_the_calls_and_excess_fails_check(server):
    route = server.route("GET", "/once", json={"n": 1}, times=2)
    codes = [httpx.get(server.uri + "/once").status_code for _ in range(3)]
    assert codes == [200, 200, 404]
    assert len(route.calls) == 3
    with pytest.raises(MockResponsesCheckError, match=r"route GET /once called more than times=2 \(call #3"):
        server.check()


def test_routes_with_the_same_path_answer_in_order(server):
    server.route("GET", "/token", json={"token": "a"}, times=1)
    server.route("GET", "/token", json={"token": "b"})
    assert [httpx.get(server.uri + "/token").json()["token"] for _ in range(3)] == ["a", "b", "b"]
    server.check()


def test_required_route_never_called_fails_check(server):
    server.route("POST", "/backend-api/codex/analytics-events/events", required=True)
    with pytest.raises(MockResponsesCheckError, match="required route POST /backend-api/codex/analytics-events/events was never called"):
        server.check()
    httpx.post(server.uri + "/backend-api/codex/analytics-events/events", json={})
    server.check()


def test_optional_route_never_called_is_fine(server):
    server.route("GET", "/maybe")
    server.check()


def test_unrouted_path_stays_404_and_a_problem(server):
    server.route("GET", "/known")
    reply = httpx.get(server.uri + "/unknown")
    assert reply.status_code == 404
    assert "unexpected request GET /unknown" in reply.json()["error"]["message"]
    with pytest.raises(MockResponsesCheckError, match=r"unexpected request GET /unknown.*route\('GET', '/unknown'"):
        server.check()


def test_route_method_must_match(server):
    server.route("GET", "/only-get")
    assert httpx.post(server.uri + "/only-get").status_code == 404
    assert len(server.problems) == 1


def test_route_on_models_replaces_the_default(server):
    server.route("GET", "/v1/models", json={"models": [{"slug": "m"}]})
    assert httpx.get(server.uri + "/v1/models").json() == {"models": [{"slug": "m"}]}


def test_delay_s_holds_the_status_line(server):
    server.route("GET", "/slow", json={}, delay_s=0.3)
    started = time.monotonic()
    with httpx.stream("GET", server.uri + "/slow") as reply:
        status_at = time.monotonic() - started
        assert reply.status_code == 200
    assert status_at >= 0.3


def test_close_cuts_a_delayed_route_short():
    server = MockResponsesServer().start()
    server.route("GET", "/slow", json={}, delay_s=30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(server.uri + "/slow", timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    server.script.routes.routes[0].wait_for_calls(1, timeout=5)
    started = time.monotonic()
    server.close()
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5  # a bound on the close, not a timing assertion of the feature


def test_wait_for_calls_times_out_with_the_count(server):
    route = server.route("GET", "/never")
    with pytest.raises(TimeoutError, match="0 arrived"):
        route.wait_for_calls(1, timeout=0.05)
    for bad in (None, float("nan"), 0):  # None used to wait forever
        with pytest.raises(ValueError, match="timeout must be"):
            route.wait_for_calls(1, timeout=bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "FETCH", "path": "/x"}, "route method must be one of"),
        ({"method": "GET", "path": "x"}, "absolute path"),
        ({"method": "GET", "path": "/x?y=1"}, "without a query string"),
        ({"method": "GET", "path": "/x", "json": {}, "body": "b"}, "json= or body="),
        ({"method": "GET", "path": "/x", "status": 99}, "HTTP status code"),
        ({"method": "GET", "path": "/x", "times": 0}, "times must be None or an int >= 1"),
        ({"method": "GET", "path": "/x", "delay_s": float("nan")}, "delay_s must be a finite number"),
        ({"method": "GET", "path": "/x", "json": {"a": float("inf")}}, "not JSON-serializable"),
        ({"method": "POST", "path": "/v1/responses"}, "use enqueue"),
    ],
)
def test_bad_routes_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        ResponsesScript().route(**kwargs)
    assert "\n" not in str(info.value)


def test_reset_forgets_routes(server):
    server.route("GET", "/r", required=True)
    server.reset()
    server.check()
    assert httpx.get(server.uri + "/r").status_code == 404


def test_repr_and_request_log_name_routes(server):
    route = server.route("GET", "/r", times=1, required=True)
    assert repr(route) == "<Route GET /r -> 200 times=1 required; 0 call(s)>"
    from codex_fixtures._plugin_support import failure_sections

    [(title, text)] = failure_sections([server])
    assert "routes:" in text and "<Route GET /r" in text


def test_chatgpt_backend_routes_cover_the_probed_paths(server):
    routes = add_chatgpt_backend_routes(server, account_id="acct-1")
    assert set(routes) == set(CHATGPT_BACKEND_PATHS)
    assert all(isinstance(r, Route) and not r.required for r in routes.values())
    check = httpx.get(server.uri + "/backend-api/wham/accounts/check").json()
    assert check["accounts"][0]["id"] == "acct-1"
    server.check()


def test_respx_mount_serves_routes_under_its_base_url():
    from codex_fixtures import mount_responses_respx

    script = ResponsesScript()
    with mount_responses_respx(script) as mount:
        route = mount.route("GET", "/v1/models", json={"models": ["x"]})
        mount.route("POST", "/v1/files", json={"id": "file-1"}, status=201)
        assert httpx.get("https://api.openai.com/v1/models").json() == {"models": ["x"]}
        reply = httpx.post("https://api.openai.com/v1/files", content=b"data")
        assert (reply.status_code, reply.json()) == (201, {"id": "file-1"})
    assert len(route.calls) == 1
    script.check()


def test_a_fallback_route_yields_to_the_tests_own(server):
    routes = add_chatgpt_backend_routes(server, fallback=True)
    own = server.route("POST", "/backend-api/codex/analytics-events/events", json={"mine": True}, times=1)
    url = server.uri + "/backend-api/codex/analytics-events/events"
    assert httpx.post(url, json={}).json() == {"mine": True}
    assert httpx.post(url, json={}).status_code == 404  # own route used up: the excess is a problem, not the fallback
    assert len(own.calls) == 2 and routes["POST /backend-api/codex/analytics-events/events"].calls == []
    assert httpx.get(server.uri + "/backend-api/wham/accounts/check").status_code == 200  # other fallbacks still answer


def test_route_options_are_routes_keywords():
    keywords = [p.name for p in inspect.signature(Route).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert list(RouteOptions.__annotations__) == keywords


def test_route_rejects_an_unknown_option(server):
    with pytest.raises(TypeError, match="colour"):
        server.route("GET", "/x", colour="red")
