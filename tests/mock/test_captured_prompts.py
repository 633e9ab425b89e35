"""CapturedRequest.user_prompts(): what the user typed, without the context codex injects (real binaries)."""

from __future__ import annotations

import json

import pytest
from codex_fixtures import (
    AppServerProcess,
    CapturedRequest,
    CodexHome,
    MockResponsesServer,
    create_final_assistant_message_sse_response,
)


def request_with(*texts: str, role: str = "user") -> CapturedRequest:
    items = [{"type": "message", "role": role, "content": [{"type": "input_text", "text": t}]} for t in texts]
    return CapturedRequest("POST", "/v1/responses", {}, json.dumps({"input": items}).encode(), 0.0)


def test_context_messages_are_dropped():
    req = request_with(
        "# AGENTS.md instructions for /w\n\n<INSTRUCTIONS>\nbe nice\n</INSTRUCTIONS>",
        "<environment_context>\n  <cwd>/w</cwd>\n</environment_context>",
        "real question",
        "  <turn_aborted>interrupted</turn_aborted>",
        "what about <environment_context> in the middle",
    )
    assert req.user_prompts() == ["real question", "what about <environment_context> in the middle"]
    assert len(req.message_input_texts("user")) == 5  # unchanged


@pytest.mark.codex_binary
def test_user_prompts_of_a_real_request(real_codex):
    with MockResponsesServer() as server, CodexHome(server) as home:
        server.script.set_repeat(create_final_assistant_message_sse_response("ok"))
        (home.path / "AGENTS.md").write_text("home instructions\n")
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            (app.cwd / "AGENTS.md").write_text("project instructions\n")
            app.initialize()
            thread = app.start_thread()
            assert app.run_turn(thread["id"], "first prompt")["status"] == "completed"
            assert app.run_turn(thread["id"], "second prompt")["status"] == "completed"
        last = server.requests[-1]
        texts = last.message_input_texts("user")
        assert any(t.startswith("# AGENTS.md instructions for ") and "project instructions" in t for t in texts)
        assert any(t.startswith("<environment_context>") for t in texts)
        assert last.user_prompts() == ["first prompt", "second prompt"]
        assert server.requests[0].user_prompts() == ["first prompt"]
