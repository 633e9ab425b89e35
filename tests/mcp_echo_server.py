"""A minimal MCP server over stdio for tests: ``echo`` (read-only) answers ``echo: <text>``, ``touch`` (not).

Newline-delimited JSON-RPC 2.0 on stdin/stdout, as the binary's MCP client speaks to a
``[mcp_servers.NAME] command = ...`` server: ``initialize`` (the client's protocol version is
echoed back), ``tools/list``, ``tools/call``; notifications are ignored, other requests are
answered "method not found". Run as ``python tests/mcp_echo_server.py``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

TOOL = {
    "name": "echo",
    "description": "Echo the text back.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "annotations": {"readOnlyHint": True},  # read-only: the binary calls it without asking for approval
}
TOUCH = {  # no annotations: under approval_policy "never" the binary refuses to call it
    "name": "touch",
    "description": "Pretend to change something.",
    "inputSchema": {"type": "object", "properties": {}},
}


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def handle(message: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to one client message (None for a notification)."""
    method, msg_id = message.get("method"), message.get("id")
    if msg_id is None:
        return None
    if method == "initialize":
        version = (message.get("params") or {}).get("protocolVersion", "2025-06-18")
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "echo", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": [TOOL, TOUCH]}
    elif method == "tools/call":
        text = ((message.get("params") or {}).get("arguments") or {}).get("text", "")
        result = {"content": [{"type": "text", "text": f"echo: {text}"}], "isError": False}
    else:
        return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": -32601, "message": f"method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": msg_id, "result": result}


def main() -> None:
    """Serve stdin until it closes."""
    for line in sys.stdin:
        if line.strip():
            answer = handle(json.loads(line))
            if answer is not None:
                _send(answer)


if __name__ == "__main__":
    main()
