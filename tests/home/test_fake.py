"""FakeCodexHome: building, archiving, listing and materializing, under pyfakefs and on a real disk."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from codex_fixtures import (
    ARCHIVED_SESSIONS_SUBDIR,
    SESSIONS_SUBDIR,
    FakeCodexHome,
    append_records,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
    read_rollout,
    session_meta_record,
)
from codex_fixtures.home.fake import active_fake_filesystem

T0 = 1_736_078_400.0  # 2025-01-05T12:00:00Z


@pytest.fixture(params=["pyfakefs", "disk"])
def fake_home(request, tmp_path) -> FakeCodexHome:
    if request.param == "pyfakefs":
        return request.getfixturevalue("codex_fake_home")
    return FakeCodexHome(tmp_path / "codex-home")


@contextlib.contextmanager
def real_disk(home: FakeCodexHome) -> Iterator[None]:
    """Look at the real disk (pyfakefs paused) while inside."""
    if home.fs is None:
        yield
        return
    home.fs.pause()
    try:
        yield
    finally:
        home.fs.resume()


def add_segment(home: FakeCodexHome, tid: str, when: str = "2025-01-06T00-00-00") -> Path:
    """A ``thread/revert`` segment file next to the base rollout."""
    seg = home.path / SESSIONS_SUBDIR / "2025/01/06" / f"rollout-{when}-{tid}_{uuid.uuid4()}.jsonl"
    seg.parent.mkdir(parents=True, exist_ok=True)
    append_records(seg, [session_meta_record(tid, timestamp=T0 + 86400)])
    return seg


def test_fixture_is_pyfakefs_backed(codex_fake_home, fs):
    assert codex_fake_home.path == Path("/codex-home") and codex_fake_home.fs is fs
    assert active_fake_filesystem() is fs
    tid = codex_fake_home.add_rollout(preview="only in memory")
    fs.pause()
    try:
        assert not Path("/codex-home").exists()  # nothing on the real disk
    finally:
        fs.resume()
    assert codex_fake_home.find(tid) is not None


def test_archive_and_unarchive_move_all_segments(fake_home):
    tid = fake_home.add_rollout(created_at=T0, turns=[("q", "a")])
    other = fake_home.add_rollout(created_at=T0 + 60)
    base = fake_home.find(tid)
    seg = add_segment(fake_home, tid)
    moved = fake_home.archive(tid)
    assert sorted(p.name for p in moved) == sorted([base.name, seg.name])
    assert all(p.parent == fake_home.path / ARCHIVED_SESSIONS_SUBDIR for p in moved)
    assert fake_home.find(tid) is None and fake_home.find_archived(tid).name == base.name
    assert fake_home.thread_ids() == [other] and fake_home.thread_ids(archived=True) == [tid]
    with pytest.raises(LookupError, match="no rollout of thread"):
        fake_home.archive(tid)
    back = fake_home.unarchive(tid)
    assert base in back and fake_home.find(tid) == base
    assert [r.is_segment for r in fake_home.rollouts() if r.thread_id == tid] == [False, True]
    with pytest.raises(ValueError, match="not a thread id"):
        fake_home.archive("nope")


def test_finders_with_duplicates_segments_and_non_uuid_names(fake_home):
    tid = fake_home.add_rollout(created_at=T0)
    fake_home.add_rollout(created_at=T0 - 86400 * 30, thread_id=tid, archived=True)  # same id, archived copy
    seg = add_segment(fake_home, tid)
    junk = fake_home.path / SESSIONS_SUBDIR / "2025/01/05" / "rollout-2025-01-05T12-00-00-not-a-uuid.jsonl"
    junk.write_text("{}\n")
    assert find_thread_path_by_id_str(fake_home.path, tid) == fake_home.find(tid) != seg
    assert find_archived_thread_path_by_id_str(fake_home.path, tid).parent.name == ARCHIVED_SESSIONS_SUBDIR
    assert [r.path.name for r in list_rollouts(fake_home.path)] == [fake_home.find(tid).name, seg.name]
    assert len(list_rollouts(fake_home.path, archived=None)) == 3
    with pytest.raises(ValueError):
        fake_home.find("not-a-uuid")


def test_materialize_copies_tree_and_mtimes_to_real_disk(fake_home, tmp_path):
    tid = fake_home.add_rollout(created_at=T0, turns=[("q", "a")])
    fake_home.write_config("http://127.0.0.1:9")
    arch = fake_home.add_rollout(created_at=T0 + 5, archived=True)
    dest = fake_home.materialize(tmp_path / "real-home")
    expected = read_rollout(fake_home.find(tid))
    with real_disk(fake_home):
        assert os.fspath(dest) == os.fspath(tmp_path / "real-home")
        real = find_thread_path_by_id_str(dest, tid)
        assert real is not None and os.stat(real).st_mtime == T0
        assert find_archived_thread_path_by_id_str(dest, arch) is not None
        assert 'base_url = "http://127.0.0.1:9/v1"' in (dest / "config.toml").read_text()
        assert read_rollout(real) == expected


def test_materialize_under_pyfakefs_writes_the_real_disk(codex_fake_home, fs, tmp_path):
    codex_fake_home.add_rollout(created_at=T0)
    dest = codex_fake_home.materialize(tmp_path / "out")
    fs.pause()
    try:
        assert len(list_rollouts(dest)) == 1  # visible without pyfakefs
    finally:
        fs.resume()


def test_copy_from_a_real_directory(tmp_path):
    src = FakeCodexHome(tmp_path / "src")
    tid = src.add_rollout(created_at=T0)
    dst = FakeCodexHome(tmp_path / "dst")
    dst.copy_from(src.path)
    assert dst.find(tid) is not None and os.stat(dst.find(tid)).st_mtime == T0


def test_copy_from_real_into_pyfakefs(tmp_path, request):
    FakeCodexHome(tmp_path / "real").add_rollout(created_at=T0, thread_id=(tid := str(uuid.uuid4())))
    home = request.getfixturevalue("codex_fake_home")
    home.copy_from(tmp_path / "real")
    assert home.find(tid) == home.path / home.find(tid).relative_to(home.path)
    assert home.fs.exists(os.fspath(home.find(tid)))


def test_add_rollout_writes_the_format_the_home_was_made_for(tmp_path):
    from codex_fixtures import rollout_record_kinds

    home = FakeCodexHome(tmp_path / "old", codex_version="0.101.0")
    old = rollout_record_kinds(home.find(home.add_rollout(turns=[("q", "a")])))
    assert "event_msg/user_message" in old and "event_msg/item_completed:UserMessage" not in old
    new = rollout_record_kinds(home.find(home.add_rollout(turns=[("q", "a")], codex_version="0.171.0", history_mode="paginated")))
    assert "event_msg/item_completed:UserMessage" in new
    served = home.find(home.add_rollout(turns=[("q", "a")], codex_version="0.171.0"))  # legacy history: served from the file
    assert "event_msg/item_completed:UserMessage" not in rollout_record_kinds(served)
    assert read_rollout(served)[0]["payload"]["history_mode"] == "legacy"
    paginated = FakeCodexHome(tmp_path / "pages", codex_version="0.163.0", history_mode="paginated")
    assert read_rollout(paginated.find(paginated.add_rollout()))[0]["payload"]["history_mode"] == "paginated"


def test_archive_moves_all_files_of_a_thread_or_none(fake_home):
    tid = fake_home.add_rollout(created_at=T0, turns=[("q", "a")])
    base = fake_home.find(tid)
    seg = add_segment(fake_home, tid)
    blocker = fake_home.path / ARCHIVED_SESSIONS_SUBDIR / seg.name  # the segment's destination is taken
    blocker.parent.mkdir(parents=True)
    blocker.write_text("someone else's file\n")
    with pytest.raises(FileExistsError, match=seg.name):
        fake_home.archive(tid)
    assert base.exists() and seg.exists(), "half the thread was archived"
    assert fake_home.find_archived(tid) is None and blocker.read_text() == "someone else's file\n"
    blocker.unlink()
    assert len(fake_home.archive(tid)) == 2 and fake_home.find(tid) is None
