"""What a sandboxed tool call leaves in the real ``/tmp``: no ``/tmp/.git`` under the hermetic config.

Under ``sandbox_mode="workspace-write"`` the binary makes ``/tmp`` a writable root
by default and, while a command runs, creates an empty ``/tmp/.git`` (a mount
target that keeps ``.git`` read-only in a writable root); an interrupted command
leaves it behind (0.163.0, 0.171.0), and every later cwd under ``/tmp`` is then
"inside a git repository". The hermetic config sets ``[sandbox_workspace_write]
exclude_slash_tmp = true``. (Measured 2026-12-06: the same run with ``exclude_slash_tmp = false``
leaves ``/tmp/.git`` on 0.163.0 and 0.171.0. That control is not part of the suite: for the
seconds it exists, ``/tmp/.git`` would break other workers' tests whose cwd is under ``/tmp``.) ``/tmp/codex-daemon-<uid>`` is another matter: the
binary creates it whatever the config or environment says (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer, create_final_assistant_message_sse_response
from codex_fixtures.mock.tool_calls import ev_exec_command_call, tool_call_sse_response

SLASH_TMP_GIT = Path("/tmp/.git")
pytestmark = pytest.mark.codex_binary


@contextlib.contextmanager
def _slash_tmp_git_watch():
    """Skip when ``/tmp/.git`` already exists; afterwards remove an empty one this test made (never leave it)."""
    if os.path.lexists(SLASH_TMP_GIT):
        pytest.skip("/tmp/.git exists already (left by an earlier codex run?): cannot tell whether this run makes one")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if SLASH_TMP_GIT.is_dir() and not SLASH_TMP_GIT.is_symlink():
                SLASH_TMP_GIT.rmdir()  # only an empty dir: what the binary makes
            elif SLASH_TMP_GIT.is_file() and SLASH_TMP_GIT.stat().st_size == 0:
                SLASH_TMP_GIT.unlink()


def _interrupted_sleep_leaves(codex_bin: Path | None, **config: object) -> bool:
    """Run ``echo started; sleep 30`` via ``exec_command`` under workspace-write, interrupt it once it runs;
    whether ``/tmp/.git`` exists afterwards."""
    call = ev_exec_command_call("call-sleep", "echo started; sleep 30", yield_time_ms=60_000)
    bodies = [tool_call_sse_response(call), create_final_assistant_message_sse_response("done")]
    with MockResponsesServer().start() as mock, CodexHome(mock, sandbox_mode="workspace-write", **config) as home:
        for body in bodies:
            mock.enqueue(body)
        with AppServerProcess(home.path, codex_bin=codex_bin) as app:
            app.initialize(timeout=30)
            thread = app.start_thread(timeout=30)
            turn = app.request("turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "sleep"}]}, 30)["turn"]
            # the command runs (in its sandbox, with its mount targets) once its output streams
            app.read_stream_until_notification_message(
                "item/commandExecution/outputDelta", 30, predicate=lambda n: "started" in str((n.params or {}).get("delta", "")),
            )
            done = app.interrupt_turn_and_wait_for_aborted(thread["id"], turn["id"], timeout=30)
            assert done.params["turn"]["status"] == "interrupted", done.params
    return os.path.lexists(SLASH_TMP_GIT)


def test_an_interrupted_workspace_write_command_leaves_no_slash_tmp_git(real_codex):
    with _slash_tmp_git_watch():
        assert not _interrupted_sleep_leaves(real_codex), "the hermetic config let the binary leave /tmp/.git"



def test_the_suites_sweep_removes_only_what_it_made_and_only_while_empty(tmp_path):
    from conftest import MadeBySession, slash_tmp_made_by_codex

    assert slash_tmp_made_by_codex() == [Path(f"/tmp/codex-daemon-{os.geteuid()}"), Path("/tmp/.git")]
    before, made, busy, link = (tmp_path / n for n in ("before", "made", "busy", "link"))
    before.mkdir()
    guard = MadeBySession([before, made, busy, link])
    made.mkdir()
    busy.mkdir()
    (busy / "socket").write_text("")  # a daemon's socket: in use
    link.symlink_to(before)
    assert guard.sweep() == [made]
    assert before.is_dir() and not made.exists() and (busy / "socket").exists() and link.is_symlink()
