"""Lines printed from threads never interleave: one ``write`` per line, under one lock (issue 18, 10)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading

from codex_fixtures.repro.console import say


class Recording(io.StringIO):
    """A stream that records each ``write`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, s: str) -> int:
        self.calls.append(s)
        return super().write(s)


def test_say_writes_the_text_and_its_newline_in_one_call():
    out = Recording()
    say("SLOW-STARTED 16273", out)
    assert out.calls == ["SLOW-STARTED 16273\n"]
    # what print did (and why lines interleaved): the text and the newline are two writes
    old = Recording()
    print("SLOW-STARTED 16273", file=old, flush=True)
    assert old.calls == ["SLOW-STARTED 16273", "\n"]


def test_lines_from_many_threads_stay_whole_through_a_pipe():
    """16 threads x 300 lines to a child's stderr pipe (unbuffered, as the signal tests run it): every line whole."""
    script = textwrap.dedent('''
        import sys, threading
        from codex_fixtures.repro.console import say
        go = threading.Barrier(16)
        def worker(n):
            go.wait()
            for i in range(300):
                say(f"LINE {n} {i}", sys.stderr)
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for t in threads: t.start()
        for t in threads: t.join()
    ''')
    proc = subprocess.run([sys.executable, "-u", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 16 * 300
    bad = [ln for ln in lines if len(ln.split()) != 3 or ln.split()[0] != "LINE"]
    assert bad == [], bad[:5]


def test_say_defaults_to_stderr(capsys):
    threads = [threading.Thread(target=say, args=(f"line {n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(capsys.readouterr().err.splitlines()) == [f"line {n}" for n in range(4)]
