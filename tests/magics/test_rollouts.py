"""``%codex rollout``'s disk view (codex_magics.rollouts) on a rollout too big to read (issue 18, 7): bounded, no MemoryError."""

from __future__ import annotations

import os
import tracemalloc

from codex_fixtures import create_fake_rollout, find_thread_path_by_id_str
from codex_fixtures.home import rollout_reader
from codex_magics.rollouts import _count_lines, rollout_state


def test_a_rollout_ending_in_gigabytes_without_newline_is_shown_unreadable_in_bounded_memory(tmp_path, monkeypatch):
    tid = create_fake_rollout(tmp_path)
    path = find_thread_path_by_id_str(tmp_path, tid)
    good = len(path.read_bytes().splitlines())
    os.truncate(path, path.stat().st_size + (2 << 30))  # sparse: 2 GiB of NULs, no newline
    monkeypatch.setattr(rollout_reader, "MAX_ROLLOUT_BYTES", 8 << 20)  # the count stops there too (fast)
    tracemalloc.start()
    try:
        state = rollout_state(tmp_path, tid)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state["state"] == "active" and state["record_types"] == {"(unreadable line)": 1}
    assert state["lines"] == good + 1  # the lines within the cap, and the last one without its newline
    assert peak < 4 << 20, f"peak traced memory {peak / 2**20:.1f} MiB"


def test_count_lines_counts_a_last_line_without_newline(tmp_path):
    path = tmp_path / "f"
    for data, lines in ((b"", 0), (b"a\n", 1), (b"a\nb", 2), (b"\n\n", 2)):
        path.write_bytes(data)
        assert _count_lines(path) == lines, data
    assert _count_lines(tmp_path / "missing") == 0
