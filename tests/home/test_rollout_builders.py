"""Rollout builders: record shapes, file placement, mtimes, appenders and bad input (real disk and pyfakefs)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from codex_fixtures import (
    ARCHIVED_SESSIONS_SUBDIR,
    SESSIONS_SUBDIR,
    FakeTurn,
    RolloutFormatError,
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
    session_meta_record,
    turn_complete_record,
    turn_started_record,
    user_message_records,
)
from codex_fixtures.home.rollout_reader import rollout_record_types

CREATED = "2025-01-05T12:00:00Z"
EPOCH = datetime(2025, 1, 5, 12, tzinfo=UTC).timestamp()


def test_upstream_three_line_fake(home):
    tid = create_fake_rollout(home, created_at=CREATED, preview="Hi there", cwd="/work")
    path = find_thread_path_by_id_str(home, tid)
    assert path == rollout_path(home, CREATED, tid)
    local = datetime.fromtimestamp(EPOCH).strftime("%Y-%m-%dT%H-%M-%S")  # file names use local time, like the binary
    assert path.name == f"rollout-{local}-{tid}.jsonl"
    assert path.parent == home / SESSIONS_SUBDIR / local[:4] / local[5:7] / local[8:10]
    assert os.stat(path).st_mtime == EPOCH
    records = read_rollout(path)
    assert rollout_record_types(path) == ["session_meta", "response_item:message", "event_msg:user_message"]
    assert {r["timestamp"] for r in records} == {"2025-01-05T12:00:00.000Z"}
    meta = records[0]["payload"]
    assert meta["id"] == meta["session_id"] == tid
    assert (meta["cwd"], meta["source"], meta["model_provider"], meta["cli_version"]) == ("/work", "vscode", "mock_provider", "0.0.0")
    assert "git" not in meta
    assert records[1]["payload"] == {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there"}]}
    assert records[2]["payload"]["message"] == "Hi there"
    assert path.read_text().endswith("}\n") and " " not in path.read_text().splitlines()[0].split('"cwd"')[0]


def test_explicit_turns_and_archived(home):
    tid = create_fake_rollout(
        home,
        created_at=EPOCH,
        turns=["just asked", ("q", "a"), {"user": "open", "assistant": "partial", "complete": False, "turn_id": "t-open"}],
        archived=True,
        git={"commit_hash": "abc", "branch": "main"},
    )
    assert find_thread_path_by_id_str(home, tid) is None
    path = find_archived_thread_path_by_id_str(home, tid)
    assert path.parent == home / ARCHIVED_SESSIONS_SUBDIR
    types = rollout_record_types(path)
    assert types.count("event_msg:task_started") == 3 and types.count("event_msg:task_complete") == 2
    assert types.count("event_msg:agent_message") == 2 and types.count("response_item:message") == 5
    records = read_rollout(path)
    assert records[0]["payload"]["git"] == {"commit_hash": "abc", "branch": "main"}
    assert records[-1]["payload"] == {"type": "agent_message", "message": "partial", "phase": None}
    started = [r["payload"]["turn_id"] for r in records if r["payload"].get("type") == "task_started"]
    assert started[2] == "t-open" and len(set(started)) == 3


def test_appenders(home):
    tid = create_fake_rollout(home, created_at=CREATED)
    path = find_thread_path_by_id_str(home, tid)
    turn = append_user_turn(path, "follow-up", assistant="answer", mtime="2025-01-06T00:00:00Z")
    assert os.stat(path).st_mtime == EPOCH + 12 * 3600
    append_records(path, [turn_started_record("t2"), *user_message_records("x", images=["data:,"]), turn_complete_record("t2")])
    records = read_rollout(path)
    assert records[3]["payload"] == {"type": "task_started", "turn_id": turn, "started_at": records[3]["payload"]["started_at"],
                                     "model_context_window": None, "collaboration_mode_kind": "default"}
    assert records[8]["payload"]["type"] == "task_complete" and records[8]["payload"]["last_agent_message"] == "answer"
    image_msg = next(r for r in records if r["payload"].get("message") == "x")
    assert image_msg["payload"]["images"] == ["data:,"]
    assert records[-1]["payload"]["type"] == "task_complete"


def test_record_builders_shapes():
    tid = str(uuid.uuid4())
    meta = session_meta_record(tid, timestamp=0, source={"subagent": "review"}, forked_from_id="x", model_provider=None)
    assert meta["timestamp"] == "1970-01-01T00:00:00.000Z" and meta["payload"]["forked_from_id"] == "x"
    assert meta["payload"]["source"] == {"subagent": "review"} and meta["payload"]["model_provider"] is None
    item, event = agent_message_records("done", item_id="msg-1", timestamp=0)
    assert item["payload"]["content"] == [{"type": "output_text", "text": "done", "annotations": []}]
    assert item["payload"]["id"] == "msg-1" and event["payload"]["type"] == "agent_message"
    assert FakeTurn.coerce(("u", "a")) == FakeTurn("u", "a")


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
    with path.open("a") as fh:
        fh.write('{"timestamp":"t","type":"event_msg","payload":\n')
    with pytest.raises(RolloutFormatError) as info:
        read_rollout(path)
    assert str(info.value).startswith(f"{path}:8: not JSON")


def test_listing_many_homes_built_by_the_builders(home):
    ids = [create_fake_rollout(home, created_at=EPOCH + i * 86400, preview=f"p{i}") for i in range(5)]
    create_fake_rollout(home, created_at=EPOCH + 10 * 86400, archived=True)
    listed = list_rollouts(home)
    assert [r.thread_id for r in listed] == ids
    assert len(list_rollouts(home, archived=None)) == 6


def test_append_records_mtime_true_means_now(home):
    import os
    import time

    from codex_fixtures.home.rollout_builders import append_records

    create_fake_rollout(home, created_at=EPOCH)
    path = list_rollouts(home)[0].path
    before = os.stat(path).st_mtime
    assert before == pytest.approx(EPOCH)
    append_records(path, [], mtime=False)
    assert os.stat(path).st_mtime == pytest.approx(EPOCH)
    append_records(path, [], mtime=True)
    assert os.stat(path).st_mtime > EPOCH + 3600 and os.stat(path).st_mtime <= time.time() + 1
