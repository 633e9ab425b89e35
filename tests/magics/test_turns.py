"""answer_request: each approval method gets its own decision word; other server requests get an error."""

from __future__ import annotations

import pytest
from codex_fixtures import AppServerError, JSONRPCRequest
from codex_magics.display import TurnResult
from codex_magics.turns import answer_request


class FakeApp:
    """Records what answer_request sends (``fail=True``: every send raises as on a dead app-server)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple] = []
        self.fail = fail

    def send_response(self, request_id, result) -> None:
        if self.fail:
            raise AppServerError("the app-server exited")
        self.sent.append(("result", request_id, result))

    def send_error(self, request_id, code, message) -> None:
        if self.fail:
            raise AppServerError("the app-server exited")
        self.sent.append(("error", request_id, code, message))


@pytest.mark.parametrize(
    ("method", "approval", "wire"),
    [
        ("item/commandExecution/requestApproval", "accept", "accept"),
        ("item/commandExecution/requestApproval", "decline", "decline"),
        ("item/fileChange/requestApproval", "accept", "accept"),
        ("item/fileChange/requestApproval", "decline", "decline"),
        ("execCommandApproval", "accept", "approved"),  # legacy v1 (0.101.0's schema): ReviewDecision words
        ("execCommandApproval", "decline", "denied"),
        ("applyPatchApproval", "accept", "approved"),
        ("applyPatchApproval", "decline", "denied"),
    ],
)
def test_each_approval_method_gets_its_decision_word(method, approval, wire):
    app = FakeApp()
    res = TurnResult(thread_id="t", prompt="p")
    answer_request(app, JSONRPCRequest(id=7, method=method, params={}), approval, res)  # type: ignore[arg-type]
    assert app.sent == [("result", 7, {"decision": wire})]
    assert res.items == [{"id": "7", "type": "approval", "summary": method, "status": approval}]


def test_other_server_requests_get_method_not_found():
    app = FakeApp()
    res = TurnResult(thread_id="t", prompt="p")
    answer_request(app, JSONRPCRequest(id="r1", method="item/tool/requestUserInput", params={}), "accept", res)  # type: ignore[arg-type]
    assert app.sent == [("error", "r1", -32601, "item/tool/requestUserInput is not supported by codex_magics")]
    assert res.items == []


def test_a_dead_app_server_is_not_an_error_here():
    answer_request(FakeApp(fail=True), JSONRPCRequest(id=1, method="execCommandApproval"), "decline")  # type: ignore[arg-type]
