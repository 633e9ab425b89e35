"""Shared helpers for the ratio benchmarks.

Every ``benchmarks/bench_*.py`` module exposes ``bench() -> list[BenchResult]``.
Both sides of a ratio are measured in the same run, interleaved, and the
median of repeated runs is reported. Nothing here asserts on time: goals are
reported as met or not, never enforced in ``make test``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BenchResult", "interleaved", "median_time"]


@dataclass(frozen=True)
class BenchResult:
    """One measured ratio: ``ours / baseline`` (lower is better unless ``higher_is_better``)."""

    name: str
    ours: float
    baseline: float
    unit: str
    goal: float
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float:
        """``ours / baseline``."""
        return self.ours / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        """Whether the goal is met."""
        return self.ratio >= self.goal if self.higher_is_better else self.ratio <= self.goal

    def line(self) -> str:
        """One table row for RESULTS.md and the terminal."""
        op = ">=" if self.higher_is_better else "<="
        verdict = "met" if self.met else "NOT met"
        return (f"| {self.name} | {self.ours:.4g} {self.unit} | {self.baseline:.4g} {self.unit} | "
                f"{self.ratio:.3f} | {op} {self.goal:g} | {verdict} | {self.note} |")


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(ours: Callable[[], object], baseline: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall times of ``ours`` and ``baseline``, measured alternately (ABAB...) to share noise."""
    a, b = [], []
    for i in range(repeat):
        order = ((ours, a), (baseline, b)) if i % 2 == 0 else ((baseline, b), (ours, a))
        for fn, sink in order:
            t0 = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


class LineClient:
    """A bare stdlib client library, the baseline of the driver and launch benchmarks: spawn, one line per message."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        """Start ``argv`` with pipes (stderr dropped)."""
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, cwd=cwd)
        self.next_id = 0

    def call(self, method: str, params: dict) -> dict:
        """Send a request; the whole reply message (result or error)."""
        rid, self.next_id = self.next_id, self.next_id + 1
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"id": rid, "method": method, "params": params}).encode() + b"\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            msg = json.loads(line)
            if msg.get("id") == rid and "method" not in msg:
                return msg
        raise RuntimeError("app-server exited")

    def until(self, method: str) -> dict:
        """Read messages until the notification ``method``; that notification."""
        assert self.proc.stdout
        for line in self.proc.stdout:
            msg = json.loads(line)
            if msg.get("method") == method and "id" not in msg:
                return msg
        raise RuntimeError("app-server exited")

    def request(self, method: str, params: dict) -> dict:
        """Send a request; its result (an error reply raises)."""
        msg = self.call(method, params)
        if "error" in msg:
            raise RuntimeError(msg["error"])
        return msg["result"]

    def notify(self, method: str) -> None:
        """Send a notification."""
        assert self.proc.stdin
        self.proc.stdin.write(json.dumps({"method": method}).encode() + b"\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """Close stdin and wait for the process (10 s)."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.close()
        self.proc.wait(10)
        self.proc.stdout.close()
