"""Python ports of upstream's app-server thread tests that run on hand-made fakes (``create_fake_rollout``).

Upstream (``openai/codex``, ``codex-rs/app-server/tests/suite/v2/thread_read.rs`` and ``thread_resume.rs``)
writes a fake rollout, starts the app-server on the home and checks what the binary serves. The ports do
the same with our fixtures, on the REAL binary of the session (bundled; ``--codex-bin=`` for another):
the fakes are legacy-history threads (the default of :func:`~codex_fixtures.create_fake_rollout` on 0.163+,
as upstream's own fakes are), which the binary serves from the rollout file. Values upstream hard-codes
from its fake (``cli_version`` "0.0.0", source ``cli``) are asked for explicitly. Each test names the
upstream test it ports.
"""

from __future__ import annotations

import shutil

import pytest
from codex_fixtures import (
    FakeTurn,
    append_records,
    append_user_turn,
    create_fake_rollout,
    find_thread_path_by_id_str,
    rollout_path,
    token_count_record,
    turn_complete_record,
)
from codex_fixtures.home.rollout_formats import record_kind
from codex_fixtures.home.rollout_records import agent_message_item_record

pytestmark = pytest.mark.codex_binary


@pytest.fixture(autouse=True)
def current_binary(codex_binary):
    """The ports pin upstream's current behaviour (items views, ``notLoaded`` status, usage replay on resume)."""
    if codex_binary.version_tuple[:2] < (0, 163):
        pytest.skip(f"codex {codex_binary.version} predates the behaviour these upstream tests pin (0.163+)")

T = 20.0
FILENAME_TS = "2025-01-05T12-00-00"
CREATED = "2025-01-05T12:00:00Z"
NOTE = [(0, 5, "<note>")]
"""Upstream's text element: bytes 0..5 of the preview, placeholder ``<note>``."""


def fake(home, preview: str, **kwargs) -> str:
    """Upstream's ``create_fake_rollout_with_text_elements``: one user message, provider mock_provider, source cli."""
    turns = kwargs.pop("turns", None) or [FakeTurn(preview, text_elements=kwargs.pop("text_elements", ()))]
    return create_fake_rollout(home, created_at=CREATED, filename_timestamp=FILENAME_TS, turns=turns, source="cli",
                               cli_version="0.0.0", **kwargs)


def user_texts(turns: list[dict]) -> list[str]:
    """Upstream's ``turn_user_texts``: the text of each turn's first item when it is a user message."""
    out = []
    for turn in turns:
        first = (turn.get("items") or [None])[0]
        if first and first["type"] == "userMessage" and first["content"] and first["content"][0]["type"] == "text":
            out.append(first["content"][0]["text"])
    return out


def agent_texts(turns: list[dict]) -> list[str]:
    return [i["text"] for t in turns for i in t.get("items") or [] if i["type"] == "agentMessage"]


def note_content(preview: str) -> list[dict]:
    return [{"type": "text", "text": preview,
             "text_elements": [{"byteRange": {"start": 0, "end": 5}, "placeholder": "<note>"}]}]


def turns_list(app, tid: str, **params) -> dict:
    return app.request("thread/turns/list", {"threadId": tid, **params}, timeout=T)


# ------------------------------------------------------------------------------------------- thread_read.rs


def test_thread_read_can_include_turns(codex_home, codex_app_servers):
    """Port of ``thread_read_can_include_turns``."""
    preview = "Saved user message"
    tid = fake(codex_home, preview, text_elements=NOTE)
    app = codex_app_servers()
    thread = app.request("thread/read", {"threadId": tid, "includeTurns": True}, timeout=T)["thread"]
    assert len(thread["turns"]) == 1
    turn = thread["turns"][0]
    assert (turn["status"], turn["itemsView"]) == ("completed", "full")
    assert [i["type"] for i in turn["items"]] == ["userMessage"], "expected user message item"
    assert turn["items"][0]["content"] == note_content(preview)
    assert thread["status"] == {"type": "notLoaded"}


