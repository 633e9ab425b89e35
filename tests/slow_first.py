"""Run the slowest test files first, so that two xdist workers finish together (issue 26).

``make test`` runs ``-n 2 --dist loadfile --no-loadscope-reorder``: xdist hands whole files, in
collection order (without that flag it reorders them by their number of tests), to
whichever worker is free. A file that takes a minute collected last is the run's tail: one
core works while the other idles. Ordering whole files by their measured cost, slowest first,
leaves the cheap unit-test files for the end, where they fill the gaps. Files stay whole and
keep their own order, so module-scoped fixtures are set up once.

The costs are ``tests/durations.json`` (seconds per file, summed setup + call + teardown of a
``--durations=0`` or ``--junitxml`` run); ``python -m benchmarks.durations REPORT`` rewrites it.
Only the ranking matters, so a table measured on a loaded machine serves. A file not in the
table counts as the median file.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

TABLE = Path(__file__).with_name("durations.json")


class _Item(Protocol):
    nodeid: str


def load_table(path: Path = TABLE) -> dict[str, float]:
    """The committed seconds per test file (empty when the table is missing or unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.get("files", {}).items()}


def slowest_files_first(items: Sequence[_Item], table: dict[str, float]) -> list[_Item]:
    """``items`` regrouped by file, the files in descending cost, each file's tests in their order."""
    if not table:
        return list(items)
    default = statistics.median(table.values())
    by_file: dict[str, list[_Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    files = sorted(by_file, key=lambda f: -table.get(f, default))  # stable: ties keep collection order
    return [item for f in files for item in by_file[f]]
