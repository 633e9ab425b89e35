"""The fork server (issue 26 x issue 25 Build 3): one supervisor process per owner, a forked supervisor per codex.

The "codex" here is a small Python program that starts a grandchild in a session
of its own (as the binary's ``bwrap --new-session`` helpers do) and writes its
pid to a file: every test checks that the grandchild goes with its codex. None of
these tests can pass on main: there is no fork server there (``served`` does not exist).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from codex_fixtures.appserver import served
from codex_fixtures.appserver.served import ServedProcess, fork_server_pid, spawn_served

GONE_WITHIN_S = 10.0

TREE = textwrap.dedent('''
    import subprocess, sys, threading
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    with open(sys.argv[1] + ".tmp", "w") as fh:
        fh.write(str(grandchild.pid))
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    threading.Event().wait(300)
''')


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def left_after(pids: list[int], timeout: float = GONE_WITHIN_S) -> list[int]:
    """Poll (bounded) until none of ``pids`` runs; those still running at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def wait_for_file(path: Path, timeout: float = 30.0) -> str:
    """The content of ``path`` once it exists (bounded poll)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return path.read_text()


def kill_all(pids: list[int]) -> None:
    """Clean up after a failing assertion, by pid."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def spawn_tree(pid_file: Path) -> tuple[ServedProcess, int, int]:
    """A supervised "codex" with an escaped grandchild: ``(supervisor, codex pid, grandchild pid)``."""
    proc, codex = spawn_served([sys.executable, "-c", TREE, str(pid_file)], cwd="/", env={}, live_dir=None, timeout=30)
    assert isinstance(proc, ServedProcess), "the fork server did not start (fallback taken)"
    return proc, codex, int(wait_for_file(pid_file))


