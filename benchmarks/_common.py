"""Shared helpers for the ratio benchmarks.

Every ``benchmarks/bench_*.py`` module exposes ``bench() -> list[BenchResult]``.
Both sides of a ratio are measured in the same run, interleaved, and the
median of repeated runs is reported. Nothing here asserts on time: goals are
reported as met or not, never enforced in ``make test``.
"""

from __future__ import annotations

import statistics
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
