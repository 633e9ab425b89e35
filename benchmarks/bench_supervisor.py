"""What the supervisor in front of every app-server costs (issue 25: no process outlives its owner; issue 26: speed).

spawn + ``initialize`` + close of the real binary by a bare stdlib client, three ways
interleaved on one warm CODEX_HOME:

* direct: the client spawns codex itself (the baseline);
* fork server: codex spawned through :func:`~codex_fixtures.appserver.served.spawn_served`
  (the supervisor is forked by this process's fork server: what ``AppServerProcess`` does; goal <= 1.05);
* per-spawn supervisor: the argv run under :func:`~codex_fixtures.appserver.supervisor.supervised_argv`
  (one interpreter start per spawn: main before the fork server, and the fallback; goal <= 1.15).

A fourth row compares ``AppServerProcess`` spawn + initialize + close with the fork
server against the same with ``CODEX_THREADKIT_FORKSERVER=0`` (what the fork server saves).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable

from codex_fixtures import AppServerProcess, CodexHome, resolve_codex_bin
from codex_fixtures.appserver.served import FORKSERVER_ENV, spawn_served
from codex_fixtures.appserver.supervisor import supervised_argv

from benchmarks._common import BenchResult, LineClient, interleaved

REPEAT = int(os.environ.get("BENCH_SUPERVISOR_REPEAT", "15"))
_INIT = {"clientInfo": {"name": "bench", "title": None, "version": "0"}, "capabilities": {"experimentalApi": True}}


class _ServedClient(LineClient):
    """The bare client, with codex spawned through the fork server."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:  # noqa: D107 - as the base class
        self.proc, _ = spawn_served(argv, cwd=cwd, env=env, live_dir=None, timeout=30)
        self.next_id = 0

    def close(self) -> None:
        """Close stdin, wait, close the pipes."""
        super().close()
        self.proc.stderr.close()


def _init(make: Callable[..., LineClient], argv: list[str], home: str, cwd: str) -> None:
    client = make(argv, dict(os.environ, CODEX_HOME=home, RUST_LOG="warn"), cwd)
    client.request("initialize", _INIT)
    client.notify("initialized")
    client.close()


def _interleaved3(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median wall times of ``fns``, run in a rotating order each round to share noise."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(repeat):
        for k in range(len(fns)):
            j = (i + k) % len(fns)
            t0 = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _app(codex_bin: str, home: str, served: bool) -> None:
    old = os.environ.pop(FORKSERVER_ENV, None)
    if not served:
        os.environ[FORKSERVER_ENV] = "0"
    try:
        with AppServerProcess(home, codex_bin=codex_bin) as app:
            app.initialize()
    finally:
        os.environ.pop(FORKSERVER_ENV, None)
        if old is not None:
            os.environ[FORKSERVER_ENV] = old


def bench() -> list[BenchResult]:
    codex_bin = str(resolve_codex_bin())
    bare = [codex_bin, "app-server"]
    per_spawn = supervised_argv(bare, owner_pid=os.getpid())
    with CodexHome("http://127.0.0.1:9") as home:
        cwd = tempfile.mkdtemp(prefix="bench-cwd-")
        h = str(home.path)
        try:
            _init(LineClient, bare, h, cwd)  # warm the home
            _init(_ServedClient, bare, h, cwd)  # and start the fork server
            served, direct, old = _interleaved3([lambda: _init(_ServedClient, bare, h, cwd), lambda: _init(LineClient, bare, h, cwd),
                                                 lambda: _init(LineClient, per_spawn, h, cwd)], REPEAT)
            app_served, app_old = interleaved(lambda: _app(codex_bin, h, True), lambda: _app(codex_bin, h, False), REPEAT)
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
    ms = 1000.0
    note = f"median of {REPEAT}, interleaved, same warm CODEX_HOME"
    return [
        BenchResult("spawn+initialize+close: fork-server supervised vs direct", served * ms, direct * ms, "ms", 1.05,
                    note=note + "; the supervisor is forked by the running fork server"),
        BenchResult("spawn+initialize+close: per-spawn supervisor interpreter vs direct", old * ms, direct * ms, "ms", 1.15,
                    note=note + "; main before the fork server, and the fallback"),
        BenchResult("AppServerProcess spawn+initialize+close: fork server vs per-spawn supervisor", app_served * ms, app_old * ms,
                    "ms", 1.0, note=note + f"; {FORKSERVER_ENV}=0 for the baseline"),
    ]


if __name__ == "__main__":
    for r in bench():
        print(r.line())
