"""Homes the binary wrote (issue 17): build cost and cached-copy cost, as ratios to a direct drive of the same threads.

For each spec, three sides measured in this run, rotated (ABC BCA CAB ...):

* **direct**: what a test does without the builder: a fresh mock, a fresh
  ``CodexHome``, one app-server driven through the same threads
  (:func:`codex_fixtures.homebuild.drive.drive_spec`: start / fork, turns, name, archive), closed;
* **build**: ``build_home(spec)`` on an empty cache (drive + time rewrite + checkpoint + store + copy);
* **copy**: ``build_home(spec)`` when the cache holds the key (copy + path rebase + config).

Ratios: H1 build / direct (the price of a build, goal <= 1.5), H2 copy / build (the issue's
goal: a second build is at most 0.3x the first), H3 copy / direct (goal <= 0.3).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from codex_fixtures import CodexHome, HomeSpec, MockResponsesServer, SpecTurn, build_home, resolve_codex_bin
from codex_fixtures.homebuild.cache import HomeCache
from codex_fixtures.homebuild.drive import drive_spec

from benchmarks._common import BenchResult

REPEAT = int(os.environ.get("BENCH_HOMES_REPEAT", "5"))
UTC = UTC


def _specs() -> dict[str, HomeSpec]:
    one = HomeSpec()
    one.thread(turns=[("hi", "hello")])
    mixed = HomeSpec()
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    usage = {"input_tokens": 1200, "cached_input_tokens": 800, "output_tokens": 40}
    notes = mixed.thread(turns=[SpecTurn("hi", "hello", usage=usage), ("more", "sure")], name="notes", started_at=t0)
    mixed.thread(turns=[SpecTurn("run it", "ran", commands=[("echo tool", "to show it")], usage=usage)],
                 approval_policy="on-request", sandbox="read-only")
    mixed.fork(notes, turns=[("in fork", "forked")])
    mixed.thread(turns=[("old one", "old")], archived=t0 + timedelta(days=1))
    return {"1 thread, 1 turn": one, "4 threads (named, tool call + justification, usage, fork, archived at; times)": mixed}


def _direct(spec: HomeSpec, codex_bin: str, scratch: Path) -> Callable[[], object]:
    def run() -> None:
        home_dir = Path(tempfile.mkdtemp(dir=scratch))
        with MockResponsesServer() as server, CodexHome(server, path=home_dir, fresh=True):
            drive_spec(spec, home_dir, codex_bin=codex_bin, server=server, default_cwd=str(scratch))
        shutil.rmtree(home_dir, ignore_errors=True)

    return run


def _build(spec: HomeSpec, codex_bin: str, scratch: Path, *, warm: HomeCache | None) -> Callable[[], object]:
    def run() -> None:
        cache = warm or HomeCache(Path(tempfile.mkdtemp(dir=scratch)))
        dest = Path(tempfile.mkdtemp(dir=scratch)) / "home"
        built = build_home(spec, dest, codex_bin=codex_bin, cache=cache)
        assert built.from_cache == (warm is not None)
        shutil.rmtree(dest.parent, ignore_errors=True)
        if warm is None:
            shutil.rmtree(cache.root, ignore_errors=True)

    return run


def _rotate(sides: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    names = list(sides)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(repeat):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - t0)
    return {n: statistics.median(v) for n, v in times.items()}


def bench() -> list[BenchResult]:
    """The three ratios per spec."""
    codex_bin = str(resolve_codex_bin(None))
    results: list[BenchResult] = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-homes-"))
    try:
        for label, spec in _specs().items():
            warm = HomeCache(scratch / f"warm-{len(results)}")
            build_home(spec, scratch / f"prime-{len(results)}", codex_bin=codex_bin, cache=warm)
            t = _rotate({"direct": _direct(spec, codex_bin, scratch), "build": _build(spec, codex_bin, scratch, warm=None),
                         "copy": _build(spec, codex_bin, scratch, warm=warm)}, REPEAT)
            note = f"median of {REPEAT}, rotated; spec: {label}"
            results += [
                BenchResult(f"H1 build_home, cold cache vs direct drive [{label}]", t["build"] * 1000, t["direct"] * 1000, "ms", 1.5,
                            note=note),
                BenchResult(f"H2 build_home, cached copy vs cold build [{label}]", t["copy"] * 1000, t["build"] * 1000, "ms", 0.3,
                            note=note),
                BenchResult(f"H3 build_home, cached copy vs direct drive [{label}]", t["copy"] * 1000, t["direct"] * 1000, "ms", 0.3,
                            note=note),
            ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results
