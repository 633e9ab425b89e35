"""The mock's model transports, measured with the real binary in one run.

D1. A turn over the Responses WebSocket (``transport="websocket"``) vs the same turn
    over HTTP (``transport="http"``): one app-server each, one thread each, turns
    interleaved. Goal: the WebSocket turn within 1.2x of the HTTP one.
D2. The first turn of a provider that offers WebSocket (``supports_websockets = true``)
    on a mock that serves HTTP only (the probe declined with 426, the binary falls back
    at once) vs a provider that offers none. Goal: within 1.5x (the old 404 answer cost
    ~6 s of the binary's retries).
"""

from __future__ import annotations

import os

from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer, ResponsesScript, resolve_codex_bin

from benchmarks._common import BenchResult, interleaved, median_time

TURNS = int(os.environ.get("BENCH_DIALECT_TURNS", "10"))
FIRST_TURNS = int(os.environ.get("BENCH_DIALECT_FIRST_TURNS", "3"))


def _input(text: str) -> list[dict]:
    return [{"type": "text", "text": text, "text_elements": []}]


class _Turns:
    """An app-server on its own mock and home, with one thread to run turns on."""

    def __init__(self, codex_bin: str, transport: str) -> None:
        self.server = MockResponsesServer(ResponsesScript(repeat="Done"), transport=transport).start()
        self.home = CodexHome(self.server, fresh=True, transport=transport)
        self.app = AppServerProcess(self.home.path, codex_bin=codex_bin)
        self.app.initialize()
        self.thread = self.app.start_thread({"model": "mock-model"})["id"]

    def turn(self) -> None:
        self.app.start_turn_and_wait_for_completion({"threadId": self.thread, "input": _input("hello")}, timeout=60)

    def close(self) -> None:
        self.app.close()
        self.home.cleanup()
        self.server.close()


def _first_turn(codex_bin: str, offers_websocket: bool) -> None:
    with MockResponsesServer(ResponsesScript(repeat="Done")) as server:  # serves HTTP: declines the probe
        home = CodexHome(server, fresh=True, transport="websocket" if offers_websocket else "http")
        try:
            with AppServerProcess(home.path, codex_bin=codex_bin) as app:
                app.initialize()
                thread = app.start_thread({"model": "mock-model"})["id"]
                app.start_turn_and_wait_for_completion({"threadId": thread, "input": _input("hello")}, timeout=60)
        finally:
            home.cleanup()
        if server.problems:
            raise RuntimeError(f"mock problems: {server.problems}")


def bench() -> list[BenchResult]:
    """D1 and D2 (see the module docs)."""
    codex_bin = str(resolve_codex_bin())
    ws, http = _Turns(codex_bin, "websocket"), _Turns(codex_bin, "http")
    try:
        ws.turn()  # warm-up: the connection, the first request's full input
        http.turn()
        ours, baseline = interleaved(ws.turn, http.turn, TURNS)
        if {r.transport for r in ws.server.requests} != {"websocket"} or {r.transport for r in http.server.requests} != {"http"}:
            raise RuntimeError("a turn went over the other transport")
    finally:
        ws.close()
        http.close()
    declined = median_time(lambda: _first_turn(codex_bin, True), FIRST_TURNS)
    plain = median_time(lambda: _first_turn(codex_bin, False), FIRST_TURNS)
    return [
        BenchResult(
            "D1 turn over WebSocket vs HTTP",
            ours * 1000,
            baseline * 1000,
            "ms",
            1.2,
            note=f"median of {TURNS} interleaved turns on one thread each",
        ),
        BenchResult(
            "D2 first turn, WebSocket probe declined (426) vs no probe",
            declined * 1000,
            plain * 1000,
            "ms",
            1.5,
            note=f"median of {FIRST_TURNS}: start, initialize, thread, turn; main's 404 took ~6 s more",
        ),
    ]
