"""Reliability: cleanup touches only what this process made; children run in their own sandbox.

Each test reproduces one fault of issue #12 in a child Python process (so a
fork, a SIGTERM or an ``os._exit`` never hits the test runner itself), with a
private ``TMPDIR`` so nothing of another run is counted or swept:

* a forked child that exits normally leaves the parent's app-server, mock
  server, CODEX_HOME and websocket connections alone (driver and ``%codex`` session);
* the app-server's ``bash -lc`` tool calls do not run the user's profile and get
  their own ``TMPDIR``; ``hermetic=False`` (what ``%codex connect`` uses) keeps
  the user's environment;
* a process killed without unwinding leaves its temp root, the next process
  sweeps it, and a live process's root is never swept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    MockResponsesServer,
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_function_call,
    ev_response_created,
)
from codex_fixtures.mock.script import sequence
from codex_fixtures.mock.sse import spec_complete_stream, sse

ROOT = Path(__file__).resolve().parents[1]


def run_child(code: str, tmpdir: Path, *, timeout: float = 120, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with ``TMPDIR=tmpdir``; returns the finished process."""
    child_env = {**os.environ, "TMPDIR": str(tmpdir), **(env or {})}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=child_env, cwd=ROOT, check=False)
    if check:
        assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture
def private_tmp(tmp_path: Path) -> Path:
    tmp = tmp_path / "private-tmp"
    tmp.mkdir()
    return tmp


