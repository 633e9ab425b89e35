"""The relay behind ``CodexLaunch.executable`` vs a direct spawn of the same binary, side by side.

1. JSON-RPC round trips on a running app-server: ``ROUND_TRIPS`` requests, each
   sent after the previous answer arrived, by a bare stdlib client on a codex it
   spawned directly vs the same client on ``launch.executable`` (the relay pumps
   both directions and records the transcript). Two requests: an unknown method
   (the binary answers at once: the transport alone) and ``thread/list`` (a real
   request) (goal <= 1.10 each);
2. spawn + ``initialize`` + close: the relay's start-up (a Python ``-I -S``
   interpreter) on top of codex's own (goal <= 1.15);
3. whole turns (``turn/start`` to ``turn/completed``, the model a loopback mock): what
   a client library waits for in practice, with every notification of the turn
   passing through the relay (goal <= 1.10).
"""

from __future__ import annotations

import os
import time

from codex_fixtures import CodexHome, CodexLaunch
from codex_fixtures.mock.loopback import create_mock_responses_server_repeating_assistant

from benchmarks._common import BenchResult, LineClient, interleaved

ROUND_TRIPS = int(os.environ.get("BENCH_LAUNCH_ROUND_TRIPS", "300"))
REPEAT = int(os.environ.get("BENCH_LAUNCH_REPEAT", "9"))
TURNS = int(os.environ.get("BENCH_LAUNCH_TURNS", "10"))
_INIT = {"clientInfo": {"name": "bench", "version": "0"}}


def _round_trips(client: LineClient, method: str) -> None:
    for _ in range(ROUND_TRIPS):
        client.call(method, {})


def _init_close(argv: list[str], env: dict[str, str], cwd: str) -> None:
    client = LineClient(argv, env, cwd)
    client.call("initialize", _INIT)
    client.close()


def _turns(client: LineClient, thread_id: str) -> None:
    for _ in range(TURNS):
        client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi", "text_elements": []}]})
        client.until("turn/completed")


def _bench_turns() -> BenchResult:
    with create_mock_responses_server_repeating_assistant("hello") as server, CodexHome(server) as home, \
            CodexLaunch(home) as launch:
        direct = LineClient([str(launch.codex_bin), "app-server"], launch.env, str(launch.cwd))
        relayed = LineClient([str(launch.executable), "app-server"], dict(os.environ), str(launch.cwd))
        try:
            threads = {}
            for client in (direct, relayed):
                client.call("initialize", _INIT)
                threads[id(client)] = client.request("thread/start", {})["thread"]["id"]
            ours, base = interleaved(lambda: _turns(relayed, threads[id(relayed)]),
                                     lambda: _turns(direct, threads[id(direct)]), REPEAT)
        finally:
            direct.close()
            relayed.close()
    return BenchResult(f"launch relay: {TURNS} whole turns (turn/start to turn/completed)", ours * 1e3 / TURNS,
                       base * 1e3 / TURNS, "ms/turn", 1.10, note="launch.executable vs codex spawned directly, same client")


def bench() -> list[BenchResult]:
    """Round-trip latency and spawn cost through the relay, each against a direct spawn."""
    results = []
    with CodexHome(None) as home, CodexLaunch(home) as launch:
        direct_argv = [str(launch.codex_bin), "app-server"]
        relay_argv = [str(launch.executable), "app-server"]
        _init_close(direct_argv, launch.env, str(launch.cwd))  # warm the home: both sides see a used one
        direct = LineClient(direct_argv, launch.env, str(launch.cwd))
        relayed = LineClient(relay_argv, dict(os.environ), str(launch.cwd))
        try:
            for client in (direct, relayed):
                client.call("initialize", _INIT)
            for method, label in (("bench/noSuchMethod", "unknown method (transport only)"), ("thread/list", "thread/list")):
                ours, base = interleaved(lambda m=method: _round_trips(relayed, m), lambda m=method: _round_trips(direct, m), REPEAT)
                results.append(BenchResult(
                    f"launch relay: {ROUND_TRIPS} round trips, {label}", ours * 1e6 / ROUND_TRIPS, base * 1e6 / ROUND_TRIPS,
                    "us/request", 1.10, note="launch.executable vs codex spawned directly, same client",
                ))
        finally:
            direct.close()
            relayed.close()
        t0 = time.perf_counter()
        ours, base = interleaved(lambda: _init_close(relay_argv, dict(os.environ), str(launch.cwd)),
                                 lambda: _init_close(direct_argv, launch.env, str(launch.cwd)), REPEAT)
        results.append(BenchResult(
            "launch relay: spawn + initialize + close", ours * 1e3, base * 1e3, "ms", 1.15,
            note=f"relay start-up on top of codex's ({time.perf_counter() - t0:.1f} s measured)",
        ))
    results.append(_bench_turns())
    return results
