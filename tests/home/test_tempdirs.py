"""The per-process temp root: where temp dirs go, who owns a root, which roots are swept.

Roots are fabricated in ``tmp_path`` (never in the shared ``$TMPDIR``) for
every case of :func:`sweep_stale_roots`: a dead pid, a live pid, a reused pid
(same pid, another start time), a zombie, a root of another pid namespace, a
root still being created (no owner file yet).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from codex_fixtures import CodexHome
from codex_fixtures.home import tempdirs
from codex_fixtures.home.tempdirs import (
    LIVE_SUBDIR,
    OWNER_FILE,
    ROOT_PREFIX,
    in_temp_root,
    make_temp_dir,
    sweep_stale_roots,
    temp_root,
)


def fake_root(base: Path, pid: int, owner: str | None) -> Path:
    root = base / f"{ROOT_PREFIX}{pid}-abc123"
    (root / "codex-home-x").mkdir(parents=True)
    if owner is not None:
        (root / OWNER_FILE).write_text(owner + "\n")
    return root


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def namespace() -> str:
    return os.readlink("/proc/self/ns/pid")


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    yield proc
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          timeout=60, check=True)
    return int(proc.stdout)


def test_the_root_is_marked_with_pid_start_time_and_namespace_and_holds_temp_dirs():
    root = temp_root()
    assert root.name.startswith(f"{ROOT_PREFIX}{os.getpid()}-") and root.parent == Path(tempfile.gettempdir())
    assert (root / OWNER_FILE).read_text().split() == [str(os.getpid()), start_time(os.getpid()), namespace(), os.uname().nodename]
    made = make_temp_dir("codex-x-")
    assert made.parent == root and in_temp_root(made)
    outside = make_temp_dir("codex-y-", outside_root=True)
    try:
        assert not in_temp_root(outside)
    finally:
        outside.rmdir()
    made.rmdir()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc for process start times")
def test_sweep_removes_only_roots_whose_process_is_gone(tmp_path, sleeper, dead_pid):
    ns = namespace()
    live = fake_root(tmp_path, sleeper.pid, f"{sleeper.pid} {start_time(sleeper.pid)} {ns}")
    reused = fake_root(tmp_path / "r", sleeper.pid, f"{sleeper.pid} 1 {ns}")  # same pid, another start time
    dead = fake_root(tmp_path, dead_pid, f"{dead_pid} 12345 {ns}")
    creating_live = fake_root(tmp_path / "c", sleeper.pid, None)
    creating_dead = fake_root(tmp_path / "d", dead_pid, None)
    elsewhere = fake_root(tmp_path / "n", dead_pid, f"{dead_pid} 12345 pid:[1]")  # another pid namespace
    other_host = fake_root(tmp_path / "h", dead_pid, f"{dead_pid} 12345 {ns} another-host")
    mine = temp_root()
    for base in (tmp_path, tmp_path / "r", tmp_path / "c", tmp_path / "d", tmp_path / "n", tmp_path / "h"):
        sweep_stale_roots(base)
    assert live.is_dir() and creating_live.is_dir() and elsewhere.is_dir() and other_host.is_dir() and mine.is_dir()
    assert not reused.exists() and not dead.exists() and not creating_dead.exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc for process start times")
def test_a_root_whose_server_is_still_being_torn_down_is_kept(tmp_path, sleeper, dead_pid):
    # fails on main (issue 25 item 4): the owner was dead, so the root, its CODEX_HOME included, went from
    # under a server still running; a supervisor marks itself in <root>/live while it runs
    root = fake_root(tmp_path, dead_pid, f"{dead_pid} 12345 {namespace()}")
    (root / LIVE_SUBDIR).mkdir()
    marker = root / LIVE_SUBDIR / f"{sleeper.pid}-{start_time(sleeper.pid)}"
    marker.touch()
    (root / LIVE_SUBDIR / f"{dead_pid}-12345").touch()  # a supervisor that is gone does not keep it
    assert sweep_stale_roots(tmp_path) == [] and root.is_dir()
    marker.rename(root / LIVE_SUBDIR / f"{sleeper.pid}-1")  # the same pid, another start time: a reused pid
    assert sweep_stale_roots(tmp_path) == [root] and not root.exists()


def test_a_zombie_owner_counts_as_gone(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline, state = time.monotonic() + 30, ""
        while state != "Z" and time.monotonic() < deadline:  # exited, not reaped yet: a zombie
            state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            time.sleep(0.01)
        assert state == "Z"
        root = fake_root(tmp_path, proc.pid, f"{proc.pid} {start_time(proc.pid)} {namespace()}")
        assert sweep_stale_roots(tmp_path) == [root] and not root.exists()
    finally:
        proc.wait(timeout=10)


def test_a_forked_child_makes_its_own_root_and_leaves_the_parents(tmp_path):
    parent_root = temp_root()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            child_root = temp_root()
            os.write(write, str(child_root).encode())
            tempdirs._remove_at_exit()
            os.write(write, b"|" + str(parent_root.is_dir()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        child_root, parent_alive = fh.read().split("|")
    os.waitpid(pid, 0)
    assert child_root != str(parent_root) and f"{ROOT_PREFIX}{pid}-" in child_root
    assert parent_alive == "True" and parent_root.is_dir()
    assert not Path(child_root).exists()  # the child removed its own root, and only that


def test_keep_makes_the_home_outside_the_root_and_keep_later_moves_it_out():
    kept = CodexHome("http://127.0.0.1:1", keep=True)
    later = CodexHome("http://127.0.0.1:1")
    try:
        assert not in_temp_root(kept.path)
        assert in_temp_root(later.path)
        later.keep = True
        assert not in_temp_root(later.path) and later.config_path == later.path / "config.toml"
        assert later.config_path.is_file()
        later.cleanup()
        assert later.path.is_dir()  # kept
    finally:
        for home in (kept, later):
            home.keep = False
            home.cleanup()
    assert not kept.path.exists() and not later.path.exists()


def test_cleanup_in_a_forked_child_does_nothing():
    home = CodexHome("http://127.0.0.1:1")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        home.cleanup()
        os._exit(0)
    os.waitpid(pid, 0)
    try:
        assert (home.path / "config.toml").is_file()
    finally:
        home.cleanup()
    assert not home.path.exists()


def test_under_pyfakefs_a_temp_dir_goes_to_the_fake_root_and_the_real_root_stays(fs):
    fs.pause()
    try:
        real_root = temp_root()
    finally:
        fs.resume()
    made = make_temp_dir("codex-home-")  # the root does not exist in the fake filesystem: made there
    assert str(made.parent) == str(real_root) and made.is_dir()
    fs.pause()
    try:
        assert str(temp_root()) == str(real_root) and real_root.is_dir() and not os.path.exists(str(made))
    finally:
        fs.resume()


def test_a_ctrl_c_while_the_owner_file_is_written_still_leaves_the_root_to_the_exit_cleanup(tmp_path):
    # seen with `codex-repro bisect`: a SIGINT during the first probe's temp root left the root behind
    script = (
        "from codex_fixtures.home import tempdirs\n"
        "def interrupted(*a, **k):\n"
        "    raise KeyboardInterrupt\n"
        "tempdirs.atomic_write_text = interrupted\n"
        "try:\n"
        "    tempdirs.temp_root()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "interrupted", proc.stderr
    assert sorted(os.listdir(tmp_path)) == [], "the root outlived its process"