def test_thread_turns_list_can_page_backward_and_forward(codex_home, codex_app_servers):
    """Port of ``thread_turns_list_can_page_backward_and_forward``."""
    tid = fake(codex_home, "first")
    path = rollout_path(codex_home, FILENAME_TS, tid)
    append_user_turn(path, "second", timestamp="2025-01-05T12:01:00Z")
    append_user_turn(path, "third", timestamp="2025-01-05T12:02:00Z")
    app = codex_app_servers()
    page = turns_list(app, tid, limit=2, sortDirection="desc")
    assert user_texts(page["data"]) == ["third", "second"]
    assert all(t["itemsView"] == "summary" for t in page["data"])
    assert page["nextCursor"], "expected nextCursor for older turns"
    assert page["backwardsCursor"], "expected backwardsCursor for newest turn"
    older = turns_list(app, tid, cursor=page["nextCursor"], limit=10, sortDirection="desc")
    assert user_texts(older["data"]) == ["first"]
    append_user_turn(path, "fourth", timestamp="2025-01-05T12:03:00Z")
    newer = turns_list(app, tid, cursor=page["backwardsCursor"], limit=10, sortDirection="asc")
    assert user_texts(newer["data"]) == ["third", "fourth"]


def test_thread_turns_list_supports_requested_items_view(codex_home, codex_app_servers, codex_binary):
    """Port of ``thread_turns_list_supports_requested_items_view``: one turn, a draft and a final agent message."""
    tid = fake(codex_home, "first", turns=[FakeTurn("first", "draft", turn_id="turn-1", complete=False)])
    path = rollout_path(codex_home, FILENAME_TS, tid)
    append_records(path, [agent_message_item_record("final", timestamp="2025-01-05T12:02:00Z", codex_version=codex_binary),
                          turn_complete_record("turn-1", timestamp="2025-01-05T12:02:00Z", last_agent_message="final")])
    app = codex_app_servers()

    def single(view: str) -> dict:
        data = turns_list(app, tid, limit=10, sortDirection="asc", itemsView=view)["data"]
        assert len(data) == 1
        return data[0]

    full = single("full")
    assert full["itemsView"] == "full" and agent_texts([full]) == ["draft", "final"]
    summary = single("summary")
    assert summary["itemsView"] == "summary"
    assert (user_texts([summary]), agent_texts([summary])) == (["first"], ["final"])
    not_loaded = single("notLoaded")
    assert not_loaded["itemsView"] == "notLoaded" and not_loaded["items"] == []
    for key in ("id", "status", "startedAt", "completedAt", "durationMs"):
        assert not_loaded[key] == full[key], key


def test_thread_resume_initial_turns_page_matches_requested_turns_list_page(codex_home, codex_app_servers, codex_binary):
    """Port of ``thread_resume_initial_turns_page_matches_requested_turns_list_page``."""
    tid = fake(codex_home, "first")
    path = rollout_path(codex_home, FILENAME_TS, tid)
    append_user_turn(path, "second", timestamp="2025-01-05T12:01:00Z")
    append_user_turn(path, "third", timestamp="2025-01-05T12:02:00Z")
    app = codex_app_servers()
    expected = turns_list(app, tid, limit=2, sortDirection="asc", itemsView="notLoaded")
    resumed = app.request("thread/resume", {"threadId": tid, "excludeTurns": True, "initialTurnsPage": {
        "limit": 2, "sortDirection": "asc", "itemsView": "notLoaded"}}, timeout=T)
    assert resumed["thread"]["turns"] == []
    assert resumed["initialTurnsPage"] == expected
    assert user_texts(expected["data"]) == [] and len(expected["data"]) == 2  # notLoaded: ids and statuses only


# ----------------------------------------------------------------------------------------- thread_resume.rs


def test_thread_resume_returns_rollout_history(codex_home, codex_app_servers):
    """Port of ``thread_resume_returns_rollout_history``."""
    preview = "Saved user message"
    tid = fake(codex_home, preview, text_elements=NOTE)
    app = codex_app_servers()
    thread = app.request("thread/resume", {"threadId": tid}, timeout=T)["thread"]
    assert (thread["id"], thread["preview"], thread["modelProvider"]) == (tid, preview, "mock_provider")
    assert thread["path"].startswith("/") and thread["cwd"] == "/"
    assert (thread["cliVersion"], thread["source"], thread["gitInfo"]) == ("0.0.0", "cli", None)
    assert thread["status"] == {"type": "idle"}
    assert len(thread["turns"]) == 1, "expected rollouts to include one turn"
    turn = thread["turns"][0]
    assert turn["status"] == "completed"
    assert [i["type"] for i in turn["items"]] == ["userMessage"], "expected user message item"
    assert turn["items"][0]["content"] == note_content(preview)


USAGE = {"input_tokens": 120, "cached_input_tokens": 20, "output_tokens": 30, "reasoning_output_tokens": 10,
         "total_tokens": 150}
"""Upstream's ``create_fake_rollout_with_token_usage``: the saved turn's usage (total 150)."""


def _token_usage_update(app) -> dict:
    return app.read_stream_until_notification_message("thread/tokenUsage/updated", T).params


