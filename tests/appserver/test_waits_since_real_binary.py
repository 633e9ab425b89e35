"""'Wait for this error, then assert silence' on the real binary (issue 27 point 4).

Fails on main: there ``assert_no_message`` has no ``since=`` and sees the notification
that arrived *before* the awaited error (still buffered by design).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.codex_binary

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def about_threads(message) -> bool:
    return (getattr(message, "method", None) or "").startswith("thread/")


def test_wait_for_an_error_then_assert_silence_since_it(codex_app_server):
    app = codex_app_server
    app.start_thread()
    with pytest.raises(AssertionError, match="thread/started"):  # waits, without consuming, until it is buffered
        app.assert_no_message(about_threads, within=20)
    point = app.mark()
    error = app.read_stream_until_error_message(app.send_request("thread/read", {"threadId": UNKNOWN}))
    with pytest.raises(AssertionError, match="thread/started"):  # the plain form counts what came before the error
        app.assert_no_message(about_threads, within=0.05)
    app.assert_no_message(about_threads, within=0.3, since=error)
    app.assert_no_message(about_threads, within=0.05, since=point)
    assert "thread/started" in app.pending_notification_methods()  # nothing was consumed