def last_json(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ 1. fork
FORK_DRIVER = """
    import json, os, sys
    from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer
    server = MockResponsesServer().start()
    home = CodexHome(server)
    with AppServerProcess(home.path) as app:  # the fork happens inside the with block: the child unwinds it
        app.initialize()
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # a normal exit: atexit handlers and the with block run in the child
        _, status = os.waitpid(pid, 0)
        state = {"child_exit": os.waitstatus_to_exitcode(status), "alive": app.is_alive(),
                 "home": home.path.is_dir(), "config": (home.path / "config.toml").is_file(), "cwd": app.cwd.is_dir()}
        state["answers"] = "data" in app.request("thread/list", {})
    home.cleanup(); server.close()
    print(json.dumps(state))
"""


@pytest.mark.codex_binary
def test_a_forked_child_that_exits_normally_leaves_the_parents_app_server_and_home_alone(private_tmp):
    state = last_json(run_child(FORK_DRIVER, private_tmp))
    assert state == {"child_exit": 0, "alive": True, "home": True, "config": True, "cwd": True, "answers": True}


FORK_WEBSOCKET = """
    import json, os, sys
    from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer
    server = MockResponsesServer().start()
    home = CodexHome(server)
    with AppServerProcess(home.path, transport="websocket") as app:
        app.initialize()
        with app.new_connection() as conn:  # the fork happens inside both with blocks: the child unwinds them
            conn.initialize()
            pid = os.fork()
            if pid == 0:
                sys.exit(0)
            _, status = os.waitpid(pid, 0)
            state = {"child_exit": os.waitstatus_to_exitcode(status), "alive": app.is_alive(),
                     "connection": "data" in conn.request("thread/list", {}),
                     "primary": "data" in app.request("thread/list", {})}
    home.cleanup(); server.close()
    print(json.dumps(state))
"""


@pytest.mark.codex_binary
def test_a_forked_child_leaves_the_parents_websocket_connections_open(private_tmp):
    # before: the child's exit from `with app.new_connection()` closed the parent's socket
    state = last_json(run_child(FORK_WEBSOCKET, private_tmp))
    assert state == {"child_exit": 0, "alive": True, "connection": True, "primary": True}
    assert os.listdir(private_tmp) == []


FORK_SESSION = """
    import json, os, sys
    from codex_magics.session import CodexSession
    session = CodexSession.sandbox(stream_delay=0)
    pid = os.fork()
    if pid == 0:
        sys.exit(0)
    _, status = os.waitpid(pid, 0)
    state = {"child_exit": os.waitstatus_to_exitcode(status), "alive": session.app.is_alive(),
             "home": session.home.path.is_dir(), "closed": session.closed}
    tid = session.start()["id"]
    state["turn"] = session.run_turn(tid, "hi").status
    session.close()
    print(json.dumps(state))
"""


@pytest.mark.codex_binary
def test_a_forked_child_leaves_the_parents_codex_sandbox_alone(private_tmp):
    state = last_json(run_child(FORK_SESSION, private_tmp))
    assert state == {"child_exit": 0, "alive": True, "home": True, "closed": False, "turn": "completed"}


# --------------------------------------------------- 3. the child's environment
PROFILE = 'echo "PROFILE-RAN-$0"\n'


def _env_turn(app_env: dict | None, hermetic: bool | None, user_home: Path) -> tuple[str, dict, list[str]]:
    """One exec_command turn printing HOME and TMPDIR; (tool output, app-server environ, TMPDIR entries after close)."""
    cmd = 'echo "HOME=$HOME"; echo "TMPDIR=$TMPDIR"'
    call = sse(spec_complete_stream([ev_response_created("r1"), ev_function_call("call-1", "exec_command", json.dumps({"cmd": cmd})),
                                     ev_completed("r1")]))
    kwargs = {} if hermetic is None else {"hermetic": hermetic}
    with MockResponsesServer(sequence([call, create_final_assistant_message_sse_response("ok")])) as server, CodexHome(server) as home:
        with AppServerProcess(home.path, env=app_env, default_timeout=60, **kwargs) as app:
            app.initialize()
            environ = dict(kv.split("=", 1) for kv in Path(f"/proc/{app.pid}/environ").read_text().split("\0") if "=" in kv)
            assert app.run_turn(app.start_thread()["id"], "run it")["status"] == "completed"
        output = server.requests[1].function_call_output("call-1")["output"]
    tmp = environ.get("TMPDIR")
    return output, environ, ([tmp] if tmp and Path(tmp).exists() else [])


@pytest.mark.codex_binary
def test_tool_calls_do_not_run_the_users_profile_and_get_their_own_tmpdir(tmp_path, monkeypatch):
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    for name in (".bash_profile", ".profile", ".bashrc"):
        (user_home / name).write_text(PROFILE)
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("BASH_ENV", str(user_home / ".bashrc"))
    output, environ, left = _env_turn(None, None, user_home)
    assert "PROFILE-RAN" not in output, output
    assert environ["HOME"] != str(user_home) and f"HOME={environ['HOME']}" in output
    assert environ["TMPDIR"] != os.environ.get("TMPDIR") and f"TMPDIR={environ['TMPDIR']}" in output
    assert "BASH_ENV" not in environ
    assert left == [], "the app-server's own TMPDIR was not removed on close"
    assert sorted(p.name for p in user_home.iterdir()) == [".bash_profile", ".bashrc", ".profile"]


@pytest.mark.codex_binary
def test_hermetic_false_keeps_the_users_environment_and_env_overrides_win(tmp_path, monkeypatch):
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    (user_home / ".bash_profile").write_text(PROFILE)
    monkeypatch.setenv("HOME", str(user_home))
    user_tmp = tmp_path / "user-tmp"  # the user's TMPDIR: the sandbox's lock dir goes there, not into the machine's /tmp
    user_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(user_tmp))
    output, environ, _ = _env_turn(None, False, user_home)
    assert environ["TMPDIR"] == str(user_tmp)
    assert environ["HOME"] == str(user_home) and "PROFILE-RAN" in output  # the profile does run: the test can fail
    other = tmp_path / "other-home"
    other.mkdir()
    _, environ, _ = _env_turn({"HOME": str(other)}, True, user_home)
    assert environ["HOME"] == str(other)


def test_codex_connect_starts_a_non_hermetic_app_server(monkeypatch):
    seen = {}

    class Stop(Exception):
        pass

    def fake_app_server(*args, **kwargs):
        seen.update(kwargs)
        raise Stop

    from codex_magics import session

    monkeypatch.setattr(session, "AppServerProcess", fake_app_server)
    with pytest.raises(Stop):
        session.CodexSession.connect(str(ROOT))
    assert seen.get("hermetic") is False


