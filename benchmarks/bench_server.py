"""Mock Responses server throughput and concurrency.

3. 1,000 sequential ``POST /v1/responses`` answered with the same SSE body
   (``create_final_assistant_message_sse_response("Done")``), read in full by
   one ``httpx.Client``: :class:`MockResponsesServer` vs pytest-httpserver
   (werkzeug) serving the same bytes. Goal: at least as fast (ratio <= 1.0).
   Measured in interleaved batches of 100 so both servers share the noise.
3c. 8 concurrent streams of 10 events, 50 ms between events, vs one such
   stream alone. Goal: the 8 finish within 1.5x the time of one.
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
import time

import httpx
from codex_fixtures import (
    MockResponsesServer,
    ResponsesScript,
    create_final_assistant_message_sse_response,
    ev_assistant_message,
    ev_completed,
    ev_response_created,
)

from benchmarks._common import BenchResult, interleaved

TOTAL = int(os.environ.get("BENCH_SERVER_REQUESTS", "1000"))
BATCH = 100
_PAYLOAD = {"model": "mock-model", "input": "hello", "stream": True}


def _batch(client: httpx.Client, url: str, n: int, expect: bytes) -> None:
    for _ in range(n):
        resp = client.post(url, json=_PAYLOAD)
        if resp.status_code != 200 or resp.content != expect:
            raise RuntimeError(f"bad reply {resp.status_code}: {resp.content[:80]!r}")


def _throughput() -> BenchResult:
    from pytest_httpserver import HTTPServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log would slow the baseline down
    body = create_final_assistant_message_sse_response("Done")
    expect = body.encode()
    ours = MockResponsesServer(ResponsesScript(repeat=body)).start()
    theirs = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    theirs.expect_request("/v1/responses", method="POST").respond_with_data(body, content_type="text/event-stream")
    theirs.start()
    try:
        with httpx.Client(timeout=10) as client:
            ours_url, theirs_url = ours.url_v1 + "/responses", theirs.url_for("/v1/responses")
            _batch(client, ours_url, 20, expect)  # warm-up
            _batch(client, theirs_url, 20, expect)
            rounds = max(1, TOTAL // BATCH)
            a, b = interleaved(lambda: _batch(client, ours_url, BATCH, expect),
                               lambda: _batch(client, theirs_url, BATCH, expect), rounds)
        ours.check()
    finally:
        ours.close()
        theirs.clear()
        theirs.stop()
    per = 1000.0 / BATCH  # ms per request
    return BenchResult(f"3 mock server: {rounds * BATCH} sequential SSE replies, ours vs pytest-httpserver",
                       a * per, b * per, "ms/req", 1.0,
                       note=f"median batch of {BATCH} (interleaved x{rounds}); same httpx.Client for both; ours closes each connection")


def _streams(server: MockResponsesServer, n: int) -> float:
    for _ in range(n):
        server.enqueue([ev_response_created("r"), *[ev_assistant_message(f"m{i}", f"text {i}") for i in range(8)], ev_completed("r")],
                       delay_between_events_s=0.05)
    errors: list[BaseException] = []
    clients = [httpx.Client(timeout=10) for _ in range(n)]  # made up front: httpx builds an SSL context per client
    start = threading.Barrier(n + 1)

    def one(client: httpx.Client) -> None:
        try:
            start.wait()
            with client.stream("POST", server.url_v1 + "/responses", json=_PAYLOAD) as resp:
                events = sum(1 for line in resp.iter_lines() if line.startswith("event:"))
                assert events == 10, events
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.close()
    if errors:
        raise errors[0]
    return elapsed


def _concurrency(repeat: int = 5) -> BenchResult:
    with MockResponsesServer() as server:
        eight, one = [], []
        for i in range(repeat):
            pair = ((eight, 8), (one, 1)) if i % 2 == 0 else ((one, 1), (eight, 8))
            for sink, n in pair:
                sink.append(_streams(server, n))
        server.check()
    return BenchResult("3c mock server: 8 concurrent streams (10 events, 50 ms apart) vs 1 stream",
                       statistics.median(eight) * 1000, statistics.median(one) * 1000, "ms", 1.5,
                       note=f"median of {repeat}; 9 gaps x 50 ms = 450 ms floor")


def bench() -> list[BenchResult]:
    return [_throughput(), _concurrency()]


if __name__ == "__main__":
    for r in bench():
        print(r.line())