def test_thread_resume_token_usage_replay_ignores_stale_interrupted_tail_turn(codex_home, codex_app_servers, codex_binary):
    """Port of ``thread_resume_token_usage_replay_ignores_stale_interrupted_tail_turn``: resume of an incomplete turn.

    The tail turn was cut off while the model was still answering: no usage reported, no closing record.
    """
    tid = fake(codex_home, "Saved user message", turns=[FakeTurn("Saved user message", "Done", usage=USAGE)])
    stale = "incomplete-turn-after-token-usage"
    tail = FakeTurn("keep going", "Still running", turn_id=stale, complete=False).records(CREATED, thread_id=tid,
                                                                                          codex_version=codex_binary)
    usage_kinds = ("event_msg/token_count", "token_usage_record")
    append_records(rollout_path(codex_home, FILENAME_TS, tid), [r for r in tail if record_kind(r) not in usage_kinds])
    app = codex_app_servers()
    thread = app.request("thread/resume", {"threadId": tid}, timeout=T)["thread"]
    assert [t["status"] for t in thread["turns"]] == ["completed", "interrupted"]
    assert thread["turns"][1]["id"] == stale
    assert agent_texts(thread["turns"][1:]) == ["Still running"]
    note = _token_usage_update(app)
    assert note["threadId"] == tid and note["turnId"] == thread["turns"][0]["id"] != stale
    total = note["tokenUsage"]["total"]
    assert (total["totalTokens"], total["inputTokens"], total["cachedInputTokens"], total["outputTokens"],
            total["reasoningOutputTokens"]) == (150, 120, 20, 30, 10)


def test_thread_resume_token_usage_replay_can_belong_to_interrupted_turn(codex_home, codex_app_servers, codex_binary):
    """Port of ``thread_resume_token_usage_replay_can_belong_to_interrupted_turn``: usage reported, then the interrupt."""
    tid = fake(codex_home, "Saved user message", turns=[FakeTurn("Saved user message", "Done", usage=USAGE)])
    interrupted = "interrupted-turn-with-token-usage"
    records = FakeTurn("stop soon", turn_id=interrupted, aborted=True).records(CREATED, thread_id=tid,
                                                                               codex_version=codex_binary)
    last = {"input_tokens": 90, "cached_input_tokens": 30, "output_tokens": 40, "reasoning_output_tokens": 12,
            "total_tokens": 130}
    total = {"input_tokens": 180, "cached_input_tokens": 40, "output_tokens": 50, "reasoning_output_tokens": 15,
             "total_tokens": 230}
    records.insert(-1, token_count_record(last, total_usage=total, timestamp=CREATED, codex_version=codex_binary,
                                          model_context_window=123_456))
    append_records(rollout_path(codex_home, FILENAME_TS, tid), records)
    app = codex_app_servers()
    thread = app.request("thread/resume", {"threadId": tid}, timeout=T)["thread"]
    assert [t["status"] for t in thread["turns"]] == ["completed", "interrupted"]
    assert thread["turns"][1]["id"] == interrupted
    note = _token_usage_update(app)
    assert note["threadId"] == tid and note["turnId"] == interrupted
    assert (note["tokenUsage"]["total"]["totalTokens"], note["tokenUsage"]["last"]["totalTokens"]) == (230, 130)
    assert note["tokenUsage"]["modelContextWindow"] == 123_456  # the record's, not the binary's default


def test_thread_resume_by_external_rollout_path(codex_home, codex_app_servers, tmp_path):
    """Port of upstream's resume-by-``path`` tests: a rollout outside CODEX_HOME, resumed by its path (thread id ignored)."""
    tid = fake(codex_home, "kept elsewhere", turns=[FakeTurn("kept elsewhere", "still here"), FakeTurn("and more")])
    source = find_thread_path_by_id_str(codex_home, tid)
    outside = tmp_path / "elsewhere" / source.name
    outside.parent.mkdir()
    shutil.move(source, outside)
    assert find_thread_path_by_id_str(codex_home, tid) is None
    app = codex_app_servers()
    thread = app.request("thread/resume", {"threadId": "00000000-0000-4000-8000-000000000000", "path": str(outside)},
                         timeout=T)["thread"]
    assert thread["id"] == tid and thread["path"] == str(outside)
    assert [(t["status"], [i["type"] for i in t["items"]]) for t in thread["turns"]] == [
        ("completed", ["userMessage", "agentMessage"]), ("completed", ["userMessage"])]
    assert agent_texts(thread["turns"]) == ["still here"]
