"""Files the toolkit writes survive a full disk: a tmpfs of 64 KiB is filled, then written to.

``write_config_toml`` keeps the good ``config.toml``, ``append_records`` leaves the
rollout as it was, ``create_fake_rollout`` leaves no file that blocks a retry;
each raises one line. Needs root (to mount the tmpfs); skips with the reason otherwise.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from codex_fixtures import append_records, create_fake_rollout, find_thread_path_by_id_str, read_rollout, write_config_toml
from codex_fixtures.home.atomic import append_bytes, atomic_write_bytes, atomic_write_text


@pytest.fixture
def tiny_fs(tmp_path: Path):
    """A 64 KiB tmpfs mounted at ``tmp_path / "tiny"`` (unmounted afterwards)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the full-disk tests cannot run here")
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True,
                          timeout=30, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30, check=False)


def fill(directory: Path) -> Path:
    """Fill the filesystem of ``directory`` to the last byte; returns the filler file (delete it to free space)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (4096, 1):
            while True:
                try:
                    os.write(fd, b"x" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*.tmp"))


def test_write_config_toml_on_a_full_disk_keeps_the_good_config(tiny_fs):
    good = write_config_toml(tiny_fs / "home", "http://127.0.0.1:1").read_bytes()
    fill(tiny_fs)
    with pytest.raises(OSError) as err:
        write_config_toml(tiny_fs / "home", "http://127.0.0.1:2", extra={"notes": "y" * 20000})
    assert (tiny_fs / "home" / "config.toml").read_bytes() == good
    assert err.value.errno == errno.ENOSPC
    assert "\n" not in str(err.value) and "config.toml" in str(err.value)
    assert leftovers(tiny_fs) == []


def test_append_records_on_a_full_disk_leaves_the_rollout_as_it_was(tiny_fs):
    tid = create_fake_rollout(tiny_fs, turns=[("hi", "hello")])
    path = find_thread_path_by_id_str(tiny_fs, tid)
    before = path.read_bytes()
    fill(tiny_fs)
    with pytest.raises(OSError) as err:
        append_records(path, [{"type": "event_msg", "payload": {"type": "note", "text": "z" * 20000}}] * 3)
    assert path.read_bytes() == before
    assert len(read_rollout(path)) == before.count(b"\n")
    assert err.value.errno == errno.ENOSPC and "\n" not in str(err.value) and path.name in str(err.value)


def test_create_fake_rollout_on_a_full_disk_leaves_nothing_and_a_retry_works(tiny_fs):
    (tiny_fs / "sessions").mkdir()
    filler = fill(tiny_fs)
    tid = "0199a213-81c0-7800-8aa1-bbab2a035a53"
    with pytest.raises(OSError) as err:
        create_fake_rollout(tiny_fs, thread_id=tid, preview="p" * 20000)
    assert find_thread_path_by_id_str(tiny_fs, tid) is None
    assert leftovers(tiny_fs) == []
    assert err.value.errno == errno.ENOSPC and "\n" not in str(err.value)
    filler.unlink()
    assert create_fake_rollout(tiny_fs, thread_id=tid, preview="p" * 20000) == tid
    assert read_rollout(find_thread_path_by_id_str(tiny_fs, tid))[0]["type"] == "session_meta"


# ------------------------------------------------------------ the helpers, on any disk
def test_atomic_write_replaces_whole_files_and_exclusive_refuses_an_existing_one(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "one\n")
    atomic_write_bytes(target, b"two\n")
    assert target.read_text() == "two\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(FileExistsError):
        atomic_write_text(target, "three\n", exclusive=True)
    assert target.read_text() == "two\n" and leftovers(tmp_path) == []


def test_append_bytes_appends_everything(tmp_path):
    target = tmp_path / "r.jsonl"
    target.write_bytes(b"a\n")
    append_bytes(target, b"b\nc\n")
    assert target.read_bytes() == b"a\nb\nc\n"
    append_bytes(tmp_path / "new.jsonl", b"x\n")  # like open("a"): a missing file is created
    assert (tmp_path / "new.jsonl").read_bytes() == b"x\n"


def test_atomic_writes_work_under_pyfakefs(fs):
    Path("/h").mkdir()
    atomic_write_text("/h/config.toml", "a = 1\n")
    atomic_write_text("/h/config.toml", "a = 2\n")
    append_bytes("/h/config.toml", b"b = 3\n")
    assert Path("/h/config.toml").read_text() == "a = 2\nb = 3\n"
    with pytest.raises(FileExistsError):
        atomic_write_text("/h/config.toml", "", exclusive=True)
    assert sorted(os.listdir("/h")) == ["config.toml"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
