"""Finders and listings, on a real disk and under pyfakefs (parametrized)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from codex_fixtures import (
    ARCHIVED_SESSIONS_SUBDIR,
    SESSIONS_SUBDIR,
    CodexHome,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
    read_rollout,
)
from codex_fixtures.errors import RolloutFormatError

TS = "2025-01-05T12-00-00"


def put(home: Path, rel: str, body: str = '{"timestamp":"t","type":"session_meta","payload":{}}\n') -> Path:
    p = home / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(body)
    return p


def test_active_and_archived_lookups_are_separate(home):
    tid = str(uuid.uuid4())
    active = put(home, f"{SESSIONS_SUBDIR}/2025/01/05/rollout-{TS}-{tid}.jsonl")
    assert find_thread_path_by_id_str(home, tid) == active
    assert find_archived_thread_path_by_id_str(home, tid) is None
    archived = home / ARCHIVED_SESSIONS_SUBDIR / active.name
    archived.parent.mkdir()
    active.rename(archived)
    assert find_thread_path_by_id_str(home, tid) is None
    assert find_archived_thread_path_by_id_str(home, tid) == archived
    assert find_thread_path_by_id_str(home, tid.upper()) is None  # case-insensitive id, still archived


def test_missing_dirs_give_none(home):
    tid = str(uuid.uuid4())
    assert find_thread_path_by_id_str(home, tid) is None
    assert find_archived_thread_path_by_id_str(home, tid) is None
    assert list_rollouts(home) == []


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "../../etc/passwd", "1234"])
def test_non_uuid_ids_raise_value_error(home, bad):
    with pytest.raises(ValueError, match="not a thread id"):
        find_thread_path_by_id_str(home, bad)
    with pytest.raises(ValueError, match="not a thread id"):
        find_archived_thread_path_by_id_str(home, bad)


def test_duplicate_ids_in_active_and_archived_and_revert_segments(home):
    tid, seg = str(uuid.uuid4()), str(uuid.uuid4())
    base = put(home, f"{SESSIONS_SUBDIR}/2025/01/05/rollout-{TS}-{tid}.jsonl")
    segment = put(home, f"{SESSIONS_SUBDIR}/2025/01/06/rollout-2025-01-06T00-00-00-{tid}_{seg}.jsonl")
    old = put(home, f"{ARCHIVED_SESSIONS_SUBDIR}/rollout-2024-12-01T00-00-00-{tid}.jsonl")
    put(home, f"{SESSIONS_SUBDIR}/2025/01/05/notes.txt", "x")
    put(home, f"{SESSIONS_SUBDIR}/2025/01/05/rollout-garbage.jsonl")
    assert find_thread_path_by_id_str(home, tid) == base  # the base file, never the segment
    assert find_archived_thread_path_by_id_str(home, tid) == old
    active = list_rollouts(home)
    assert [r.path for r in active] == [base, segment]
    assert [r.is_segment for r in active] == [False, True]
    assert active[1].segment == seg and all(r.thread_id == tid for r in active)
    assert [r.path for r in list_rollouts(home, archived=True)] == [old]
    assert [r.archived for r in list_rollouts(home, archived=None)] == [True, False, False]


def test_read_rollout_reports_file_and_line(home):
    good = put(home, "a.jsonl", '{"timestamp":"t","type":"session_meta","payload":{}}\n{"timestamp":"t","type":"event_msg","payload":{"type":"user_message"}}\n')
    assert [r["type"] for r in read_rollout(good)] == ["session_meta", "event_msg"]
    bad = put(home, "b.jsonl", '{"timestamp":"t","type":"session_meta","payload":{}}\n{not json\n')
    with pytest.raises(RolloutFormatError) as info:
        read_rollout(bad)
    assert info.value.line_no == 2 and str(info.value).startswith(f"{bad}:2: not JSON")
    headless = put(home, "c.jsonl", '{"timestamp":"t","type":"event_msg","payload":{}}\n')
    with pytest.raises(RolloutFormatError, match="expected 'session_meta'"):
        read_rollout(headless)


def test_codex_home_context_manager_cleans_up():
    with CodexHome("http://127.0.0.1:9") as home:
        assert (home.path / "config.toml").exists()
        path = home.path
    assert not path.exists()
    with pytest.raises(ValueError):
        CodexHome("not a url")
