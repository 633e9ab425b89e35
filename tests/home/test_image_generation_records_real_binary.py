"""Calibration: :func:`image_generation_end_record` against what the binary writes for a real image generation.

Under a ChatGPT login with ``features.image_generation`` the binary offers the ``image_gen.imagegen``
function tool (not the hosted ``image_generation`` tool: a scripted ``image_generation_call`` output
item is only kept as a ``response_item``, with no end record and no item). A call of it makes the
binary post ``/v1/images/generations`` (``{"prompt", "background": "opaque", "model": "gpt-image-2",
"quality": "auto", "size": "auto"}``), routed here to a 1x1 PNG (or to a 500). The builder's record
must have the keys, value types and values (but for times) of the binary's, and a rollout holding it
instead of the binary's must read back the same ``imageGeneration`` item. Main has no such builder.
Measured on 0.163.0 (bundled) and 0.171.0 (``--codex-bin``).
"""

from __future__ import annotations

import base64
import json

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_imagegen_call,
    ev_response_created,
    find_thread_path_by_id_str,
    generated_image_path,
    image_generation_end_record,
    images_generation_body,
)
from codex_fixtures.repro.capture_format import wait_for_finished_turns

T = 30.0
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()

from record_shapes import shape, without

pytestmark = [
    pytest.mark.codex_binary,
    pytest.mark.codex_requires(version=">=0.163", reason="0.101 has no image_gen tool"),
    pytest.mark.codex(auth="chatgpt", config={"features": {"image_generation": True}}),
]


TIMES = {"timestamp", "started_at_ms", "completed_at_ms", "startedAtMs", "completedAtMs"}


def is_image_end(record: dict) -> bool:
    payload = record.get("payload") or {}
    item = payload.get("item") or {}
    return payload.get("type") == "image_generation_end" or item.get("kind") == "image_gen.generation"


def image_items(app: AppServerProcess, thread_id: str) -> list[dict]:
    thread = app.request("thread/read", {"threadId": thread_id, "includeTurns": True}, timeout=T)["thread"]
    return [without(i, TIMES) for turn in thread["turns"] for i in turn["items"] if i["type"] == "imageGeneration"]


@pytest.mark.parametrize("mode", ["legacy", "paginated"])
@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_builder_writes_what_the_binary_writes(
    codex_app_server, codex_home, codex_responses, codex_binary, tmp_path, mode, outcome
):
    app = codex_app_server
    if outcome == "completed":
        api = codex_responses.route("POST", "/v1/images/generations", json=images_generation_body(PNG))
    else:
        api = codex_responses.route("POST", "/v1/images/generations", status=500, json={"error": {"message": "boom"}})
    codex_responses.enqueue([ev_response_created("r1"), ev_imagegen_call("call-1", "a red dot"), ev_completed("r1")])
    codex_responses.enqueue(create_final_assistant_message_sse_response("done"))
    thread_id = app.start_thread({"historyMode": mode}, timeout=T)["id"]
    assert app.run_turn(thread_id, "draw a red dot", timeout=T)["status"] == "completed"
    (request,) = api.calls
    assert json.loads(request.body)["prompt"] == "a red dot"
    real = wait_for_finished_turns(codex_home, thread_id, 1, T)
    turn_id = real[-1]["payload"]["turn_id"]
    (real_record,) = [r for r in real if is_image_end(r)]
    real_record.pop("ordinal", None)

    saved = generated_image_path(codex_home, thread_id, "call-1")
    fake = image_generation_end_record(
        "call-1",
        "a red dot",
        result=PNG if outcome == "completed" else None,
        saved_path=saved if outcome == "completed" else None,
        turn_id=turn_id,
        thread_id=thread_id,
        codex_version=codex_binary,
        history_mode=mode,
    )
    assert shape(fake) == shape(real_record)
    assert without(fake, TIMES) == without(real_record, TIMES)
    if outcome == "completed":
        assert saved.is_file() and base64.b64encode(saved.read_bytes()).decode() == PNG

    live = image_items(app, thread_id)
    assert [(i["id"], i["status"]) for i in live] == [("call-1", outcome)]
    source = find_thread_path_by_id_str(codex_home, thread_id)
    lines = []
    for record in (json.loads(line) for line in source.read_text().splitlines()):
        if is_image_end(record):
            record = dict(fake, **({"ordinal": record["ordinal"]} if "ordinal" in record else {}))
        lines.append(json.dumps(record))
    fresh = CodexHome(codex_responses, path=tmp_path / "fresh")
    dest = fresh.path / source.relative_to(codex_home)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(lines) + "\n")
    with AppServerProcess(fresh.path, codex_bin=codex_binary.path) as other:
        other.initialize(timeout=T)
        if mode == "paginated":  # served from the history database, which only thread/resume builds
            other.request("thread/resume", {"threadId": thread_id}, timeout=T)
        assert image_items(other, thread_id) == live
