"""The stdio MCP server of the toolkit, spoken to directly (the binary's side is in ``tests/home/test_tool_records_real_binary.py``)."""

from __future__ import annotations

import json
import subprocess

from codex_fixtures import stdio_mcp_server_config
from codex_fixtures.mock.mcp_stdio import handle


def test_handshake_list_and_call_over_stdio():
    config = stdio_mcp_server_config()
    lines = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}},
    ]
    proc = subprocess.run(
        [config["command"], *config["args"]],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    init, listed, called = (json.loads(line) for line in proc.stdout.splitlines())
    assert init["result"]["protocolVersion"] == "2025-06-18"
    assert [t["name"] for t in listed["result"]["tools"]] == ["echo", "touch"]
    assert called["result"] == {"content": [{"type": "text", "text": "echo: hi"}], "isError": False}


def test_unknown_method_is_an_error_and_notifications_get_no_answer():
    assert handle({"jsonrpc": "2.0", "method": "notifications/cancelled"}) is None
    assert handle({"jsonrpc": "2.0", "id": 7, "method": "resources/list"})["error"]["code"] == -32601