# ------------------------------------------------ 7. temp dirs of dead processes
MAKE_AND_DIE = """
    import os, signal, sys
    from codex_fixtures import CodexHome
    home = CodexHome()
    print(home.path, flush=True)
    how = sys.argv[-1] if len(sys.argv) > 1 else "{how}"
    if how == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    os._exit(0)
"""

NEXT_START = """
    from codex_fixtures import CodexHome
    CodexHome().cleanup()
"""


@pytest.mark.parametrize("how", ["sigterm", "os._exit"])
def test_a_process_killed_without_unwinding_leaves_its_root_and_the_next_start_sweeps_it(private_tmp, how):
    proc = run_child(MAKE_AND_DIE.replace("{how}", how), private_tmp, check=False)
    assert proc.returncode == (-signal.SIGTERM if how == "sigterm" else 0), proc.stderr
    left = Path(proc.stdout.strip())
    assert left.is_dir(), "the dying process's home should still be there (nothing unwound)"
    run_child(NEXT_START, private_tmp)
    assert not left.exists(), "the next start did not sweep the dead process's temp dirs"
    assert [p.name for p in private_tmp.iterdir()] == [], "something was left in TMPDIR"


LIVE = """
    import sys
    from codex_fixtures import CodexHome
    home = CodexHome()
    print(home.path, flush=True)
    sys.stdin.readline()
    home.cleanup()
"""


def test_a_live_processs_temp_dirs_are_never_swept(private_tmp):
    live = subprocess.Popen([sys.executable, "-c", textwrap.dedent(LIVE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "TMPDIR": str(private_tmp)}, cwd=ROOT)
    try:
        assert live.stdout is not None and live.stdin is not None
        path = Path(live.stdout.readline().strip())
        assert path.is_dir()
        run_child(NEXT_START, private_tmp)
        assert path.is_dir(), "a live process's home was swept"
        live.stdin.write("\n")
        live.stdin.flush()
        assert live.wait(timeout=30) == 0
    finally:
        if live.poll() is None:
            live.kill()
            live.wait(timeout=10)
    assert not path.exists()


@pytest.mark.codex_binary
def test_codex_repro_keep_leaves_only_the_kept_home_after_exit(private_tmp):
    proc = subprocess.run([str(Path(sys.executable).parent / "codex-repro"), "run", "fork-just-started", "start-is-lazy",
                           "--keep", "--quiet"], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TMPDIR": str(private_tmp)}, check=False)
    assert proc.returncode == 1, proc.stderr  # fork-just-started differs on current binaries: its home is kept
    kept = [line.split(": ", 1)[1] for line in proc.stdout.splitlines() if "] fork-just-started: /" in line]
    assert len(kept) == 1 and Path(kept[0]).is_dir() and (Path(kept[0]) / "config.toml").is_file()
    assert [p.name for p in private_tmp.iterdir()] == [Path(kept[0]).name], "the temp root (or another home) was left"


KILLED_WITH_A_WEBSOCKET_SERVER = """
    import json, os, sys, time
    from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer
    server = MockResponsesServer().start()
    home = CodexHome(server)
    app = AppServerProcess(home.path, transport="websocket")
    app.initialize()

    def group(pid):  # None for a process that ended between the listing and the look (the binary's short helpers)
        try:
            return os.getpgid(pid)
        except ProcessLookupError:
            return None

    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and group(int(p)) == os.getpgid(app.pid)]
    print(json.dumps({"pids": pids}), flush=True)
    os.kill(os.getpid(), 9)  # no unwinding: no close(), no atexit
"""


def _gone(pid: int, within: float) -> bool:
    """Whether ``pid`` has exited (or is a zombie) within ``within`` seconds (polled on /proc, bounded)."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)  # polling a process we do not own for its end: no event to wait on
    return False


@pytest.mark.codex_binary
def test_a_websocket_app_server_ends_when_its_parent_is_killed(private_tmp):
    """A websocket server ignores stdin, so a SIGKILLed parent used to leave it running for good."""
    proc = run_child(KILLED_WITH_A_WEBSOCKET_SERVER, private_tmp, check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    pids = json.loads(proc.stdout.strip().splitlines()[-1])["pids"]
    left = [pid for pid in pids if not _gone(pid, 10.0)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert pids and not left, f"processes of the killed parent's websocket app-server still running: {left}"
