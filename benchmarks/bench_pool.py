"""Warm app-servers (issue 26): what a test pays for ``codex_app_server`` with the pool, side by side in one run.

P1. Per-test setup + teardown of ``codex_app_server`` in a real pytest run (``-n 0``, N tests, each
    one thread + one turn, so the next server has a test's length to get ready), taken from pytest's
    own phase durations (median over the tests), pool on, vs a bare stdlib spawn + ``initialize``
    on a fresh hand-written home (goal <= 0.25) and on a copy of a template home (goal <= 0.5; the
    copy is made before the clock starts). The note gives pool off (today's fixture) too.
P1b. The same with tests whose body is empty: nothing hides the next server's start, so the pool
    can only win what setup and teardown of the test before overlap (informational).
P2. 40 real-binary tests (one turn each) at ``-n 2``: pool on vs today's main (the fresh clone at
    ``$BENCH_MAIN_PYTHON``, default ``/work/baseline/.venv/bin/python``, when it exists; else pool
    off in this tree), goal <= 0.6.
F.  The binary's own floor: CPU (``RUSAGE_CHILDREN``) and wall per bare spawn + ``initialize`` on a
    template home vs a fresh one (informational: what no fixture can go under).

Every side runs in this process or its pytest children, interleaved (ABAB), medians reported;
CPU is ``RUSAGE_CHILDREN`` (codex and pytest children) per test / per spawn.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codex_fixtures import resolve_codex_bin

from benchmarks._common import BenchResult
from benchmarks.bench_driver import _bare_config, _bare_init

N_TESTS = int(os.environ.get("BENCH_POOL_TESTS", "20"))
REPEAT = int(os.environ.get("BENCH_POOL_REPEAT", "3"))
BARE_REPEAT = int(os.environ.get("BENCH_POOL_BARE", "10"))
XDIST_TESTS = 40
MAIN_PYTHON = os.environ.get("BENCH_MAIN_PYTHON", "/work/baseline/.venv/bin/python")

_PHASES = """
import json, os
def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        with open(os.environ["BENCH_POOL_PHASES"], "a") as fh:
            fh.write(json.dumps([report.nodeid, report.when, report.duration]) + "\\n")
"""

_TURN_TESTS = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_turn(codex_app_server, n):
    thread = codex_app_server.start_thread()
    assert codex_app_server.run_turn(thread["id"], f"turn {{n}}")["status"] == "completed"
"""

_EMPTY_TESTS = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_empty(codex_app_server, n):
    pass
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pytest(path: Path, *args: str, pool: str, python: str = sys.executable) -> tuple[float, float, list[float]]:
    """One pytest run of ``path``: wall s, children CPU s, per-test setup+teardown s (one per test)."""
    phases = path.parent / f"phases-{time.monotonic_ns()}.jsonl"
    # bytecode caches as on a user's machine (an installed package has them; PYTHONDONTWRITEBYTECODE in the
    # bench's own environment would make every run compile both trees and rewrite every plugin's modules again)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CODEX_POOL=pool, BENCH_POOL_PHASES=str(phases))
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args, path.name],
                          cwd=path.parent, capture_output=True, text=True, timeout=1800, env=env)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"pytest {path.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-1000:]}")
    per_test: dict[str, float] = {}
    if phases.exists():
        for nodeid, _, duration in map(json.loads, phases.read_text().splitlines()):
            per_test[nodeid] = per_test.get(nodeid, 0.0) + duration
        phases.unlink()
    return wall, cpu, list(per_test.values())


def _bare(codex_bin: str, template: Path | None) -> tuple[float, float]:
    """One bare spawn + initialize: wall s and children CPU s (home made or copied before the clock starts)."""
    home, cwd = tempfile.mkdtemp(), tempfile.mkdtemp()
    try:
        if template is None:
            _bare_config(home, 9)
        else:
            shutil.copytree(template, home, dirs_exist_ok=True)
        cpu0, t0 = _children_cpu(), time.perf_counter()
        _bare_init(codex_bin, home, cwd)
        return time.perf_counter() - t0, _children_cpu() - cpu0
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)


