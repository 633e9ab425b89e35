"""Calibration: :func:`mcp_tool_call_end_record` against what the binary writes for a real MCP tool call.

The toolkit's stdio MCP server (``codex_fixtures.mock.mcp_stdio``) is configured as
``[mcp_servers.echo]``; the mock scripts a call of its read-only ``echo`` tool (answered; once with
``isError: true``) and of ``touch`` (refused: it needs approval under ``approval_policy = "never"``). The builder's records must
have the keys and value types of the binary's (legacy: ``event_msg mcp_tool_call_end``; paginated:
``item_completed`` ``McpToolCall``), the same values but for times, and a rollout holding them instead
of the binary's must read back the same ``mcpToolCall`` items. Main has no such builder (fails there).
Measured on 0.163.0 (bundled) and 0.171.0 (``--codex-bin``); 0.101.0 records no MCP call (skipped).
"""

from __future__ import annotations

import json

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_mcp_tool_call,
    ev_response_created,
    find_thread_path_by_id_str,
    mcp_tool_call_end_record,
    stdio_mcp_server_config,
)
from codex_fixtures.repro.capture_format import wait_for_finished_turns

T = 30.0
MCP = {"mcp_servers": {"echo": stdio_mcp_server_config()}}
TIMES = {"timestamp", "duration", "started_at_ms", "completed_at_ms", "durationMs", "startedAtMs", "completedAtMs"}

from record_shapes import shape, without

pytestmark = [
    pytest.mark.codex_binary,
    pytest.mark.codex_requires(version=">=0.163", reason="0.101 records no MCP tool call in rollouts"),
    pytest.mark.codex(config={"extra": MCP}),
]


def is_mcp_end(record: dict, call_id: str) -> bool:
    payload = record.get("payload") or {}
    if payload.get("type") == "mcp_tool_call_end":
        return payload["call_id"] == call_id
    item = payload.get("item") or {}
    return payload.get("type") == "item_completed" and item.get("type") == "McpToolCall" and item["id"] == call_id


def mcp_items(app: AppServerProcess, thread_id: str) -> list[dict]:
    thread = app.request("thread/read", {"threadId": thread_id, "includeTurns": True}, timeout=T)["thread"]
    return [without(i, TIMES) for turn in thread["turns"] for i in turn["items"] if i["type"] == "mcpToolCall"]


@pytest.mark.parametrize("mode", ["legacy", "paginated"])
def test_builder_writes_what_the_binary_writes(codex_app_server, codex_home, codex_responses, codex_binary, tmp_path, mode):
    app = codex_app_server
    for index, tool, arguments in ((1, "echo", {"text": "hi"}), (2, "touch", {}), (3, "echo", {"text": "error"})):
        call = ev_mcp_tool_call(f"call-{index}", "echo", tool, arguments)
        codex_responses.enqueue([ev_response_created(f"r{index}"), call, ev_completed(f"r{index}")])
    codex_responses.enqueue(create_final_assistant_message_sse_response("done"))
    thread_id = app.start_thread({"historyMode": mode}, timeout=T)["id"]
    assert app.run_turn(thread_id, "call the tools", timeout=T)["status"] == "completed"
    real = wait_for_finished_turns(codex_home, thread_id, 1, T)
    turn_id = real[-1]["payload"]["turn_id"]
    refused = "MCP tool call requires approval, but approval policy is never"

    common = {"turn_id": turn_id, "thread_id": thread_id, "codex_version": codex_binary, "history_mode": mode}
    fakes = {
        "call-1": mcp_tool_call_end_record(
            "call-1", "echo", "echo", arguments={"text": "hi"}, result="echo: hi", read_only_hint=True, duration=0.0012, **common
        ),
        "call-2": mcp_tool_call_end_record("call-2", "echo", "touch", arguments={}, error=refused, **common),
        "call-3": mcp_tool_call_end_record(
            "call-3",
            "echo",
            "echo",
            arguments={"text": "error"},
            result={"content": [{"type": "text", "text": "echo: error"}], "isError": True},
            read_only_hint=True,
            **common,
        ),
    }
    for call_id, fake in fakes.items():
        (real_record,) = [r for r in real if is_mcp_end(r, call_id)]
        real_record.pop("ordinal", None)  # numbered by the file, as append_records does
        assert shape(fake) == shape(real_record), call_id
        assert without(fake, TIMES) == without(real_record, TIMES), call_id

    # the binary reads the builder's records as it reads its own: swap them in, read in a fresh home
    live = mcp_items(app, thread_id)
    assert [(i["id"], i["status"]) for i in live] == [("call-1", "completed"), ("call-2", "failed"), ("call-3", "failed")]
    source = find_thread_path_by_id_str(codex_home, thread_id)
    lines = []
    for record in json.loads("[" + ",".join(source.read_text().splitlines()) + "]"):
        swapped = next(
            (
                dict(fakes[c], **({"ordinal": record["ordinal"]} if "ordinal" in record else {}))
                for c in fakes
                if is_mcp_end(record, c)
            ),
            record,
        )
        lines.append(json.dumps(swapped))
    fresh = CodexHome(codex_responses, path=tmp_path / "fresh")
    dest = fresh.path / source.relative_to(codex_home)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(lines) + "\n")
    with AppServerProcess(fresh.path, codex_bin=codex_binary.path) as other:
        other.initialize(timeout=T)
        if mode == "paginated":  # served from the history database, which only thread/resume builds
            other.request("thread/resume", {"threadId": thread_id}, timeout=T)
        assert mcp_items(other, thread_id) == live
