"""'Wait for this error, then assert silence' on the real binary (issue 27 point 4).

Fails on main: there ``assert_no_message`` has no ``since=`` and sees the notification
that arrived *before* the awaited error (still buffered by design).
"""

from __future__ import annotations

import pytest
from codex_fixtures.appserver.jsonrpc import JSONRPCNotification

pytestmark = pytest.mark.codex_binary

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def test_wait_for_an_error_then_assert_silence_since_it(codex_app_server):
    app = codex_app_server
    app.start_thread()  # its thread/started notification stays buffered: no wait asked for it
    point = app.mark()
    rid = app.send_request("thread/read", {"threadId": UNKNOWN})
    error = app.read_stream_until_error_message(rid)
    with pytest.raises(AssertionError, match="unexpected message"):  # the plain form sees configWarning, thread/started
        app.assert_no_message(lambda m: isinstance(m, JSONRPCNotification), within=0.05)
    app.assert_no_message(lambda m: isinstance(m, JSONRPCNotification), within=0.3, since=error)
    app.assert_no_message(lambda m: isinstance(m, JSONRPCNotification), within=0.05, since=point)
    assert "thread/started" in app.pending_notification_methods()  # nothing was consumed
