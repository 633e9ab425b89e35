"""The binary's ``commandExecution.command`` equals :func:`shell_command_display` of the scripted ``cmd``.

Each ``exec_command`` call (login shell, and ``"login": false``) runs for real in the thread's cwd; the
item the binary serves for it (``item/started`` and ``item/completed``) shows the argv it ran, joined by
the Rust ``shlex`` crate. Measured on 0.163.0 (bundled) and 0.171.0 (``--codex-bin``); on main there is
no helper for it (upstream's ``format_with_current_shell_display``), so a port wrote it by hand.
"""

from __future__ import annotations

import pytest
from codex_fixtures import (
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_exec_command_call,
    ev_response_created,
    shell_command_display,
)

pytestmark = pytest.mark.codex_binary

T = 30.0
COMMANDS = [
    ("echo hi", True),
    ("ls -la | wc -l", True),
    ('echo "x$HOME"', True),
    ("printf '%s\\n' it's", True),  # a single quote: the binary double-quotes, shlex.join would not
    ("echo it's $HOME^", True),  # chunks: double-quoted, then single-quoted, then a lone caret
    ("echo done", False),
]


def test_displayed_command_matches_the_binary(codex_app_server, codex_responses):
    app = codex_app_server
    for index, (cmd, login) in enumerate(COMMANDS):
        extra = {} if login else {"login": False}
        call = ev_exec_command_call(f"call-{index}", cmd, yield_time_ms=5000, **extra)
        codex_responses.enqueue([ev_response_created(f"resp-{index}"), call, ev_completed(f"resp-{index}")])
    codex_responses.enqueue(create_final_assistant_message_sse_response("done"))
    thread = app.start_thread(timeout=T)
    assert app.run_turn(thread["id"], "run them", timeout=T)["status"] == "completed"
    for method in ("item/started", "item/completed"):
        for index, (cmd, login) in enumerate(COMMANDS):
            note = app.read_stream_until_notification_message(
                method, timeout=T, predicate=lambda n, i=index: n.params["item"].get("id") == f"call-{i}"
            )
            item = note.params["item"]
            assert item["type"] == "commandExecution"
            assert item["command"] == shell_command_display(cmd, login=login), (method, cmd)
