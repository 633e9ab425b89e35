"""Per-test cost of the pytest fixtures, and how well real-binary tests parallelize.

4a. Overhead of ``codex_home`` + ``codex_responses`` (no app-server), goal
    <= 5 ms median per test, measured two ways:
    * direct: what the two fixtures do (parse the marker, start the scripted
      mock, write the hermetic home, then the strict check, remove the home,
      close the mock), median over many iterations;
    * real pytest: N trivial tests using both fixtures vs N trivial tests
      without fixtures, each run in a fresh ``pytest`` subprocess;
      (difference of wall times) / N.
    Both are absolute goals: the ratio column is "ms per test / 1 ms".
5.  pytest-xdist: 40 real-binary tests (``codex_app_server``, one thread, one
    turn each) at ``-n 2`` vs ``-n 0``; goal speedup >= 1.6 on 2 cores.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codex_fixtures import CodexHome
from codex_fixtures import _plugin_support as support

from benchmarks._common import BenchResult, interleaved

DIRECT_REPEAT = int(os.environ.get("BENCH_FIXTURES_DIRECT", "300"))
PYTEST_N = int(os.environ.get("BENCH_FIXTURES_PYTEST_N", "200"))
XDIST_TESTS = 40
XDIST_REPEAT = int(os.environ.get("BENCH_XDIST_REPEAT", "3"))


def _fixture_pair() -> None:
    options = support.marker_options(None)
    server = support.make_server(options)
    try:
        home = CodexHome(server, **options.config)
        home.cleanup()
        server.check()
    finally:
        server.close()


def _direct() -> BenchResult:
    for _ in range(10):
        _fixture_pair()
    times = []
    for _ in range(DIRECT_REPEAT):
        t0 = time.perf_counter()
        _fixture_pair()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1000
    p90 = sorted(times)[int(len(times) * 0.9)] * 1000
    return BenchResult("4a codex_home+codex_responses per test, direct (absolute, ms)", med, 1.0, "ms", 5.0,
                       note=f"median of {DIRECT_REPEAT}, p90 {p90:.2f} ms; baseline column is the 1 ms unit")


# Only the plugins under test: this venv also auto-loads hypothesis, pyfakefs, respx, ... (hypothesis
# alone imports in ~0.5 s), a constant per process that a -n 2 run pays three times.
ONLY_OUR_PLUGINS = ("-p", "xdist.plugin", "-p", "codex_fixtures.plugin")


def _run_pytest(path: Path, *args: str, only_our_plugins: bool = False) -> float:
    env = dict(os.environ)
    if only_our_plugins:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args = (*ONLY_OUR_PLUGINS, *args)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args, str(path)],
                          cwd=path.parent, capture_output=True, text=True, timeout=900, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"pytest {path.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-1000:]}")
    return elapsed


def _real_pytest(root: Path) -> BenchResult:
    with_fx = root / "test_with_fixtures.py"
    with_fx.write_text(
        "import pytest\n\n@pytest.mark.parametrize('n', range(%d))\ndef test_x(codex_home, codex_responses, n):\n    pass\n" % PYTEST_N)
    without = root / "test_without_fixtures.py"
    without.write_text("import pytest\n\n@pytest.mark.parametrize('n', range(%d))\ndef test_x(n):\n    pass\n" % PYTEST_N)
    a, b = interleaved(lambda: _run_pytest(with_fx), lambda: _run_pytest(without), 3)
    per_test = (a - b) / PYTEST_N * 1000
    return BenchResult(f"4a codex_home+codex_responses per test, real pytest run of {PYTEST_N} (absolute, ms)",
                       per_test, 1.0, "ms", 5.0,
                       note=f"({a:.2f} s - {b:.2f} s) / {PYTEST_N}, median of 3 interleaved subprocess runs")


def write_xdist_tests(root: Path) -> Path:
    """``root/test_xdist_real_binary.py``: XDIST_TESTS real-binary tests (spawn, initialize, thread/start, one turn)."""
    path = root / "test_xdist_real_binary.py"
    path.write_text(
        "import pytest\n\n"
        f"@pytest.mark.parametrize('n', range({XDIST_TESTS}))\n"
        "def test_turn(codex_app_server, n):\n"
        "    thread = codex_app_server.start_thread()\n"
        "    assert codex_app_server.run_turn(thread['id'], f'turn {n}')['status'] == 'completed'\n"
    )
    return path


def _xdist(root: Path) -> BenchResult:
    path = write_xdist_tests(root)
    serial, parallel = interleaved(lambda: _run_pytest(path, "-n", "0", only_our_plugins=True),
                                   lambda: _run_pytest(path, "-n", "2", only_our_plugins=True), XDIST_REPEAT)
    return BenchResult(f"5 xdist speedup: {XDIST_TESTS} real-binary tests, -n 0 time / -n 2 time", serial, parallel, "s", 1.6,
                       higher_is_better=True,
                       note=f"median of {XDIST_REPEAT} interleaved runs; each test = spawn, initialize, thread/start, one turn; "
                            "only xdist + our plugin loaded on both sides")


def bench() -> list[BenchResult]:
    results = [_direct()]
    with tempfile.TemporaryDirectory(prefix="bench-fixtures-") as tmp:
        results.append(_real_pytest(Path(tmp)))
        results.append(_xdist(Path(tmp)))
    return results


if __name__ == "__main__":
    for r in bench():
        print(r.line())
