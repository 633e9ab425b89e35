"""Rollout builders: record kinds per binary format, file placement, mtimes, appenders and bad input (disk and pyfakefs).

The kind sequences asserted here are those of the captured real rollouts
(home/format_data); tests/home/test_rollout_calibration.py checks them against
a live binary.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from importlib.metadata import version

import pytest
from codex_fixtures import (
    ARCHIVED_SESSIONS_SUBDIR,
    SESSIONS_SUBDIR,
    FakeTurn,
    RolloutFormatError,
    agent_message_item_record,
    agent_message_records,
    append_records,
    append_user_turn,
    create_fake_rollout,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
    new_thread_id,
    read_rollout,
    rollout_path,
    rollout_record_kinds,
    session_meta_record,
    token_count_record,
    turn_aborted_record,
    turn_complete_record,
    turn_started_record,
    user_message_item_record,
    user_message_records,
)
from codex_fixtures.home.rollout_formats import record_kind

BUNDLED = version("openai-codex-cli-bin")  # read before any test patches the filesystem

CREATED = "2025-01-05T12:00:00Z"
EPOCH = datetime(2025, 1, 5, 12, tzinfo=UTC).timestamp()

CONTEXT_163 = ["event_msg/task_started", "response_item/message", "response_item/message", "world_state", "turn_context",
               "event_msg/thread_settings_applied", "response_item/message", "event_msg/item_completed:UserMessage"]
REPLY_163 = ["event_msg/item_completed:AgentMessage", "response_item/message"]
USAGE_163 = ["token_usage_record", "event_msg/token_count"]
NEXT_163 = ["event_msg/task_started", "turn_context", "response_item/message", "event_msg/item_completed:UserMessage"]
ABORT_163 = ["event_msg/token_count", "response_item/message", "event_msg/turn_aborted"]
ONE_TURN_101 = ["session_meta", "response_item/message", "response_item/message", "response_item/message", "event_msg/task_started",
                "response_item/message", "event_msg/user_message", "turn_context", "event_msg/token_count",
                "event_msg/agent_message", "response_item/message", "event_msg/token_count", "event_msg/task_complete"]


def kinds(path) -> list[str]:
    return [record_kind(r) for r in read_rollout(path)]


def test_preview_only_fake_is_an_unanswered_turn(home):
    tid = create_fake_rollout(home, created_at=CREATED, preview="Hi there", cwd="/work", codex_version="0.163.0",
                              history_mode="paginated")
    path = find_thread_path_by_id_str(home, tid)
    assert path == rollout_path(home, CREATED, tid)
    local = datetime.fromtimestamp(EPOCH).strftime("%Y-%m-%dT%H-%M-%S")  # file names use local time, like the binary
    assert path.name == f"rollout-{local}-{tid}.jsonl"
    assert path.parent == home / SESSIONS_SUBDIR / local[:4] / local[5:7] / local[8:10]
    assert os.stat(path).st_mtime == EPOCH
    assert kinds(path) == ["session_meta", *CONTEXT_163, *USAGE_163, "event_msg/task_complete"]
    records = read_rollout(path)
    assert {r["timestamp"] for r in records} == {"2025-01-05T12:00:00.000Z"}
    assert [r["ordinal"] for r in records] == list(range(len(records)))
    meta = records[0]["payload"]
    assert meta["id"] == meta["session_id"] == tid and meta["runtime_workspace_roots"] == ["/work"]
    assert (meta["cwd"], meta["source"], meta["model_provider"], meta["cli_version"]) == ("/work", "vscode", "mock_provider", "0.163.0")
    assert meta["base_instructions"] is None and "git" not in meta
    user = records[7]["payload"]
    assert (user["role"], user["content"]) == ("user", [{"type": "input_text", "text": "Hi there"}])
    item = records[8]["payload"]
    assert item["thread_id"] == tid and item["item"]["content"] == [{"type": "text", "text": "Hi there", "text_elements": []}]
    assert records[-1]["payload"]["last_agent_message"] is None
    assert path.read_text().endswith("}\n") and ", " not in path.read_text().splitlines()[1]


def test_explicit_turns_aborted_open_and_archived(home):
    tid = create_fake_rollout(
        home, created_at=EPOCH, codex_version="0.163.0", history_mode="paginated", archived=True, git={"commit_hash": "abc", "branch": "main"},
        turns=["just asked", ("q", "a"), {"user": "stop", "aborted": True}, {"user": "open", "assistant": "partial",
                                                                            "complete": False, "turn_id": "t-open"}],
    )
    assert find_thread_path_by_id_str(home, tid) is None
    path = find_archived_thread_path_by_id_str(home, tid)
    assert path.parent == home / ARCHIVED_SESSIONS_SUBDIR
    assert kinds(path) == ["session_meta", *CONTEXT_163, *USAGE_163, "event_msg/task_complete",
                           *NEXT_163, *REPLY_163, *USAGE_163, "event_msg/task_complete",
                           *NEXT_163, *ABORT_163,
                           *NEXT_163, *REPLY_163, *USAGE_163]
    records = read_rollout(path)
    assert records[0]["payload"]["git"] == {"commit_hash": "abc", "branch": "main"}
    started = [r["payload"]["turn_id"] for r in records if r["payload"].get("type") == "task_started"]
    assert started[3] == "t-open" and len(set(started)) == 4
    aborted = next(r["payload"] for r in records if r["payload"].get("type") == "turn_aborted")
    assert aborted["reason"] == "interrupted" and aborted["turn_id"] == started[2]
    assert "<turn_aborted>" in records[-10]["payload"]["content"][0]["text"]
    assert records[-4]["payload"]["item"]["content"] == [{"type": "Text", "text": "partial"}]
    orders = [r["metadata"]["user_input_order"] for r in records if "user_input_order" in r.get("metadata", {})]
    assert orders == list(range(len(orders)))


def test_0101_format_and_version_choice(home, recwarn, monkeypatch):
    from codex_fixtures.home import rollout_formats

    monkeypatch.setattr(rollout_formats, "_warned", set())
    tid = create_fake_rollout(home, turns=[("hello", "Hi there")], codex_version="0.101.0")
    records = read_rollout(find_thread_path_by_id_str(home, tid))
    assert [record_kind(r) for r in records] == ONE_TURN_101
    assert all("ordinal" not in r for r in records)
    assert records[6]["payload"]["message"] == "hello" and records[9]["payload"] == {"type": "agent_message", "message": "Hi there"}
    create_fake_rollout(home, codex_version="0.101.7")  # same minor: no warning
    assert not recwarn.list
    create_fake_rollout(home, codex_version="0.150.2")
    create_fake_rollout(home, codex_version="0.150.2")
    create_fake_rollout(home, codex_version="0.99.0")
    messages = [str(w.message) for w in recwarn.list]
    assert len(messages) == 2, messages  # once per version
    assert "codex 0.150.2" in messages[0] and "writing the 0.101.0 format (nearest older" in messages[0]
    assert "codex 0.99.0" in messages[1] and "0.101.0 format (oldest known" in messages[1]

    class Binary:  # what a CodexBinary offers
        version = "0.171.0"

    tid = create_fake_rollout(home, codex_version=Binary())
    meta = read_rollout(find_thread_path_by_id_str(home, tid))[0]["payload"]
    assert "account_scoped" in meta  # 0.171 adds it
    with pytest.raises(ValueError, match="not a codex version: 'latest'"):
        create_fake_rollout(home, codex_version="latest")
    with pytest.raises(TypeError, match="codex_version must be"):
        create_fake_rollout(home, codex_version=163)


def test_default_format_is_the_session_binary_or_the_bundled_one(home, request):
    from codex_fixtures.home import rollout_formats

    tid = create_fake_rollout(home)
    written = read_rollout(find_thread_path_by_id_str(home, tid))
    expected = rollout_formats.resolve_format(None).with_history(None)
    assert [record_kind(r) for r in written] == [record_kind(r) for r in [expected.session_meta, *expected.first_turn_no_reply]]
    if not (request.config.getoption("--codex-bin") or os.environ.get("CODEX_BIN")):
        assert expected.key == tuple(int(x) for x in BUNDLED.split(".")[:2])


def test_filename_timestamp_is_independent_of_created_at(home):
    tid = create_fake_rollout(home, created_at=CREATED, filename_timestamp="2024-03-04T05-06-07")
    path = find_thread_path_by_id_str(home, tid)
    assert path.name == f"rollout-2024-03-04T05-06-07-{tid}.jsonl" and path.parent.name == "04"
    assert read_rollout(path)[0]["timestamp"] == "2025-01-05T12:00:00.000Z" and os.stat(path).st_mtime == EPOCH
    tid = create_fake_rollout(home, created_at=CREATED, filename_timestamp=EPOCH - 86400)
    assert find_thread_path_by_id_str(home, tid).name.startswith(datetime.fromtimestamp(EPOCH - 86400).strftime("rollout-%Y-%m-%dT"))


def test_text_elements_and_token_usage(home):
    turns = [FakeTurn("see @a.md", "ok", text_elements=[(4, 9, "@a.md")], usage={"input_tokens": 10, "output_tokens": 2}),
             FakeTurn("more", "fine", usage={"input_tokens": 5, "output_tokens": 1, "cached_input_tokens": 3})]
    tid = create_fake_rollout(home, turns=turns, codex_version="0.163.0", history_mode="paginated")
    records = read_rollout(find_thread_path_by_id_str(home, tid))
    users = [r["payload"]["item"] for r in records if record_kind(r) == "event_msg/item_completed:UserMessage"]
    assert users[0]["content"][0]["text_elements"] == [{"byte_range": {"start": 4, "end": 9}, "placeholder": "@a.md"}]
    counts = [r["payload"]["info"] for r in records if record_kind(r) == "event_msg/token_count"]
    assert [c["last_token_usage"]["total_tokens"] for c in counts] == [12, 6]
    assert [c["total_token_usage"]["total_tokens"] for c in counts] == [12, 18]
    assert counts[1]["total_token_usage"]["cached_input_tokens"] == 3
    tid = create_fake_rollout(home, turns=[FakeTurn("x", text_elements=[{"byteRange": {"start": 0, "end": 1}}])], codex_version="0.101")
    event = next(r for r in read_rollout(find_thread_path_by_id_str(home, tid)) if record_kind(r) == "event_msg/user_message")
    assert event["payload"]["text_elements"] == [{"byte_range": {"start": 0, "end": 1}}]
    with pytest.raises(ValueError, match="unknown token usage key 'tokens'"):
        create_fake_rollout(home, turns=[FakeTurn("x", usage={"tokens": 1})])
    with pytest.raises(ValueError, match="an aborted turn has no assistant reply"):
        create_fake_rollout(home, turns=[FakeTurn("x", "y", aborted=True)])
    with pytest.raises(ValueError, match="an aborted turn's token_count carries no usage"):
        create_fake_rollout(home, turns=[FakeTurn("x", aborted=True, usage={"input_tokens": 1})])
    with pytest.raises(ValueError, match="text element needs 'byte_range'"):
        create_fake_rollout(home, turns=[FakeTurn("x", text_elements=[{"start": 0}])])


def test_appenders_continue_the_file(home):
    tid = create_fake_rollout(home, created_at=CREATED, turns=[FakeTurn("q", "a", usage={"input_tokens": 4})], codex_version="0.163.0",
                              history_mode="paginated")
    path = find_thread_path_by_id_str(home, tid)
    before = len(read_rollout(path))
    turn = append_user_turn(path, "follow-up", assistant="answer", mtime="2025-01-06T00:00:00Z", codex_version="0.163.0",
                            usage={"input_tokens": 1})
    assert os.stat(path).st_mtime == EPOCH + 12 * 3600
    records = read_rollout(path)
    assert [record_kind(r) for r in records[before:]] == [*NEXT_163, *REPLY_163, *USAGE_163, "event_msg/task_complete"]
    assert [r["ordinal"] for r in records] == list(range(len(records)))
    assert records[before]["payload"]["turn_id"] == turn and records[-1]["payload"]["last_agent_message"] == "answer"
    assert records[-2]["payload"]["info"]["total_token_usage"]["input_tokens"] == 5
    assert {r["payload"]["thread_id"] for r in records[before:] if "thread_id" in r["payload"]} == {tid}
    appended = [turn_started_record("t2"), user_message_item_record("x", thread_id=tid, turn_id="t2", codex_version="0.163.0",
                                                                    history_mode="paginated"),
                agent_message_item_record("y", thread_id=tid, turn_id="t2", item_id="msg-9", codex_version="0.163.0",
                                          history_mode="paginated"),
                token_count_record({"input_tokens": 2}, codex_version="0.163.0"), turn_complete_record("t2")]
    append_records(path, appended)
    records = read_rollout(path)
    assert [r["ordinal"] for r in records] == list(range(len(records)))  # numbered on
    assert records[-3]["payload"]["item"] == {"type": "AgentMessage", "id": "msg-9", "content": [{"type": "Text", "text": "y"}]}
    old = create_fake_rollout(home, turns=[("q", "a")], codex_version="0.101.0")
    old_path = find_thread_path_by_id_str(home, old)
    append_user_turn(old_path, "again", assistant="sure")  # no codex_version: the file's own format goes on
    assert rollout_record_kinds(old_path)[len(ONE_TURN_101):] == [
        "event_msg/task_started", "response_item/message", "event_msg/user_message", "turn_context", "event_msg/token_count",
        "event_msg/agent_message", "response_item/message", "event_msg/token_count", "event_msg/task_complete"]
    real = create_fake_rollout(home, turns=[("q", "a")], codex_version="0.171.0", history_mode="paginated")
    real_path = find_thread_path_by_id_str(home, real)
    append_user_turn(real_path, "again")  # a known cli_version names the format
    assert "account_scoped" in read_rollout(real_path)[0]["payload"] and rollout_record_kinds(real_path)[-1] == "event_msg/task_complete"
    append_records(old_path, [turn_started_record("t3"), *user_message_records("x", images=["data:,"]), turn_complete_record("t3")])
    assert all("ordinal" not in r for r in read_rollout(old_path))  # 0.101 writes none
    assert next(r for r in read_rollout(old_path) if r["payload"].get("message") == "x")["payload"]["images"] == ["data:,"]


def test_single_record_builders():
    tid = str(uuid.uuid4())
    meta = session_meta_record(tid, timestamp=0, source={"subagent": "review"}, forked_from_id="x", model_provider=None,
                               codex_version="0.163.0", history_mode="paginated")
    assert meta["timestamp"] == "1970-01-01T00:00:00.000Z" and meta["payload"]["forked_from_id"] == "x"
    assert meta["payload"]["source"] == {"subagent": "review"} and meta["payload"]["model_provider"] is None
    assert meta["payload"]["history_mode"] == "paginated" and meta["ordinal"] == 0
    user = user_message_item_record("hi @f", thread_id=tid, turn_id="t", text_elements=[(3, 5)], codex_version="0.163.0",
                                    history_mode="paginated")
    assert "ordinal" not in user and user["payload"]["type"] == "item_completed"
    assert user["payload"]["item"]["content"][0]["text_elements"] == [{"byte_range": {"start": 3, "end": 5}, "placeholder": None}]
    agent = agent_message_item_record("done", thread_id=tid, turn_id="t", codex_version="0.171.0", history_mode="paginated")
    assert agent["payload"]["item"]["type"] == "AgentMessage" and agent["payload"]["turn_id"] == "t"
    assert agent_message_item_record("done", codex_version="0.101.0")["payload"] == {"type": "agent_message", "message": "done"}
    assert user_message_item_record("u", codex_version="0.101.0")["payload"]["type"] == "user_message"
    with pytest.raises(ValueError, match="pass thread_id= and turn_id="):
        agent_message_item_record("done", codex_version="0.163.0", history_mode="paginated")
    legacy = agent_message_item_record("done", codex_version="0.163.0")["payload"]  # the default fake's history mode
    assert legacy == {"type": "agent_message", "message": "done", "phase": None, "memory_citation": None}
    assert user_message_item_record("u", codex_version="0.171.0")["payload"]["message"] == "u"
    count = token_count_record({"input_tokens": 7, "output_tokens": 1}, total_usage={"input_tokens": 70}, codex_version="0.163.0")
    info = count["payload"]["info"]
    assert info["last_token_usage"]["total_tokens"] == 8 and info["total_token_usage"]["total_tokens"] == 70
    assert "cache_write_input_tokens" in info["last_token_usage"]
    assert "cache_write_input_tokens" not in token_count_record(codex_version="0.101.0")["payload"]["info"]["last_token_usage"]
    aborted = turn_aborted_record("t", timestamp=0, codex_version="0.163.0")["payload"]
    assert (aborted["type"], aborted["turn_id"], aborted["reason"], aborted["started_at"]) == ("turn_aborted", "t", "interrupted", 0)
    assert turn_aborted_record("t", reason="replaced", codex_version="0.101.0")["payload"] == {
        "type": "turn_aborted", "turn_id": "t", "reason": "replaced"}
    item, event = agent_message_records("done", item_id="msg-1", timestamp=0)  # the 0.101-era pair, unchanged
    assert item["payload"]["content"] == [{"type": "output_text", "text": "done", "annotations": []}]
    assert item["payload"]["id"] == "msg-1" and event["payload"]["type"] == "agent_message"
    assert FakeTurn.coerce(("u", "a")) == FakeTurn("u", "a") and FakeTurn.coerce(("u", None)) == FakeTurn("u")
    standalone = FakeTurn("u", "a").records(0, thread_id=tid, codex_version="0.163.0", history_mode="paginated")
    assert [record_kind(r) for r in standalone] == [*NEXT_163, *REPLY_163, *USAGE_163, "event_msg/task_complete"]


def test_new_thread_id_is_uuid7_ordered_by_time():
    a, b = new_thread_id("2025-01-01T00:00:00Z"), new_thread_id("2025-01-02T00:00:00Z")
    assert uuid.UUID(a).version == 7 and a < b


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "../x"])
def test_non_uuid_ids_raise_value_error(home, bad):
    with pytest.raises(ValueError, match="not a thread id"):
        create_fake_rollout(home, thread_id=bad)
    with pytest.raises(ValueError, match="not a thread id"):
        session_meta_record(bad)


def test_bad_turns_time_and_duplicates(home):
    with pytest.raises(ValueError, match="a turn is"):
        create_fake_rollout(home, turns=[42])
    with pytest.raises(ValueError, match="needs 'user'"):
        create_fake_rollout(home, turns=[{"assistant": "x"}])
    with pytest.raises(ValueError, match="turns=\\[\\]"):
        create_fake_rollout(home, turns=[])
    with pytest.raises(ValueError, match="RFC 3339"):
        create_fake_rollout(home, created_at="yesterday")
    tid = create_fake_rollout(home, created_at=CREATED)
    with pytest.raises(ValueError, match="already exists"):
        create_fake_rollout(home, created_at=CREATED, thread_id=tid)


def test_malformed_appended_line_is_reported_with_file_and_line(home):
    tid = create_fake_rollout(home, turns=[("q", "a")])
    path = find_thread_path_by_id_str(home, tid)
    n = len(path.read_text().splitlines())
    with path.open("a") as fh:
        fh.write('{"timestamp":"t","type":"event_msg","payload":\n')
    with pytest.raises(RolloutFormatError) as info:
        read_rollout(path)
    assert str(info.value).startswith(f"{path}:{n + 1}: not JSON")


def test_listing_many_homes_built_by_the_builders(home):
    ids = [create_fake_rollout(home, created_at=EPOCH + i * 86400, preview=f"p{i}") for i in range(5)]
    create_fake_rollout(home, created_at=EPOCH + 10 * 86400, archived=True)
    listed = list_rollouts(home)
    assert [r.thread_id for r in listed] == ids
    assert len(list_rollouts(home, archived=None)) == 6


def test_append_records_mtime_true_means_now(home):
    import time

    create_fake_rollout(home, created_at=EPOCH)
    path = list_rollouts(home)[0].path
    before = os.stat(path).st_mtime
    assert before == pytest.approx(EPOCH)
    append_records(path, [], mtime=False)
    assert os.stat(path).st_mtime == pytest.approx(EPOCH)
    append_records(path, [], mtime=True)
    assert os.stat(path).st_mtime > EPOCH + 3600 and os.stat(path).st_mtime <= time.time() + 1


LEGACY_163 = ["session_meta", "event_msg/task_started", "response_item/message", "response_item/message", "world_state",
              "turn_context", "event_msg/thread_settings_applied", "response_item/message", "event_msg/user_message",
              "event_msg/agent_message", "response_item/message", "token_usage_record", "event_msg/token_count",
              "event_msg/task_complete"]
"""What 0.163 writes for a thread started with ``historyMode: "legacy"`` (the binary serves it from the file)."""


@pytest.mark.parametrize("version", ["0.163.0", "0.171.0"])
def test_default_fake_is_a_legacy_history_thread_as_the_binary_writes_one(home, version):
    tid = create_fake_rollout(home, turns=[FakeTurn("see @a.md", "ok", text_elements=[(4, 9, "@a.md")]), ("more", "fine")],
                              codex_version=version, created_at=CREATED)
    path = find_thread_path_by_id_str(home, tid)
    records = read_rollout(path)
    assert [record_kind(r) for r in records][: len(LEGACY_163)] == LEGACY_163
    assert all("ordinal" not in r for r in records)  # legacy threads carry no ordinals
    meta = records[0]["payload"]
    assert (meta["history_mode"], meta["cli_version"]) == ("legacy", version)  # cli_version follows codex_version
    users = [r["payload"] for r in records if record_kind(r) == "event_msg/user_message"]
    assert [u["message"] for u in users] == ["see @a.md", "more"]
    assert users[0]["text_elements"] == [{"byte_range": {"start": 4, "end": 9}, "placeholder": "@a.md"}]
    assert [r["payload"]["message"] for r in records if record_kind(r) == "event_msg/agent_message"] == ["ok", "fine"]
    turn = append_user_turn(path, "third", assistant="yes")  # the file's own format and mode go on
    tail = read_rollout(path)[len(records):]
    assert "event_msg/user_message" in [record_kind(r) for r in tail] and all("ordinal" not in r for r in tail)
    assert tail[0]["payload"]["turn_id"] == turn
    assert create_fake_rollout(home, codex_version=version, cli_version="0.0.0") != tid  # upstream's value, when asked


def test_history_mode_choice_and_bad_values(home):
    tid = create_fake_rollout(home, codex_version="0.101.0", history_mode="legacy")  # 0.101's one format is legacy
    assert "history_mode" not in read_rollout(find_thread_path_by_id_str(home, tid))[0]["payload"]
    with pytest.raises(ValueError, match="codex 0.101.0 writes no paginated history"):
        create_fake_rollout(home, codex_version="0.101.0", history_mode="paginated")
    with pytest.raises(ValueError, match="history_mode is one of legacy, paginated"):
        create_fake_rollout(home, codex_version="0.163.0", history_mode="pages")
    tid = create_fake_rollout(home, codex_version="0.163.0", history_mode="paginated", turns=[("q", "a")])
    path = find_thread_path_by_id_str(home, tid)
    append_user_turn(path, "again", assistant="sure")  # a paginated file goes on paginated
    tail = rollout_record_kinds(path)[-10:]
    assert "event_msg/item_completed:AgentMessage" in tail and "event_msg/agent_message" not in tail
