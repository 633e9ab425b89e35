"""What a sandboxed tool call leaves in the real ``/tmp``: no ``/tmp/.git`` under the hermetic config.

Under ``sandbox_mode="workspace-write"`` the binary makes ``/tmp`` a writable root
by default and, while a command runs, creates empty ``/tmp/.git``, ``.codex``,
``.agents`` and ``.aws`` (mount targets that keep them read-only in a writable
root); an interrupted command leaves them behind (0.163.0, 0.171.0), and every
later cwd under ``/tmp`` is then "inside a git repository". The hermetic config sets
``[sandbox_workspace_write] exclude_slash_tmp = true``. (Measured 2026-12-06: the same run
with ``exclude_slash_tmp = false`` leaves all four on 0.163.0 and 0.171.0. That control is
not part of the suite: for the seconds it exists, ``/tmp/.git`` would break other workers'
tests whose cwd is under ``/tmp``.) ``/tmp/codex-daemon-<uid>`` is another matter: the
binary creates it whatever the config or environment says (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer, create_final_assistant_message_sse_response
from codex_fixtures.mock.tool_calls import ev_exec_command_call, tool_call_sse_response
from conftest import _descendants

# the read-only mount targets bwrap gets for each writable root (0.163.0 / 0.171.0 argv): with /tmp
# writable, each is created in /tmp while a command runs and left when the command is interrupted
SLASH_TMP_TARGETS = tuple(Path("/tmp") / name for name in (".git", ".codex", ".agents", ".aws"))
SLEEP = "sleep 37.5"  # a marker: the command's own process, found in /proc
pytestmark = pytest.mark.codex_binary


@contextlib.contextmanager
def _slash_tmp_watch():
    """Skip when a target already exists; afterwards remove the empty ones this test made (never leave them)."""
    there = [str(p) for p in SLASH_TMP_TARGETS if os.path.lexists(p)]
    if there:
        pytest.skip(f"{', '.join(there)} exist(s) already (left by an earlier codex run?): cannot tell whether this run makes one")
    try:
        yield
    finally:
        for path in SLASH_TMP_TARGETS:
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()  # only an empty dir: what the binary makes
                elif path.is_file() and path.stat().st_size == 0:
                    path.unlink()


def _wait_for_descendant(pid: int, command: str, timeout: float) -> None:
    """Wait until a process below ``pid`` runs ``command`` (the sandbox is set up by then)."""
    deadline = time.monotonic() + timeout
    while not any(cmd == command for _, cmd in _descendants(pid)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {command!r} below pid {pid} within {timeout:g} s: {_descendants(pid)}")
        threading.Event().wait(0.05)  # polling /proc: the output delta is not a reliable signal (sometimes never sent)


def _interrupted_sleep_leaves(codex_bin: Path | None, **config: object) -> list[str]:
    """Run a ``sleep`` via ``exec_command`` under workspace-write, interrupt it once it runs;
    which of :data:`SLASH_TMP_TARGETS` exist afterwards."""
    call = ev_exec_command_call("call-sleep", SLEEP, yield_time_ms=60_000)
    bodies = [tool_call_sse_response(call), create_final_assistant_message_sse_response("done")]
    with MockResponsesServer().start() as mock, CodexHome(mock, sandbox_mode="workspace-write", **config) as home:
        for body in bodies:
            mock.enqueue(body)
        with AppServerProcess(home.path, codex_bin=codex_bin) as app:
            app.initialize(timeout=30)
            thread = app.start_thread(timeout=30)
            turn = app.request("turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "sleep"}]}, 30)["turn"]
            _wait_for_descendant(app.pid, SLEEP, 30)  # it runs in its sandbox, with its mount targets
            done = app.interrupt_turn_and_wait_for_aborted(thread["id"], turn["id"], timeout=30)
            assert done.params["turn"]["status"] == "interrupted", done.params
    return [str(p) for p in SLASH_TMP_TARGETS if os.path.lexists(p)]


def test_an_interrupted_workspace_write_command_leaves_no_slash_tmp_git(real_codex):
    with _slash_tmp_watch():
        assert _interrupted_sleep_leaves(real_codex) == [], "the hermetic config let the binary leave these in /tmp"



def test_the_suites_sweep_removes_only_what_it_made_and_only_while_empty(tmp_path):
    from conftest import MadeBySession, slash_tmp_made_by_codex

    assert slash_tmp_made_by_codex() == [Path(f"/tmp/codex-daemon-{os.geteuid()}"), *SLASH_TMP_TARGETS]
    before, made, busy, link = (tmp_path / n for n in ("before", "made", "busy", "link"))
    before.mkdir()
    guard = MadeBySession([before, made, busy, link])
    made.mkdir()
    busy.mkdir()
    (busy / "socket").write_text("")  # a daemon's socket: in use
    link.symlink_to(before)
    assert guard.sweep() == [made]
    assert before.is_dir() and not made.exists() and (busy / "socket").exists() and link.is_symlink()
