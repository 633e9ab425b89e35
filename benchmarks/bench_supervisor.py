"""What the supervisor in front of every app-server costs (issue 25: no process outlives its owner).

spawn + ``initialize`` + close of the real binary by a bare stdlib client, with
the argv run under :func:`~codex_fixtures.appserver.supervisor.supervised_argv`
(a Python subreaper tied to this process) vs the same client spawning codex
directly, interleaved on one warm CODEX_HOME (goal <= 1.15: one interpreter start).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from codex_fixtures import CodexHome, resolve_codex_bin
from codex_fixtures.appserver.supervisor import supervised_argv

from benchmarks._common import BenchResult, LineClient, interleaved

REPEAT = int(os.environ.get("BENCH_SUPERVISOR_REPEAT", "15"))
_INIT = {"clientInfo": {"name": "bench", "title": None, "version": "0"}, "capabilities": {"experimentalApi": True}}


def _init(argv: list[str], home: str, cwd: str) -> None:
    client = LineClient(argv, dict(os.environ, CODEX_HOME=home, RUST_LOG="warn"), cwd)
    client.request("initialize", _INIT)
    client.notify("initialized")
    client.close()


def bench() -> list[BenchResult]:
    codex_bin = str(resolve_codex_bin())
    bare = [codex_bin, "app-server"]
    supervised = supervised_argv(bare, owner_pid=os.getpid())
    with CodexHome("http://127.0.0.1:9") as home:
        cwd = tempfile.mkdtemp(prefix="bench-cwd-")
        try:
            _init(bare, str(home.path), cwd)  # warm the home
            ours, base = interleaved(lambda: _init(supervised, str(home.path), cwd), lambda: _init(bare, str(home.path), cwd),
                                     REPEAT)
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
    ms = 1000.0
    return [BenchResult("spawn+initialize+close: supervised vs direct", ours * ms, base * ms, "ms", 1.15,
                        note=f"median of {REPEAT}, interleaved, same warm CODEX_HOME; the difference is the supervisor's start")]
