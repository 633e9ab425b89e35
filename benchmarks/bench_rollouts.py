"""CODEX_HOME listing and lookup over 10,000 fake rollouts vs a naive recursive glob.

``list_rollouts`` (parses every name, returns typed records, sorted) against
``sorted(Path(home).glob("sessions/**/rollout-*.jsonl"))``, and
``find_thread_path_by_id_str`` against ``next(Path(home, "sessions").rglob(f"*-{id}.jsonl"))``
(which stops at the first hit, so the id is picked from the middle of the walk),
on the same tree, interleaved, in one run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from codex_fixtures import (
    create_fake_rollout,
    find_thread_path_by_id_str,
    list_rollouts,
)

from ._common import BenchResult, interleaved

N = 10_000
T0 = 1_700_000_000.0


def build_home(root: Path, n: int = N) -> list[str]:
    """``n`` fake rollouts spread over ~400 dated directories; returns their ids."""
    return [create_fake_rollout(root, created_at=T0 + i * 3517.0, preview=f"p{i}") for i in range(n)]


def bench(n: int = N, repeat: int = 7) -> list[BenchResult]:
    root = Path(tempfile.mkdtemp(prefix="bench-rollouts-"))
    try:
        ids = build_home(root, n)
        target = ids[len(ids) // 2]
        sessions = root / "sessions"
        assert len(list_rollouts(root)) == n == len(sorted(root.glob("sessions/**/rollout-*.jsonl")))
        assert find_thread_path_by_id_str(root, target) == next(sessions.rglob(f"*-{target}.jsonl"))
        ours, base = interleaved(lambda: list_rollouts(root), lambda: sorted(root.glob("sessions/**/rollout-*.jsonl")), repeat)
        ours_f, base_f = interleaved(
            lambda: find_thread_path_by_id_str(root, target), lambda: next(sessions.rglob(f"*-{target}.jsonl")), repeat
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        BenchResult(f"list_rollouts vs sorted glob ({n} rollouts)", ours * 1e3, base * 1e3, "ms", goal=1.0,
                    note="ours also parses names into RolloutFile records"),
        BenchResult(f"find_thread_path_by_id_str vs rglob ({n} rollouts)", ours_f * 1e3, base_f * 1e3, "ms", goal=1.0,
                    note="rglob stops at its first hit; id taken from the middle"),
    ]


if __name__ == "__main__":
    for result in bench():
        print(result.line())
