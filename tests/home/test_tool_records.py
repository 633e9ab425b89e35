"""``mcp_tool_call_end_record`` without a binary: both forms, and clear errors (calibrated in ``test_tool_records_real_binary``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from codex_fixtures import mcp_tool_call_end_record

TID, TURN = "01a25116-88de-79c2-9eca-09d282d015aa", "01a25116-8949-7bd1-85d2-96fec37eec10"


def test_legacy_form_is_mcp_tool_call_end():
    record = mcp_tool_call_end_record(
        "call-1",
        "echo",
        "echo",
        arguments={"text": "hi"},
        result="echo: hi",
        turn_id=TURN,
        read_only_hint=True,
        duration=timedelta(milliseconds=1.5),
        timestamp=0,
        codex_version="0.163.0",
    )
    assert record == {
        "timestamp": "1970-01-01T00:00:00.000Z",
        "type": "event_msg",
        "payload": {
            "type": "mcp_tool_call_end",
            "call_id": "call-1",
            "turn_id": TURN,
            "invocation": {"server": "echo", "tool": "echo", "arguments": {"text": "hi"}},
            "read_only_hint": True,
            "duration": {"secs": 0, "nanos": 1_500_000},
            "result": {"Ok": {"content": [{"type": "text", "text": "echo: hi"}], "isError": False}},
        },
    }


def test_paginated_form_is_an_item_completed():
    record = mcp_tool_call_end_record(
        "call-2",
        "echo",
        "touch",
        arguments={},
        error="refused",
        turn_id=TURN,
        thread_id=TID,
        duration=2,
        timestamp=10,
        codex_version="0.171.0",
        history_mode="paginated",
    )
    payload = record["payload"]
    assert (payload["type"], payload["thread_id"], payload["turn_id"]) == ("item_completed", TID, TURN)
    assert payload["item"] == {
        "type": "McpToolCall",
        "id": "call-2",
        "server": "echo",
        "tool": "touch",
        "arguments": {},
        "status": "failed",
        "error": {"message": "refused"},
        "duration": {"secs": 2, "nanos": 0},
    }
    assert (payload["started_at_ms"], payload["completed_at_ms"]) == (8000, 10000)


def test_a_call_tool_result_dict_keeps_its_content():
    content = [{"type": "text", "text": "a"}, {"type": "image", "data": "AA==", "mimeType": "image/png"}]
    record = mcp_tool_call_end_record(
        "c", "s", "t", result={"content": content, "structuredContent": {"n": 1}}, turn_id=TURN, codex_version="0.163.0"
    )
    assert record["payload"]["result"]["Ok"] == {"content": content, "isError": False, "structuredContent": {"n": 1}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"result": "x", "error": "y", "turn_id": TURN}, "exactly one"),
        ({"turn_id": TURN}, "exactly one"),
        ({"result": "x"}, "pass turn_id="),
        ({"result": "x", "turn_id": TURN, "history_mode": "paginated"}, "pass thread_id= and turn_id="),
        ({"result": {"text": "x"}, "turn_id": TURN}, "'content' list"),
        ({"result": "x", "turn_id": TURN, "duration": -1}, "duration"),
        ({"result": "x", "turn_id": TURN, "codex_version": "0.101.0"}, "does not record MCP tool calls"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    kwargs.setdefault("codex_version", "0.163.0")
    with pytest.raises(ValueError, match=message):
        mcp_tool_call_end_record("call-1", "echo", "echo", **kwargs)


def test_image_generation_end_legacy_and_paginated(tmp_path):
    from codex_fixtures import generated_image_path, image_generation_end_record

    saved = generated_image_path(tmp_path, TID, "call-1")
    assert saved == tmp_path / "generated_images" / TID / "call-1.png"
    legacy = image_generation_end_record(
        "call-1", "a red dot", result="AAAA", saved_path=saved, timestamp=0, codex_version="0.163.0"
    )
    assert legacy["payload"] == {
        "type": "image_generation_end",
        "call_id": "call-1",
        "status": "completed",
        "revised_prompt": "a red dot",
        "result": "AAAA",
        "saved_path": str(saved),
    }
    failed = image_generation_end_record(
        "call-1",
        "a red dot",
        turn_id=TURN,
        thread_id=TID,
        codex_version="0.171.0",
        history_mode="paginated",
        timestamp=1,
        started_at=0.5,
    )
    assert failed["payload"]["item"] == {
        "type": "Extension",
        "kind": "image_gen.generation",
        "id": "call-1",
        "status": "failed",
        "revisedPrompt": "a red dot",
        "result": "",
        "transparentBackground": None,
        "failure": None,
        "generationId": None,
    }
    assert (failed["payload"]["started_at_ms"], failed["payload"]["completed_at_ms"]) == (500, 1000)
    on_163 = image_generation_end_record("c", "p", turn_id=TURN, thread_id=TID, codex_version="0.163.0", history_mode="paginated")
    assert "generationId" not in on_163["payload"]["item"]  # 0.171 added it


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "done"}, "status must be"),
        ({"history_mode": "paginated", "turn_id": TURN}, "pass thread_id= and turn_id="),
        ({"codex_version": "0.101.0"}, "does not record image generations"),
    ],
)
def test_image_generation_bad_input_is_a_clear_error(kwargs, message):
    from codex_fixtures import image_generation_end_record

    kwargs.setdefault("codex_version", "0.163.0")
    with pytest.raises(ValueError, match=message):
        image_generation_end_record("call-1", "a red dot", **kwargs)
