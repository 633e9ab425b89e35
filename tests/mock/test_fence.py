"""The per-test fence of a shared mock: a late request of an ended test's turn is refused, not served or logged."""

from __future__ import annotations

import json

from codex_fixtures.mock.fence import TURN_METADATA_HEADER
from codex_fixtures.mock.script import ResponsesScript
from codex_fixtures.mock.sse import create_final_assistant_message_sse_response

BODY = json.dumps({"model": "mock-model", "input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]}).encode()


def post(script: ResponsesScript, turn: str | None):
    headers = {"content-type": "application/json"}
    if turn is not None:
        headers[TURN_METADATA_HEADER] = json.dumps({"turn_id": turn, "thread_id": "t"})
    return script.handle("POST", "/v1/responses", headers, BODY)


def test_a_fenced_turn_takes_no_reply_and_is_not_in_the_log():
    # on main a late request took the next test's reply and was in its log (issue 25 item 6)
    script = ResponsesScript()
    script.fence.add(["turn-of-test-1"], "test_one")
    script.enqueue(create_final_assistant_message_sse_response("for test two"))
    late = post(script, "turn-of-test-1")
    assert late.status == 409 and b"left running by test_one" in b"".join(late.chunks)
    assert script.requests == [] and script.all_requests == [] and len(script.pending) == 1
    assert [(owner, r.method) for owner, r in script.fence.late] == [("test_one", "POST")]
    assert post(script, "turn-of-test-2").status == 200  # another turn is served its reply
    assert len(script.requests) == 1 and script.pending == []
