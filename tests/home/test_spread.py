"""The temp root's top-directory flag (ext4): set where the filesystem has it, not inherited, a no-op elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from codex_fixtures.home.spread import is_top_directory, mark_top_directory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the flag is a Linux (ext4) attribute")


def _fs_type(path: Path) -> str:
    """The filesystem type of ``path`` (the longest mount point above it in /proc/self/mountinfo)."""
    best, kind = "", ""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        mount, fstype = fields[4], fields[fields.index("-") + 1]
        if (str(path) + "/").startswith(mount.rstrip("/") + "/") and len(mount) >= len(best):
            best, kind = mount, fstype
    return kind


@pytest.fixture
def ext4_dir() -> Iterator[Path]:
    """A scratch dir on ext4: under the repository's build/ (TMPDIR may be a tmpfs, as in CI)."""
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    if _fs_type(build.resolve()) != "ext4":
        pytest.skip(f"the repository is on {_fs_type(build.resolve()) or 'an unknown filesystem'}, not ext4")
    path = Path(tempfile.mkdtemp(prefix="spread-", dir=build))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_on_ext4_the_flag_is_set_once_and_not_inherited(ext4_dir):
    assert not is_top_directory(ext4_dir)  # the test can fail: the flag is not there by default
    assert mark_top_directory(ext4_dir) and is_top_directory(ext4_dir)
    assert mark_top_directory(ext4_dir) and is_top_directory(ext4_dir)  # again: still set, no error
    child = ext4_dir / "home"
    child.mkdir()
    assert not is_top_directory(child)  # only the root's direct subdirectories are spread


def test_a_new_processs_temp_root_carries_the_flag_on_ext4(ext4_dir):
    code = ("from codex_fixtures.home.spread import is_top_directory\n"
            "from codex_fixtures.home.tempdirs import make_temp_dir, temp_root\n"
            "print(is_top_directory(temp_root()), is_top_directory(make_temp_dir('codex-home-')))\n")
    env = {**os.environ, "TMPDIR": str(ext4_dir)}
    env.pop("CODEX_THREADKIT_PROBE_CACHE", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert done.stdout.split() == ["True", "False"], done.stderr
    assert list(ext4_dir.iterdir()) == []  # the root went at exit


def test_where_the_filesystem_has_no_flags_nothing_happens_and_nothing_raises(tmp_path):
    tmpfs = next((p for p in (Path("/dev/shm"), Path(tempfile.gettempdir())) if p.is_dir() and _fs_type(p) == "tmpfs"), None)
    if tmpfs is None:
        pytest.skip("no tmpfs to try")
    path = Path(tempfile.mkdtemp(prefix="spread-", dir=tmpfs))
    try:
        assert not mark_top_directory(path) and not is_top_directory(path)
    finally:
        path.rmdir()
    assert not mark_top_directory(tmp_path / "missing") and not is_top_directory(tmp_path / "missing")
    (tmp_path / "file").write_text("")
    assert not mark_top_directory(tmp_path / "file")


def test_under_pyfakefs_no_ioctl_reaches_a_real_descriptor(fs, monkeypatch):
    import fcntl

    def refuse(*args: object) -> None:
        raise AssertionError("an ioctl on a pyfakefs descriptor (a number the kernel may have given a real file)")

    monkeypatch.setattr(fcntl, "ioctl", refuse)
    fs.create_dir("/fake-root")
    assert not mark_top_directory("/fake-root") and not is_top_directory("/fake-root")