def parent_of(pid: int) -> int:
    """``pid``'s parent."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[1])


def test_stdio_exit_status_and_the_grandchild_go_through_the_server(tmp_path):
    echo = "import sys; sys.stdout.write(sys.stdin.readline().upper()); sys.stderr.write('err\\n'); sys.exit(3)"
    proc, codex = spawn_served([sys.executable, "-c", echo], cwd=tmp_path, env={"X": "1"}, live_dir=None, timeout=30)
    assert isinstance(proc, ServedProcess)
    assert parent_of(proc.pid) == fork_server_pid() and codex != proc.pid
    proc.stdin.write(b"hello\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"HELLO\n"
    assert proc.stderr.readline() == b"err\n"
    assert proc.wait(timeout=10) == 3 and proc.poll() == 3
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        stream.close()

    proc, codex, grandchild = spawn_tree(tmp_path / "gc")
    try:
        os.kill(codex, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert left_after([grandchild]) == []
    finally:
        kill_all([grandchild])


def test_a_missing_interpreter_raises_like_popen(tmp_path):
    script = tmp_path / "bad"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    with pytest.raises(FileNotFoundError):
        spawn_served([str(script)], cwd=tmp_path, env={}, live_dir=None, timeout=30)


def test_many_concurrent_spawns_from_threads_share_one_server(tmp_path):
    echo = "import sys; sys.stdout.write(sys.stdin.readline())"
    results: dict[int, tuple[int, int, bytes, int]] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            proc, codex = spawn_served([sys.executable, "-c", echo], cwd=tmp_path, env={}, live_dir=None, timeout=60)
            proc.stdin.write(f"{i}\n".encode())
            proc.stdin.close()
            line = proc.stdout.readline()
            proc.stdout.close()
            proc.stderr.close()
            results[i] = (proc.pid, codex, line, proc.wait(timeout=60))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(results) == list(range(16))
    assert all(line == f"{i}\n".encode() and code == 0 for i, (_, _, line, code) in results.items())
    assert len({codex for _, codex, _, _ in results.values()}) == 16
    assert fork_server_pid() is not None


def test_a_killed_server_ends_its_supervisors_their_codex_and_grandchildren_then_restarts(tmp_path):
    trees = [spawn_tree(tmp_path / f"gc{i}") for i in range(3)]
    server = fork_server_pid()
    pids = [pid for proc, codex, grandchild in trees for pid in (proc.pid, codex, grandchild)]
    try:
        assert server is not None and all(parent_of(proc.pid) == server for proc, _, _ in trees)
        os.kill(server, signal.SIGKILL)
        assert left_after(pids) == []
        for proc, _, _ in trees:
            assert proc.wait(timeout=10) in (-signal.SIGKILL, -signal.SIGTERM)
        proc, codex, grandchild = spawn_tree(tmp_path / "after")  # a new server
        pids += [proc.pid, codex, grandchild]
        assert fork_server_pid() not in (None, server)
        proc.kill()
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert left_after([codex, grandchild]) == []
    finally:
        kill_all([pid for pid in pids if alive(pid)])


OWNER = textwrap.dedent('''
    import json, os, sys, threading
    from codex_fixtures.appserver.served import fork_server_pid, spawn_served
    TREE, out = sys.argv[1], sys.argv[2]
    info = {"trees": []}
    for i in range(3):
        proc, codex = spawn_served([sys.executable, "-c", TREE, out + f".{i}"], cwd="/", env={}, live_dir=None, timeout=30)
        info["trees"].append([proc.pid, codex])
    info["server"] = fork_server_pid()
    with open(out + ".tmp", "w") as fh:
        json.dump(info, fh)
    os.replace(out + ".tmp", out)
    threading.Event().wait(300)  # until the test SIGKILLs this process
''')


def test_a_sigkilled_owner_ends_every_codex_tree_and_its_server(tmp_path):
    out = tmp_path / "owner.json"
    owner = subprocess.Popen([sys.executable, "-c", OWNER, TREE, str(out)], start_new_session=True)
    pids: list[int] = []
    try:
        info = json.loads(wait_for_file(out))
        grandchildren = [int(wait_for_file(Path(f"{out}.{i}"))) for i in range(3)]
        pids = [info["server"], *grandchildren, *(pid for tree in info["trees"] for pid in tree)]
        assert all(alive(pid) for pid in pids)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        left = left_after(pids)
        assert left == [], f"still running {GONE_WITHIN_S} s after their owner was SIGKILLed: {left}"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
        kill_all([pid for pid in pids if alive(pid)])


def test_a_forked_owner_gets_its_own_server(tmp_path):
    proc, codex, grandchild = spawn_tree(tmp_path / "parent")
    parent_server = fork_server_pid()
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the forked owner reports and leaves
        code = 1
        try:
            os.close(read_fd)
            kid, kid_codex, kid_grandchild = spawn_tree(tmp_path / "child")
            report = {"server": fork_server_pid(), "sup": kid.pid, "codex": kid_codex, "grandchild": kid_grandchild,
                      "sup_parent": parent_of(kid.pid)}
            os.write(write_fd, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    pids = [proc.pid, codex, grandchild]
    try:
        chunks = []
        while chunk := os.read(read_fd, 4096):
            chunks.append(chunk)
        assert os.waitpid(child, 0)[1] == 0
        report = json.loads(b"".join(chunks))
        pids += [report["server"], report["sup"], report["codex"], report["grandchild"]]
        assert report["server"] not in (None, parent_server) and report["sup_parent"] == report["server"]
        # the forked owner has exited: its server and everything it started end; the parent's go on
        assert left_after([report["server"], report["sup"], report["codex"], report["grandchild"]]) == []
        assert fork_server_pid() == parent_server and proc.poll() is None and alive(grandchild)
        proc.terminate()
        assert proc.wait(timeout=10) == -signal.SIGTERM
        assert left_after([codex, grandchild]) == []
    finally:
        os.close(read_fd)
        kill_all([pid for pid in pids if alive(pid)])


def test_a_server_that_cannot_start_falls_back_to_a_supervisor_per_spawn_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setattr(served, "_server", None)  # this process's running server comes back after the test
    monkeypatch.setattr(served, "_fallback_said", False)
    monkeypatch.setattr(served, "SCRIPT", str(tmp_path / "missing.py"))
    with pytest.warns(RuntimeWarning, match="the fork server cannot start"):
        first, _ = spawn_served([sys.executable, "-c", "pass"], cwd=tmp_path, env={}, live_dir=None, timeout=30)
    assert isinstance(first, subprocess.Popen) and first.wait(10) == 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second, _ = spawn_served([sys.executable, "-c", "pass"], cwd=tmp_path, env={}, live_dir=None, timeout=30)
    assert isinstance(second, subprocess.Popen) and second.wait(10) == 0
    for proc in (first, second):
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()


def test_a_sigkilled_supervisor_leaves_nothing_the_server_kills_its_orphans(tmp_path):
    # with one supervisor interpreter per spawn (main), a SIGKILLed supervisor left codex's orphans to init
    proc, codex, grandchild = spawn_tree(tmp_path / "gc")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL  # it could not report: the owner says killed
        assert left_after([codex, grandchild]) == []  # codex by PDEATHSIG, the grandchild by the server
        assert fork_server_pid() is not None
    finally:
        kill_all([pid for pid in (codex, grandchild) if alive(pid)])


TTY_OWNER = textwrap.dedent('''
    import os, sys
    from codex_fixtures.appserver.served import spawn_served
    probe = "import os\\ntry:\\n    os.close(os.open('/dev/tty', os.O_RDWR))\\n    print('tty')\\nexcept OSError as e:\\n    print('no tty', e.errno)"
    os.close(os.open("/dev/tty", os.O_RDWR))  # the owner has one (the test's pty)
    proc, _ = spawn_served([sys.executable, "-c", probe], cwd="/", env={}, live_dir=None, timeout=30)
    with open(sys.argv[1], "w") as fh:
        fh.write(proc.stdout.read().decode())
    proc.wait(10)
''')


def test_codex_has_no_controlling_terminal_even_when_its_owner_has_one(tmp_path):
    # the fork server stays in the owner's session (not setsid: autogroups) but drops the terminal (TIOCNOTTY)
    import pty

    out = tmp_path / "tty.txt"
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the owner, on a pty of its own
        try:
            os.execv(sys.executable, [sys.executable, "-c", TTY_OWNER, str(out)])
        finally:
            os._exit(127)
    try:
        deadline = time.monotonic() + 60
        while True:  # drain the pty (the child may write to it) until the child exits
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                if not os.read(master, 4096):
                    break
            except OSError:
                break  # EIO: the child side closed
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert out.read_text().split()[:2] == ["no", "tty"], out.read_text()
    finally:
        os.close(master)


EXITING_OWNER = textwrap.dedent('''
    import atexit, os, sys, warnings
    warnings.simplefilter("always", ResourceWarning)
    server = []
    # registered before the toolkit's own handler, so it runs after it (atexit is last-in, first-out)
    atexit.register(lambda: print("server running at exit:", os.path.exists(f"/proc/{server[0]}"), flush=True))
    from codex_fixtures.appserver.served import fork_server_pid, spawn_served
    proc, _ = spawn_served([sys.executable, "-c", "pass"], cwd="/", env={}, live_dir=None, timeout=30)
    proc.wait(30)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        pipe.close()
    server.append(fork_server_pid())
''')


def test_an_owner_that_exits_closes_and_reaps_its_server_without_a_warning():
    # before: the socket and the Popen were left to garbage collection at shutdown ("unclosed <socket ... type=5>",
    # "subprocess N is still running", seen at the end of xdist workers) and the server, still running, went to init
    proc = subprocess.run([sys.executable, "-X", "dev", "-c", EXITING_OWNER], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "server running at exit: False", proc.stdout  # closed and reaped by its owner
    assert "ResourceWarning" not in proc.stderr, proc.stderr