def _make_template(codex_bin: str, root: Path) -> Path:
    """A home one bare app-server initialized and left (its arg0 helper dir removed): a template home."""
    home = root / "template-home"
    home.mkdir()
    _bare_config(str(home), 9)
    cwd = tempfile.mkdtemp()
    try:
        _bare_init(codex_bin, str(home), cwd)
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    shutil.rmtree(home / "tmp", ignore_errors=True)
    for wal in list(home.glob("*-wal")) + list(home.glob("*-shm")):
        wal.unlink()
    return home


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p1(codex_bin: str, root: Path, template: Path, body: str, label: str) -> tuple[list[BenchResult], dict[str, float]]:
    path = root / f"test_pool_{label}.py"
    path.write_text(body.format(n=N_TESTS))
    (root / "conftest.py").write_text(_PHASES)
    sides: dict[str, list[tuple[float, float, list[float]]]] = {"on": [], "off": []}
    bare: dict[str, list[tuple[float, float]]] = {"fresh": [], "template": []}
    for i in range(REPEAT):
        for pool in (("on", "off") if i % 2 == 0 else ("off", "on")):
            sides[pool].append(_pytest(path, "-n", "0", pool=pool))
            for _ in range(max(1, BARE_REPEAT // 2)):
                bare["fresh"].append(_bare(codex_bin, None))
                bare["template"].append(_bare(codex_bin, template))
    per = {pool: _median([x for run in runs for x in run[2]]) for pool, runs in sides.items()}
    cpu = {pool: _median([run[1] / N_TESTS for run in runs]) for pool, runs in sides.items()}
    wall = {pool: _median([run[0] for run in runs]) for pool, runs in sides.items()}
    bare_wall = {k: _median([w for w, _ in v]) for k, v in bare.items()}
    bare_cpu = {k: _median([c for _, c in v]) for k, v in bare.items()}
    note = (f"median per test over {REPEAT}x{N_TESTS} tests; pool off {per['off'] * 1000:.1f} ms "
            f"({per['off'] / bare_wall['fresh']:.2f}x fresh); run wall on/off {wall['on']:.1f}/{wall['off']:.1f} s; "
            f"children CPU per test on/off {cpu['on'] * 1000:.0f}/{cpu['off'] * 1000:.0f} ms; "
            f"bare CPU per spawn fresh/template {bare_cpu['fresh'] * 1000:.0f}/{bare_cpu['template'] * 1000:.0f} ms")
    goals = (("fresh", 0.25), ("template", 0.5)) if label == "turn" else (("fresh", 1.0),)
    results = [BenchResult(f"P1{'' if label == 'turn' else 'b'} codex_app_server setup+teardown per test ({label} tests, pool on) "
                           f"vs bare spawn+initialize on a {kind} home", per["on"] * 1000, bare_wall[kind] * 1000, "ms", goal,
                           note=note) for kind, goal in goals]
    floor = {"bare_wall_fresh": bare_wall["fresh"], "bare_wall_template": bare_wall["template"],
             "bare_cpu_fresh": bare_cpu["fresh"], "bare_cpu_template": bare_cpu["template"]}
    return results, floor


def _p2(root: Path) -> BenchResult:
    path = root / "test_pool_xdist.py"
    path.write_text(_TURN_TESTS.format(n=XDIST_TESTS))
    (root / "conftest.py").write_text(_PHASES)
    main = MAIN_PYTHON if Path(MAIN_PYTHON).exists() else None
    ours, base = [], []
    runs = (("ours", sys.executable, "on"), ("base", main or sys.executable, "off"))
    for _, python, pool in runs:  # untimed: each tree's bytecode caches written once, as after a user's first run
        _pytest(path, "-n", "2", pool=pool, python=python)
    for i in range(REPEAT):
        for side, python, pool in (runs if i % 2 == 0 else runs[::-1]):
            (ours if side == "ours" else base).append(_pytest(path, "-n", "2", pool=pool, python=python))
    what = f"today's main ({main})" if main else "pool off in this tree"
    cpu_o, cpu_b = _median([r[1] for r in ours]), _median([r[1] for r in base])
    return BenchResult(f"P2 {XDIST_TESTS} real-binary tests, one turn each, -n 2: pool on vs {what}",
                       _median([r[0] for r in ours]), _median([r[0] for r in base]), "s", 0.6,
                       note=f"median of {REPEAT} interleaved runs; children CPU {cpu_o:.1f} vs {cpu_b:.1f} s")


def bench() -> list[BenchResult]:
    codex_bin = str(resolve_codex_bin())
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        root = Path(tmp)
        template = _make_template(codex_bin, root)
        results, floor = _p1(codex_bin, root, template, _TURN_TESTS, "turn")
        results += _p1(codex_bin, root, template, _EMPTY_TESTS, "empty")[0]
        results.append(BenchResult("F binary floor: bare spawn+initialize CPU (RUSAGE_CHILDREN), template home vs fresh home",
                                   floor["bare_cpu_template"] * 1000, floor["bare_cpu_fresh"] * 1000, "ms", 1.0,
                                   note=f"wall template/fresh {floor['bare_wall_template'] * 1000:.0f}/"
                                        f"{floor['bare_wall_fresh'] * 1000:.0f} ms (informational)"))
        if os.environ.get("BENCH_POOL_XDIST", "1") != "0":
            results.append(_p2(root))
    return results


if __name__ == "__main__":
    print(f"load average before: {os.getloadavg()}")
    for r in bench():
        print(r.line(), flush=True)
    print(f"load average after: {os.getloadavg()}")
