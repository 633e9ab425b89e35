"""Bad CODEX_HOME entries: the reader names file and line, finders and listings skip (and say so), nothing hangs."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from bounded import run_bounded
from codex_fixtures import (
    RolloutFormatError,
    create_fake_rollout,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
    read_rollout,
)
from codex_fixtures.home import layout

ODD_ID = "0199a213-81c0-7800-8aa1-bbab2a035a53"


def rollout(home: Path) -> tuple[str, Path]:
    """A valid rollout of a fresh thread: (thread id, path)."""
    tid = create_fake_rollout(home)
    return tid, find_thread_path_by_id_str(home, tid)


def odd_name(thread_id: str = ODD_ID) -> str:
    return f"rollout-2025-01-01T00-00-00-{thread_id}.jsonl"


def day_dir(home: Path) -> Path:
    d = home / "sessions" / "2025" / "01" / "01"
    d.mkdir(parents=True, exist_ok=True)
    return d


def plant(home: Path, kind: str) -> Path:
    """One bad entry named like a rollout, under sessions/."""
    path = day_dir(home) / odd_name()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "dangling-symlink":
        path.symlink_to(path.parent / "gone.jsonl")
    return path


# ------------------------------------------------------------------ read_rollout
def test_a_line_nested_thousands_deep_is_a_format_error_with_file_and_line(tmp_path):
    _, path = rollout(tmp_path)
    with path.open("a") as fh:
        fh.write('{"type":"event_msg","payload":' + "[" * 100_000 + "]" * 100_000 + "}\n")
    n = len(path.read_bytes().splitlines())
    with pytest.raises(RolloutFormatError, match="nested too deeply") as info:
        read_rollout(path)
    assert (info.value.path, info.value.line_no) == (path, n)
    assert str(info.value).startswith(f"{path}:{n}: ")


def test_a_non_utf8_line_is_a_format_error_with_file_and_line(tmp_path):
    _, path = rollout(tmp_path)
    with path.open("ab") as fh:
        fh.write(b'{"type":"event_msg","payload":{"text":"caf\xe9"}}\n')
    n = len(path.read_bytes().splitlines())
    with pytest.raises(RolloutFormatError, match=r"not UTF-8 \(byte 0xe9") as info:
        read_rollout(path)
    assert info.value.line_no == n


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_non_regular_file_is_refused_without_blocking(tmp_path, kind):
    path = plant(tmp_path, kind)
    with pytest.raises(RolloutFormatError, match="not a regular file") as info:
        run_bounded(lambda: read_rollout(path))
    assert "\n" not in str(info.value) and info.value.line_no == 0 and str(path) in str(info.value)


def test_a_dangling_symlink_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_rollout(plant(tmp_path, "dangling-symlink"))


# ------------------------------------------------------------------ listings and finders
@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling-symlink"])
def test_listings_and_finders_skip_a_non_regular_rollout_and_say_so_once(tmp_path, kind):
    tid, good = rollout(tmp_path)
    bad = plant(tmp_path, kind)
    skipped: list[str] = []
    listed = run_bounded(lambda: list_rollouts(tmp_path, archived=None, skipped=skipped))
    assert [r.path for r in listed] == [good]
    assert len(skipped) == 1 and str(bad) in skipped[0], skipped
    assert ("FIFO" in skipped[0]) == (kind == "fifo") and ("dangling" in skipped[0]) == (kind == "dangling-symlink")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_bounded(lambda: find_thread_path_by_id_str(tmp_path, ODD_ID)) is None
        assert find_thread_path_by_id_str(tmp_path, tid) == good
        assert find_archived_thread_path_by_id_str(tmp_path, tid) is None
        list_rollouts(tmp_path)
    said = [str(w.message) for w in caught]
    assert len(said) == 3 and all("skipped 1 unreadable CODEX_HOME entry" in m and str(bad) in m for m in said), said


def test_a_symlink_to_a_regular_rollout_is_still_listed(tmp_path):
    tid, real = rollout(tmp_path / "elsewhere")
    link = day_dir(tmp_path) / real.name
    link.symlink_to(real)
    assert [r.path for r in list_rollouts(tmp_path)] == [link]
    assert find_thread_path_by_id_str(tmp_path, tid) == link


def test_a_directory_that_cannot_be_listed_is_skipped_for_unrelated_ids(tmp_path, monkeypatch):
    """An unreadable sessions/ subdirectory (EACCES; injected, since root is not stopped by permission bits)."""
    tid, good = rollout(tmp_path)
    locked = tmp_path / "sessions" / "2024" / "12"
    locked.mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(layout.os, "scandir", scandir)
    skipped: list[str] = []
    assert [r.path for r in list_rollouts(tmp_path, skipped=skipped)] == [good]
    assert skipped == [f"{locked} (Permission denied)"]
    with pytest.warns(RuntimeWarning, match="Permission denied"):
        assert find_thread_path_by_id_str(tmp_path, tid) == good


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: permission bits do not stop root (the injected test covers it)")
def test_a_directory_without_permissions_is_skipped(tmp_path):
    _, good = rollout(tmp_path)
    locked = tmp_path / "sessions" / "2024"
    locked.mkdir(parents=True)
    locked.chmod(0)
    try:
        skipped: list[str] = []
        assert [r.path for r in list_rollouts(tmp_path, skipped=skipped)] == [good]
        assert len(skipped) == 1 and str(locked) in skipped[0]
    finally:
        locked.chmod(0o755)


def test_a_clean_home_warns_nothing(tmp_path):
    tid, _ = rollout(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list_rollouts(tmp_path, archived=None)) == 1
        assert find_thread_path_by_id_str(tmp_path, tid) is not None


# ------------------------------------------------------------------ bounds (issue 18, 7)
def test_a_rollout_ending_in_2_gib_without_newline_is_refused_by_its_size_unread(tmp_path):
    """The issue's file (sparse: nothing is written): refused before its first line, in one line naming the limit."""
    import tracemalloc

    from codex_fixtures.home.rollout_reader import MAX_ROLLOUT_BYTES

    assert MAX_ROLLOUT_BYTES == 1 << 30
    _, path = rollout(tmp_path)
    os.truncate(path, path.stat().st_size + (2 << 30))
    tracemalloc.start()
    try:
        with pytest.raises(RolloutFormatError, match=f"over MAX_ROLLOUT_BYTES={MAX_ROLLOUT_BYTES}: not read") as info:
            run_bounded(lambda: read_rollout(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "\n" not in str(info.value) and info.value.line_no == 0 and str(path) in str(info.value)
    assert peak < 1 << 20


def test_a_line_over_the_line_cap_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    from codex_fixtures.home import rollout_reader

    monkeypatch.setattr(rollout_reader, "MAX_ROLLOUT_LINE_BYTES", 4096)
    _, path = rollout(tmp_path)
    good = len(path.read_bytes().splitlines())
    with path.open("ab") as fh:
        fh.write(b'{"type":"event_msg","payload":{"text":"' + b"x" * (4096 - 42) + b'"}}\n')  # exactly 4096: fine
    assert len(path.read_bytes().splitlines()[-1]) == 4096
    assert len(read_rollout(path)) == good + 1
    os.truncate(path, path.stat().st_size + (64 << 20))  # then 64 MiB of NULs without a newline
    with pytest.raises(RolloutFormatError, match="line longer than MAX_ROLLOUT_LINE_BYTES=4096 bytes") as info:
        run_bounded(lambda: read_rollout(path))
    assert info.value.line_no == good + 2 and "\n" not in str(info.value)


def test_a_file_one_byte_over_the_file_cap_is_refused_and_one_at_it_is_read(tmp_path, monkeypatch):
    from codex_fixtures.home import rollout_reader

    _, path = rollout(tmp_path)
    before = len(read_rollout(path))
    with path.open("ab") as fh:
        fh.write(b'{"type":"event_msg","payload":{}}\n' * 100)
    size = path.stat().st_size
    monkeypatch.setattr(rollout_reader, "MAX_ROLLOUT_BYTES", size - 1)
    with pytest.raises(RolloutFormatError, match=f"{size} bytes, over MAX_ROLLOUT_BYTES={size - 1}"):
        read_rollout(path)
    monkeypatch.setattr(rollout_reader, "MAX_ROLLOUT_BYTES", size)
    assert len(read_rollout(path)) == before + 100
