"""What the upstream-parity checks cost a test, as ratios on the real binary.

P1. a fixture-like test through :class:`AppServerFactory` (config.toml checked by the binary, cached per
    config; mock, home, spawn, initialize, ``thread/start``, one turn, 5 ``thread/read``) with
    ``check_params=True`` vs the same with ``check_params=False`` (goal <= 1.05). The binary's schema is
    generated once per process (a warm-up run pays it; its time is printed in the note).
"""

from __future__ import annotations

import os
import time

from codex_fixtures import AppServerFactory, CodexHome, MockResponsesServer, codex_binary_info
from codex_fixtures.appserver.api_schema import catalog_for

from benchmarks._common import BenchResult, interleaved

REPEAT = int(os.environ.get("BENCH_PARITY_REPEAT", "21"))


def _test(check_params: bool) -> None:
    with MockResponsesServer() as server, CodexHome(server) as home:
        with AppServerFactory(home.path, check_params=check_params) as start:
            app = start()
            thread = app.start_thread({"model": "mock-model"})
            app.run_turn(thread["id"], "hi")
            for _ in range(5):
                app.request("thread/read", {"threadId": thread["id"], "includeTurns": True})


def bench() -> list[BenchResult]:
    """P1."""
    t0 = time.perf_counter()
    catalog_for(codex_binary_info(), experimental=True)
    schema_s = time.perf_counter() - t0
    _test(True)  # warm-up: the config check's cache, the template home
    ours, base = interleaved(lambda: _test(True), lambda: _test(False), REPEAT)
    ms = 1000.0
    return [BenchResult("P1 fixture-like test with params checked vs unchecked", ours * ms, base * ms, "ms", 1.05,
                        note=f"schema generated once per process: {schema_s * ms:.0f} ms")]
