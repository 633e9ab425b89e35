"""Template homes (issue 14 A): three ratios, each side measured in this run, interleaved.

T1. what the ``codex_app_server`` fixture does on its default, a template home
    (marker options, started mock, CODEX_HOME copied from the template, spawn +
    ``initialize`` through the factory, teardown with the strict check) vs a bare
    stdlib spawn + ``initialize`` on a fresh hand-written home (goal <= 0.65).
    The template is made once per process before the runs (its cost is in the note).
T2. 40 real-binary tests (``codex_app_server``, one thread, one turn) at ``-n 2``
    with templates vs the same with ``--codex-fresh-homes`` (goal <= 0.75);
    every run is a new pytest, so each worker makes its own template inside the timing.
T3. the scenario catalog on the bundled binary (``run_scenarios``) with templates
    vs ``fresh_homes=True`` (goal <= 0.75); the store is emptied before every
    templated run, so its one template build is inside the timing, as in one
    ``codex-repro run``. T3b: the same with the template already made (the
    catalog run inside a test session that made it before), for comparison.

T4. filling one home from a made template: every file copied (what ``copy_into``
    does since issue 18: no home shares a file with another) vs the old fill
    that hard-linked ``skills/`` (reproduced here as the baseline); only the
    fill is timed (the dir is made before, removed after). Informational
    goal <= 3.0: the price of homes that cannot change each other.

Each note gives the CPU time the children (codex) used per run on both sides
(``RUSAGE_CHILDREN``): on a loaded machine it says where the time went when
wall time cannot.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from codex_fixtures import AppServerFactory, CodexHome, codex_binary_info, resolve_codex_bin
from codex_fixtures import _plugin_support as support
from codex_fixtures.home import filecopy
from codex_fixtures.home.template import INSTALLATION_ID, STORE, Template
from codex_fixtures.repro.scenarios import DEFAULT_JOBS, SCENARIOS, run_scenarios

from benchmarks._common import BenchResult
from benchmarks.bench_driver import _bare_fresh_init
from benchmarks.bench_fixtures import XDIST_TESTS, _run_pytest, write_xdist_tests

REPEAT_FIXTURE = int(os.environ.get("BENCH_TEMPLATES_REPEAT", "15"))
REPEAT_XDIST = int(os.environ.get("BENCH_XDIST_REPEAT", "3"))
REPEAT_CATALOG = int(os.environ.get("BENCH_CATALOG_REPEAT", "5"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rotate(sides: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """Per side: (median wall s, median children CPU s), the sides run in rotating order (AB BA AB ... / ABC BCA CAB ...)."""
    names = list(sides)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(repeat):
        k = i % len(names)
        order = names[k:] + names[:k] if len(names) > 2 else (names if i % 2 == 0 else names[::-1])
        for name in order:
            c0, t0 = _children_cpu(), time.perf_counter()
            sides[name]()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(_children_cpu() - c0)
    return {n: (statistics.median(wall[n]), statistics.median(cpu[n])) for n in names}


def _abab(ours: Callable[[], object], baseline: Callable[[], object], repeat: int) -> tuple[float, float, float, float]:
    """Median wall and median children-CPU of each side, run alternately (ABBA...)."""
    got = _rotate({"ours": ours, "baseline": baseline}, repeat)
    return got["ours"][0], got["baseline"][0], got["ours"][1], got["baseline"][1]


def _fixture_chain(codex_bin: str, fresh: bool) -> None:
    """codex_responses -> codex_home -> codex_app_server(s), set up and torn down as the plugin does."""
    options = support.marker_options(None)
    server = support.make_server(options)
    try:
        home = CodexHome(server, fresh=fresh, **options.config)
        try:
            with AppServerFactory(home.path, codex_bin=codex_bin) as start:
                app = start()
                assert app.from_template is not fresh
        finally:
            home.cleanup()
        server.check()
    finally:
        server.close()


def _t1(codex_bin: str) -> BenchResult:
    STORE.clear()
    t0 = time.perf_counter()
    _fixture_chain(codex_bin, fresh=False)  # makes the template (and warms the page cache)
    first = time.perf_counter() - t0
    build = STORE.templates()[0].build_s
    _bare_fresh_init(codex_bin)
    ours, base, cpu_a, cpu_b = _abab(lambda: _fixture_chain(codex_bin, False), lambda: _bare_fresh_init(codex_bin),
                                     REPEAT_FIXTURE)
    ms = 1000.0
    return BenchResult(
        "T1 codex_app_server setup+teardown (template home) vs bare spawn+initialize (fresh home)", ours * ms, base * ms,
        "ms", 0.65,
        note=f"median of {REPEAT_FIXTURE}, interleaved; children CPU {cpu_a * ms:.0f} vs {cpu_b * ms:.0f} ms per run; "
             f"once per process: template made in {build * ms:.0f} ms (first fixture run {first * ms:.0f} ms)")


def _t2(root: Path) -> BenchResult:
    path = write_xdist_tests(root)
    ours, base, cpu_a, cpu_b = _abab(lambda: _run_pytest(path, "-n", "2", only_our_plugins=True),
                                     lambda: _run_pytest(path, "-n", "2", "--codex-fresh-homes", only_our_plugins=True),
                                     REPEAT_XDIST)
    return BenchResult(
        f"T2 {XDIST_TESTS} real-binary tests at -n 2: templates vs --codex-fresh-homes", ours, base, "s", 0.75,
        note=f"median of {REPEAT_XDIST} interleaved pytest runs (only xdist + our plugin loaded); each test = spawn, "
             f"initialize, thread/start, one turn; CPU of pytest + codex per run {cpu_a:.1f} vs {cpu_b:.1f} s")


def _t3() -> list[BenchResult]:
    binary = codex_binary_info()

    def run(fresh: bool) -> None:
        report = run_scenarios(binaries=[binary], fresh_homes=fresh)
        assert report.summary["error"] == 0, report.to_text()

    def cold() -> None:
        STORE.clear()  # as one `codex-repro run`: the template is made inside the timing
        run(False)

    run(True)  # warm-up: schema caches, page cache
    got = _rotate({"fresh": lambda: run(True), "cold": cold, "warm": lambda: run(False)}, REPEAT_CATALOG)
    (fresh_s, fresh_cpu), (cold_s, cold_cpu), (warm_s, warm_cpu) = got["fresh"], got["cold"], got["warm"]
    where = (f"run_scenarios, {len(SCENARIOS)} scenarios, {DEFAULT_JOBS} jobs, median of {REPEAT_CATALOG} runs "
             f"rotated with the fresh-home runs")
    return [
        BenchResult(f"T3 scenario catalog on codex {binary.version}: templates (made in the run) vs fresh homes",
                    cold_s, fresh_s, "s", 0.75,
                    note=f"{where}; the store is emptied before each run, so the one template build is inside the "
                         f"timing (one `codex-repro run`); children CPU {cold_cpu:.2f} vs {fresh_cpu:.2f} s per run"),
        BenchResult(f"T3b scenario catalog on codex {binary.version}: templates (already made) vs fresh homes",
                    warm_s, fresh_s, "s", 0.75,
                    note=f"{where}; the template made earlier in the process (the catalog inside a test session); "
                         f"children CPU {warm_cpu:.2f} vs {fresh_cpu:.2f} s per run"),
    ]


REPEAT_FILL = int(os.environ.get("BENCH_FILL_REPEAT", "40"))


def _linked_fill(template: Template, home: Path) -> None:
    """The fill before issue 18: ``skills/`` hard-linked into the home, the rest copied (the baseline of T4)."""
    src = os.fspath(template.path)
    for rel in template.dirs:
        os.mkdir(home / rel)
    for rel in template.copied:
        if rel == INSTALLATION_ID:
            (home / rel).write_text(str(uuid.uuid4()))
        elif rel.split(os.sep, 1)[0] == "skills":
            os.link(os.path.join(src, rel), home / rel)
        else:
            shutil.copyfile(os.path.join(src, rel), home / rel)


def _t4(codex_bin: str) -> BenchResult:
    STORE.clear()
    _fixture_chain(codex_bin, fresh=False)  # makes the template
    template = STORE.templates()[0]
    sides: dict[str, Callable[[Path], object]] = {"ours": lambda home: STORE.copy_into(template, home),
                                                   "baseline": lambda home: _linked_fill(template, home)}
    wall: dict[str, list[float]] = {n: [] for n in sides}
    cpu: dict[str, list[float]] = {n: [] for n in sides}
    with tempfile.TemporaryDirectory(prefix="bench-fill-") as tmp:
        for i in range(REPEAT_FILL):
            for name in (("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")):
                home = Path(tmp) / f"{name}-{i}"
                home.mkdir()
                (home / "config.toml").write_text("# the home's own\n")
                c0, t0 = time.process_time(), time.perf_counter()
                sides[name](home)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                shutil.rmtree(home)
    ms = 1000.0
    ours, base = statistics.median(wall["ours"]), statistics.median(wall["baseline"])
    files = len(template.copied)
    linked = sum(1 for rel in template.copied if rel.split(os.sep, 1)[0] == "skills")
    return BenchResult(
        f"T4 filling a home from the template: {files} files copied vs skills/ hard-linked ({linked} links)",
        ours * ms, base * ms, "ms", 3.0,
        note=f"median of {REPEAT_FILL}, interleaved, only the fill timed; CPU {statistics.median(cpu['ours']) * ms:.1f} "
             f"vs {statistics.median(cpu['baseline']) * ms:.1f} ms; {len(template.dirs)} dirs; copies are clones where "
             f"the filesystem has them (this one: {'no' if filecopy._NO_CLONE else 'yes'})")


def bench() -> list[BenchResult]:
    codex_bin = str(resolve_codex_bin())
    results = [_t1(codex_bin), _t4(codex_bin)]
    with tempfile.TemporaryDirectory(prefix="bench-templates-") as tmp:
        results.append(_t2(Path(tmp)))
    results.extend(_t3())
    return results


if __name__ == "__main__":
    for r in bench():
        print(r.line())
