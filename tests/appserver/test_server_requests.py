"""Server-to-client requests against a fake peer: the approvals policy per method, records, buffering, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, AppServerTimeoutError, JSONRPCRequest, ProtocolError
from codex_fixtures._plugin_support import failure_sections, marker_options
from codex_fixtures.appserver.server_requests import APPROVAL_DECISIONS, check_approvals

APPROVALS = ["item/commandExecution/requestApproval", "item/fileChange/requestApproval", "execCommandApproval", "applyPatchApproval"]
OTHERS = ["item/permissions/requestApproval", "item/tool/requestUserInput"]
T = 5.0


def peer(fake_home: Path, fake_peer_bin: Path, approvals=None) -> AppServerProcess:
    app = AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "approvals"}, approvals=approvals)
    app.initialize(timeout=T)
    return app


def send_server_requests(app: AppServerProcess, methods: list[str]) -> dict:
    """Have the peer send ``methods`` as server requests; return the answers it got (ids s0, s1, ...)."""
    app.request("fake/serverRequests", {"methods": methods}, timeout=T)
    return app.request("fake/answers", {}, timeout=T)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("policy", "v1_word"), [("accept", "approved"), ("decline", "denied"), ("cancel", "abort")])
def test_a_decision_word_answers_every_approval_in_that_methods_own_words(fake_home, fake_peer_bin, policy, v1_word) -> None:
    with peer(fake_home, fake_peer_bin, policy) as app:
        answers = send_server_requests(app, APPROVALS + OTHERS)
        assert answers == {
            "s0": {"result": {"decision": policy}},
            "s1": {"result": {"decision": policy}},
            "s2": {"result": {"decision": v1_word}},
            "s3": {"result": {"decision": v1_word}},
        }
        records = app.server_requests
        assert [r.method for r in records] == APPROVALS + OTHERS
        assert [r.answered_by for r in records] == ["approvals"] * 4 + [None, None]
        # what the policy did not answer is buffered for the test, which can pick it by method
        ask = app.read_stream_until_request_message(timeout=T, method="item/tool/requestUserInput")
        assert isinstance(ask, JSONRPCRequest) and ask.id == "s5"
        app.send_response(ask.id, {"answers": {}})
        assert app.server_requests[5].answered_by == "test" and app.server_requests[5].answer == {"answers": {}}
        assert app.read_stream_until_request_message(timeout=T).method == "item/permissions/requestApproval"
        assert [r.method for r in app._server_requests.unanswered()] == ["item/permissions/requestApproval"]


def test_without_a_policy_every_request_waits_for_the_test(fake_home, fake_peer_bin) -> None:
    with peer(fake_home, fake_peer_bin) as app:
        assert send_server_requests(app, APPROVALS[:2]) == {}
        second = app.read_stream_until_request_message(timeout=T, method=APPROVALS[1])
        app.send_error(second.id, -32000, "no")
        first = app.read_stream_until_request_message(timeout=T)
        app.send_response(first.id, {"decision": "accept"})
        assert app.request("fake/answers", {}, timeout=T) == {
            "s0": {"result": {"decision": "accept"}}, "s1": {"error": {"code": -32000, "message": "no"}},
        }
        assert [(r.answered_by, r.error) for r in app.server_requests] == [("test", None), ("test", {"code": -32000, "message": "no"})]


def test_a_function_sees_each_approval_and_its_answer_is_sent(fake_home, fake_peer_bin) -> None:
    seen: list[JSONRPCRequest] = []

    def handler(request: JSONRPCRequest):
        seen.append(request)
        if request.method == "item/permissions/requestApproval":
            return None  # leave it to the test
        return {"decision": "acceptForSession", "echo": request.params["callId"]}

    with peer(fake_home, fake_peer_bin, handler) as app:
        answers = send_server_requests(app, [APPROVALS[0], *OTHERS])
        assert answers == {"s0": {"result": {"decision": "acceptForSession", "echo": "call-0"}}}
        assert [r.method for r in seen] == [APPROVALS[0], OTHERS[0]]  # only approvals reach the function
        assert app.read_stream_until_request_message(timeout=T).method == OTHERS[0]


def test_a_failing_function_answers_an_error_and_the_next_wait_raises_it(fake_home, fake_peer_bin) -> None:
    def handler(request: JSONRPCRequest):
        raise AssertionError("unexpected command")

    with peer(fake_home, fake_peer_bin, handler) as app:
        rid = app.send_request("fake/serverRequests", {"methods": [APPROVALS[0]]})
        with pytest.raises(ProtocolError, match=r"approvals handler .*handler failed on server request #s0 "
                                                 r"item/commandExecution/requestApproval: AssertionError: unexpected command"):
            app.read_stream_until_response_message(rid, timeout=T)
        answer = app.request("fake/answers", {}, timeout=T)["s0"]
        assert answer["error"]["code"] == -32603 and "unexpected command" in answer["error"]["message"]
        assert "unexpected command" in app.server_requests[0].describe()


def test_unanswered_requests_are_in_the_failure_report_and_the_timeout_hint(fake_home, fake_peer_bin) -> None:
    with peer(fake_home, fake_peer_bin, "accept") as app:
        send_server_requests(app, [APPROVALS[0], OTHERS[1]])
        with pytest.raises(AppServerTimeoutError, match=r"waits for the answer to 1 server request\(s\): item/tool/requestUserInput"):
            app.read_stream_until_notification_message("turn/completed", timeout=0.2)
        sections = dict(failure_sections([app]))
        (text,) = [v for k, v in sections.items() if k.endswith("server requests (1 never answered)")]
        lines = text.splitlines()
        assert lines[0] == "#s0 item/commandExecution/requestApproval (callId='call-0') -> answered by approvals: {\"decision\": \"accept\"}"
        assert lines[1] == "#s1 item/tool/requestUserInput (callId='call-1') -> NOT ANSWERED"


def test_bad_policies_are_refused_in_one_line(fake_home, fake_peer_bin) -> None:
    with pytest.raises(TypeError, match=r"approvals must be None, 'accept', 'decline', 'cancel' or a function .*got 'yes'"):
        AppServerProcess(fake_home, codex_bin=fake_peer_bin, approvals="yes")  # type: ignore[arg-type]
    assert check_approvals(None) is None and check_approvals("cancel") == "cancel"
    with pytest.raises(TypeError, match=r"got \['accept'\]"):
        check_approvals(["accept"])
    assert set(APPROVAL_DECISIONS) == set(APPROVALS)

    class Marker:
        args = ()
        kwargs = {"approvals": "approve"}

    with pytest.raises(TypeError, match=r"^@pytest.mark.codex: approvals must be None"):
        marker_options(Marker())
    Marker.kwargs = {"approvals": "decline"}
    assert marker_options(Marker()).approvals == "decline"


def test_the_factory_passes_its_approvals_and_a_call_overrides_them(fake_home, fake_peer_bin) -> None:
    from codex_fixtures import AppServerFactory

    with AppServerFactory(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "approvals"}, approvals="decline") as start:
        default, override, buffered = start(), start(approvals="accept"), start(approvals=None)
        assert send_server_requests(default, [APPROVALS[0]]) == {"s0": {"result": {"decision": "decline"}}}
        assert send_server_requests(override, [APPROVALS[0]]) == {"s0": {"result": {"decision": "accept"}}}
        buffered.request("fake/serverRequests", {"methods": [APPROVALS[0]]}, timeout=T)
        assert buffered.read_stream_until_request_message(T, method=APPROVALS[0]).method == APPROVALS[0]  # left to the test
    with pytest.raises(TypeError, match="approvals must be None"):
        AppServerFactory(fake_home, approvals="always")  # type: ignore[arg-type]
