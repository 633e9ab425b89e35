"""The supervisor in front of every app-server: exit status mirrored, its tree killed, tied to its owner.

No codex here: the supervised command is ``/bin/sh``; a grandchild that leaves
the session (``setsid``) stands in for the binary's ``bwrap --new-session``
helpers. Each test fails on main (there was no supervisor: the grandchild ran on).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from codex_fixtures.appserver.supervisor import process_start_time, supervised_argv


def gone_within(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_start_time(pid) is not None:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] if os.path.exists(f"/proc/{pid}") else "X"
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def read_pid(path: Path, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().endswith("\n"):
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.02)
    return int(path.read_text())


ESCAPE = 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "$1.tmp" && mv "$1.tmp" "$1"; '


@pytest.mark.parametrize(("script", "code"), [("exit 3", 3), ("kill -TERM $$", -signal.SIGTERM)])
def test_the_exit_status_is_codexs_and_an_escaped_grandchild_goes_with_it(tmp_path, script, code):
    pid_file = tmp_path / "grandchild"
    argv = supervised_argv(["/bin/sh", "-c", ESCAPE + script, "sh", str(pid_file)], owner_pid=os.getpid())
    done = subprocess.run(argv, timeout=60, capture_output=True)
    grandchild = read_pid(pid_file)
    try:
        assert done.returncode == code, done.stderr
        assert gone_within(grandchild, 0.5), "the escaped grandchild outlived its supervised command"
    finally:
        if process_start_time(grandchild) is not None:
            os.kill(grandchild, signal.SIGKILL)


def test_sigterm_ends_the_command_then_the_tree(tmp_path):
    pid_file = tmp_path / "grandchild"
    # the trap before the pid file: a SIGTERM sent once the file exists must find it ignored (else sh dies of it: -15)
    argv = supervised_argv(["/bin/sh", "-c", "trap '' TERM; " + ESCAPE + "while :; do sleep 1; done", "sh", str(pid_file)],
                           owner_pid=os.getpid())
    proc = subprocess.Popen(argv)
    grandchild = read_pid(pid_file)
    try:
        proc.send_signal(signal.SIGTERM)  # the command ignores it: after the grace the tree is killed
        assert proc.wait(15) == -signal.SIGKILL
        assert gone_within(grandchild, 0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if process_start_time(grandchild) is not None:
            os.kill(grandchild, signal.SIGKILL)


OWNER = '''
import subprocess, sys
sys.path.insert(0, {fixtures!r})
from codex_fixtures.appserver.supervisor import supervised_argv
import os
proc = subprocess.Popen(supervised_argv(["/bin/sh", "-c", {script!r}, "sh", {pid_file!r}], owner_pid=os.getpid()))
open({sup_file!r} + ".tmp", "w").write(f"{{proc.pid}}\\n"); os.replace({sup_file!r} + ".tmp", {sup_file!r})
proc.wait()
'''


def test_the_tree_ends_when_its_owner_is_sigkilled(tmp_path):
    pid_file, sup_file = tmp_path / "grandchild", tmp_path / "supervisor"
    fixtures = str(Path(__import__("codex_fixtures").__file__).parent.parent)
    code = OWNER.format(fixtures=fixtures, script=ESCAPE + "sleep 300", pid_file=str(pid_file), sup_file=str(sup_file))
    owner = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    grandchild = supervisor = None
    try:
        supervisor, grandchild = read_pid(sup_file), read_pid(pid_file)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        assert gone_within(grandchild, 5.0), "the grandchild outlived its SIGKILLed owner"
        assert gone_within(supervisor, 5.0)
    finally:
        for pid in (grandchild, supervisor):
            if pid is not None and process_start_time(pid) is not None:
                os.kill(pid, signal.SIGKILL)
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
