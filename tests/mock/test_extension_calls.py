"""The MCP / image generation call events (their binary side: ``tests/home/test_*records_real_binary.py``)."""

from __future__ import annotations

import json

import pytest
from codex_fixtures import ev_image_generation_call, ev_imagegen_call, ev_mcp_tool_call, images_generation_body


def test_mcp_call_in_the_namespace_and_flat():
    item = ev_mcp_tool_call("call-1", "echo", "echo", {"text": "hi"})["item"]
    assert (item["namespace"], item["name"], json.loads(item["arguments"])) == ("mcp__echo", "echo", {"text": "hi"})
    flat = ev_mcp_tool_call("call-1", "echo", "echo", flat=True)["item"]
    assert (flat["name"], "namespace" in flat, flat["arguments"]) == ("mcp__echo__echo", False, "{}")
    with pytest.raises(ValueError, match="server"):
        ev_mcp_tool_call("call-1", "", "echo")


def test_imagegen_call_and_the_images_answer():
    item = ev_imagegen_call("call-1", "a red dot", transparent_background=True)["item"]
    assert (item["namespace"], item["name"]) == ("image_gen", "imagegen")
    assert json.loads(item["arguments"]) == {"prompt": "a red dot", "transparent_background": True}
    assert images_generation_body("AAAA") == {"created": 0, "data": [{"b64_json": "AAAA"}]}
    with pytest.raises(ValueError, match="prompt"):
        ev_imagegen_call("call-1", "")


def test_upstreams_hosted_image_generation_item():
    event = ev_image_generation_call("ig_1", "completed", "lobster", "Zm9v")
    assert event == {
        "type": "response.output_item.done",
        "item": {
            "type": "image_generation_call",
            "id": "ig_1",
            "status": "completed",
            "revised_prompt": "lobster",
            "result": "Zm9v",
        },
    }
