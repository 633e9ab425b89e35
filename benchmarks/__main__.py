"""``python -m benchmarks`` (``make bench``): run every ``benchmarks/bench_*.py`` and record the results.

Each module exposes ``bench() -> list[BenchResult]``. A module that fails to
import or to run is skipped with its reason printed (and recorded). Every
ratio is printed with its goal; a dated section (machine, codex version, load
average before and after) is appended to ``benchmarks/RESULTS.md``.

Usage::

    python -m benchmarks                 # all modules, append to RESULTS.md
    python -m benchmarks server driver   # only bench_server.py and bench_driver.py
    python -m benchmarks --no-record     # print only
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from benchmarks._common import BenchResult

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HEADER = "| benchmark | ours | baseline | ratio | goal | verdict | note |\n|---|---|---|---|---|---|---|"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _codex_version() -> str:
    try:
        from codex_fixtures import codex_binary_info

        return codex_binary_info().describe()
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        return f"unavailable ({exc})"


def discover(selected: list[str]) -> list[str]:
    """Module names ``benchmarks.bench_*`` in file order, filtered by ``selected`` (with or without ``bench_``)."""
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if selected:
        wanted = {s if s.startswith("bench_") else f"bench_{s}" for s in selected}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"unknown benchmark module(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    return names


def run_module(name: str) -> tuple[list[BenchResult], str | None, float]:
    """Import and run one module; ``(results, skip reason or None, seconds)``."""
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        results = list(module.bench())
    except Exception as exc:  # noqa: BLE001 - a broken module is skipped, the rest still run
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        return [], f"{type(exc).__name__}: {exc}{where}".splitlines()[0][:300], time.perf_counter() - t0
    return results, None, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="bench module names (e.g. server, bench_driver); default: all")
    parser.add_argument("--no-record", action="store_true", help=f"do not append to {RESULTS.name}")
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    load_before = _loadavg()
    machine = f"{os.cpu_count()} CPU(s), {_cpu_model()}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    codex = _codex_version()
    print(f"machine: {machine}\ncodex:   {codex}\nload average before: {load_before}\n", flush=True)

    rows: list[str] = []
    skipped: list[str] = []
    all_results: list[BenchResult] = []
    for name in discover(args.modules):
        print(f"== {name} ...", flush=True)
        results, reason, seconds = run_module(name)
        if reason is not None:
            print(f"   SKIPPED {name}: {reason}", flush=True)
            skipped.append(f"- `{name}` skipped: {reason}")
            continue
        for r in results:
            print("   " + r.line(), flush=True)
            rows.append(r.line())
        all_results.extend(results)
        print(f"   ({seconds:.1f} s)", flush=True)

    load_after = _loadavg()
    met = sum(r.met for r in all_results)
    summary = f"{met}/{len(all_results)} goals met"
    print(f"\n{summary}; load average after: {load_after}")
    if skipped:
        print("\n".join(skipped))

    if not args.no_record:
        section = [
            f"\n## {started:%Y-%m-%d %H:%M} UTC",
            "",
            f"- machine: {machine}",
            f"- codex: {codex}",
            f"- load average (1/5/15 min) before: {load_before}; after: {load_after}",
            f"- command: `python -m benchmarks{' ' + ' '.join(args.modules) if args.modules else ''}`; {summary}",
            "",
            HEADER,
            *rows,
        ]
        if skipped:
            section += ["", *skipped]
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by `make bench` (`python -m benchmarks`). "
                               "Ratios are ours / baseline, both measured in the same run, interleaved.\n")
        with RESULTS.open("a") as fh:
            fh.write("\n".join(section) + "\n")
        print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
