"""The ``request_permissions`` builder, calibrated on the binary (fails on main: no such builder).

Offered only under ``REQUEST_PERMISSIONS_FEATURES`` (0.163.0 / 0.171.0) and asked of the client only under
``approval_policy = "on-request"`` (``never`` answers it without asking); the call becomes an
``item/permissions/requestApproval`` server request carrying what was asked, and the grant reaches
the model as the call's output.
"""

from __future__ import annotations

import pytest
from codex_fixtures.mock.tool_calls import REQUEST_PERMISSIONS_FEATURES, create_request_permissions_sse_response

pytestmark = [
    pytest.mark.codex_binary,
    pytest.mark.codex_requires(version=">=0.163", reason="request_permissions is offered from 0.163"),
]


@pytest.mark.codex(config={"features": REQUEST_PERMISSIONS_FEATURES, "approval_policy": "on-request"}, responses=[])
def test_a_request_permissions_call_reaches_the_client_and_its_grant_the_model(codex_app_server, codex_responses, tmp_path):
    target = str(tmp_path / "out")
    codex_responses.enqueue(create_request_permissions_sse_response(write=[target], reason="write the report"))
    codex_responses.enqueue("granted, thanks")
    app = codex_app_server
    thread = app.start_thread()
    app.send_turn_start_request({"threadId": thread["id"], "input": [{"type": "text", "text": "go", "text_elements": []}]})
    asked = app.read_stream_until_request_message(30, method="item/permissions/requestApproval")
    assert target in str(asked.params["permissions"]) and asked.params.get("reason") == "write the report"
    app.send_response(asked.id, {"permissions": {"fileSystem": {"write": [target]}}, "scope": "turn"})
    app.read_stream_until_notification_message("turn/completed", 30)
    first, second = codex_responses.requests
    assert "request_permissions" in first.tool_names()
    output = second.function_call_output("call-1")
    assert output is not None and target in str(output["output"])
