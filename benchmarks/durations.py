"""``python -m benchmarks.durations REPORT...``: rewrite ``tests/durations.json`` from measured runs.

A REPORT is a pytest ``--junitxml`` file or the text output of a ``--durations=0`` run. Each test's
time (setup + call + teardown) is summed per file; with several reports the larger sum of a file
wins. ``tests/slow_first.py`` orders files by this table so that the slowest start first under
``make test`` (``-n 2``). Only the ranking matters: a table measured on a loaded machine serves.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "durations.json"
DURATION_LINE = re.compile(r"^([0-9.]+)s (?:setup|call|teardown)\s+(\S+?)::")


def _module_path(classname: str) -> str:
    """``tests.plugin.test_x.TestY`` -> ``tests/plugin/test_x.py`` (the longest prefix that is a file)."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if (ROOT / candidate).is_file():
            return candidate
    return "/".join(parts) + ".py"


def per_file(report: Path) -> dict[str, float]:
    """Seconds per test file (path relative to the project root) in one report."""
    totals: dict[str, float] = {}
    text = report.read_text(errors="replace")
    if text.lstrip().startswith("<"):
        for case in ET.fromstring(text).iter("testcase"):
            path = case.get("file") or _module_path(case.get("classname", ""))
            totals[path] = totals.get(path, 0.0) + float(case.get("time", 0) or 0)
        return totals
    for line in text.splitlines():
        m = DURATION_LINE.match(line.strip())
        if m:
            totals[m.group(2)] = totals.get(m.group(2), 0.0) + float(m.group(1))
    return totals


def main(argv: list[str]) -> int:
    """Merge the reports of ``argv`` into ``tests/durations.json``; print the ten slowest files."""
    if not argv:
        print("usage: python -m benchmarks.durations REPORT... (junit xml or --durations=0 output)", file=sys.stderr)
        return 2
    merged: dict[str, float] = {}
    for name in argv:
        for path, secs in per_file(Path(name)).items():
            if (ROOT / path).is_file():
                merged[path] = max(merged.get(path, 0.0), secs)
    if not merged:
        print(f"no test durations found in {', '.join(argv)}", file=sys.stderr)
        return 1
    ranked = dict(sorted(merged.items(), key=lambda kv: -kv[1]))
    doc = {"about": "seconds per test file, for tests/slow_first.py; rewrite: python -m benchmarks.durations REPORT",
           "files": {k: round(v, 1) for k, v in ranked.items()}}
    tmp = TABLE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(TABLE)  # atomic
    for path, secs in list(ranked.items())[:10]:
        print(f"{secs:8.1f} s  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
