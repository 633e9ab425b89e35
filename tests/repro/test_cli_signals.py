"""Ctrl-C and SIGTERM stop ``codex-repro`` (run, bisect, history, diff; and ``%codex repro``): queue cancelled, app-servers closed, temp dirs gone.

Each test runs a small driver script in a subprocess (real signals need a
process of their own) with slow scenarios registered on top of the catalog:
each starts a real app-server, says so on stderr with the app-server's pid,
then waits (60 s) for a notification that never comes (the catalog's own
scenarios are unregistered: ``diff`` would run them all before the slow ones). The test waits for the
running ones to report, sends the signal and bounds every wait.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.codex_binary, pytest.mark.timeout(90)]

SLOW = textwrap.dedent('''
    import sys
    from codex_fixtures.repro import scenarios
    from codex_fixtures.repro.console import say

    def slow(ctx):  # runs in two scenario threads at once: one write per line (print writes the newline apart)
        ctx.start_thread()
        say(f"SLOW-STARTED {ctx.app.pid}", sys.stderr)
        ctx.app.read_stream_until_notification_message("never/sent", timeout=60)
        raise AssertionError("unreachable: the wait above only ends by cancellation")

    NAMES = [f"slow-{i}" for i in range(6)]
    scenarios.SCENARIOS.clear()  # only the slow ones: `diff` runs every registered scenario, and the catalog's are not what is tested
    for name in NAMES:
        scenarios.scenario(name, "waits until cancelled")(slow)
''')

CLI = SLOW + textwrap.dedent('''
    from codex_fixtures.repro.cli import main
    sys.exit(main(["run", *NAMES, "--jobs", "2", "--quiet"]))
''')

KERNEL = SLOW + textwrap.dedent('''
    from IPython.core.error import UsageError
    from IPython.core.history import HistoryManager
    from IPython.core.interactiveshell import InteractiveShell

    HistoryManager.enabled = False
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "codex_magics")
    try:
        ip.run_line_magic("codex", "repro " + " ".join(NAMES))
    except UsageError as exc:
        say(f"USAGE-ERROR {exc}", sys.stderr)
    ok = ip.run_cell("%codex --help")  # the shell (and the extension) still work
    say(f"SHELL-OK {ok.success}", sys.stderr)
    sys.exit(7)
''')


class Child:
    """A subprocess whose stderr lines arrive on a queue (so every wait has a timeout)."""

    def __init__(self, script: Path, tmpdir: Path) -> None:
        env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout}s; stderr so far: {self.seen[-20:]}") from None
            if line is None:
                raise AssertionError(f"child exited before {prefix!r}; stderr: {self.seen[-20:]}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def rest(self) -> list[str]:
        out = []
        while (line := self.lines.get(timeout=10)) is not None:
            out.append(line)
        self.seen.extend(out)
        return out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run_and_signal(tmp_path: Path, script_text: str, sig: int, running: int) -> tuple[Child, float, list[int], list[str]]:
    script = tmp_path / "driver.py"
    script.write_text(script_text)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    child = Child(script, tmpdir)
    try:
        pids = [int(child.wait_line("SLOW-STARTED", 60).split()[1]) for _ in range(running)]
        sent = time.monotonic()
        child.proc.send_signal(sig)
        child.proc.wait(timeout=15)  # the promise is 2 s; measured 0.2-0.6 s quiet, over 5 s under load 8-11 on 2 cores
        elapsed = time.monotonic() - sent
        rest = child.rest()
    finally:
        child.kill()
    return child, elapsed, pids, rest


def assert_nothing_left(tmp_path: Path, pids: list[int], rest: list[str]) -> None:
    assert not [line for line in rest if line.startswith("SLOW-STARTED")], f"a queued scenario started: {rest}"
    assert not [p for p in pids if alive(p)], "an app-server survived the interrupt"
    left = sorted(os.listdir(tmp_path / "tmp"))
    assert left == [], f"temp dirs left behind: {left}"
    assert not [line for line in rest if "Traceback" in line], rest


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
                         ids=["SIGINT", "SIGTERM"])
def test_one_signal_stops_codex_repro_cleanly(tmp_path, sig, code, word):
    child, elapsed, pids, rest = run_and_signal(tmp_path, CLI, sig, running=2)
    print(f"{signal.Signals(sig).name}: exit {child.proc.returncode} {elapsed:.2f} s after the signal")
    assert child.proc.returncode == code, child.seen[-20:]
    assert [line for line in rest if line.startswith(f"codex-repro: {word}")], rest
    assert_nothing_left(tmp_path, pids, rest)


def test_ctrl_c_stops_percent_codex_repro_and_the_shell_lives_on(tmp_path):
    pytest.importorskip("IPython")
    child, elapsed, pids, rest = run_and_signal(tmp_path, KERNEL, signal.SIGINT, running=4)  # 4 jobs by default
    print(f"%codex repro: {elapsed:.2f} s after the signal")
    assert child.proc.returncode == 7, child.seen[-20:]
    assert "USAGE-ERROR repro interrupted: queued scenarios cancelled, running ones closed" in rest, rest
    assert "SHELL-OK True" in rest, rest
    assert_nothing_left(tmp_path, pids, rest)


RELEASE_COMMANDS = {  # each reaches its scenarios (the slow ones) after its own probes; running = how many start at once
    "bisect": (["bisect", "slow-0", "--good", "1.5.0", "--bad", "1.8.0"], 1),
    "history": (["history", "slow-0", "slow-1", "slow-2", "--from", "1.5.0", "--to", "1.7.0", "--jobs", "2"], 2),
    "diff": (["diff", "1.5.0", "1.6.0", "--jobs", "2"], 2),
}


@pytest.mark.parametrize(("command", "sig", "code", "word"), [
    ("bisect", signal.SIGINT, 130, "interrupted"), ("history", signal.SIGINT, 130, "interrupted"),
    ("diff", signal.SIGINT, 130, "interrupted"), ("history", signal.SIGTERM, 143, "terminated"),
], ids=["bisect-SIGINT", "history-SIGINT", "diff-SIGINT", "history-SIGTERM"])
def test_one_signal_stops_the_release_commands_cleanly(tmp_path, fake_releases, command, sig, code, word):
    argv, running = RELEASE_COMMANDS[command]
    script = SLOW + textwrap.dedent(f'''
        from codex_fixtures.repro.cli import main
        sys.exit(main({[*argv, "--releases", str(fake_releases), "--quiet"]!r}))
    ''')
    child, elapsed, pids, rest = run_and_signal(tmp_path, script, sig, running=running)
    print(f"{command} {signal.Signals(sig).name}: exit {child.proc.returncode} {elapsed:.2f} s after the signal")
    assert child.proc.returncode == code, child.seen[-20:]
    assert [line for line in rest if line.startswith(f"codex-repro: {word}")], rest
    assert_nothing_left(tmp_path, pids, rest)
