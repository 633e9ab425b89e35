"""The on-disk truth about a thread: its rollout files under a CODEX_HOME. No app-server, no IPython."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from codex_fixtures import CodexFixturesError, list_rollouts, read_rollout
from codex_fixtures.home import rollout_reader

__all__ = ["ROLLOUT_FIELDS", "disk_states", "rollout_state", "skipped_note"]

ROLLOUT_FIELDS = ["thread", "state", "path", "lines", "segments", "record_types"]
"""The fields of :func:`rollout_state` that ``%codex rollout`` shows."""


def rollout_state(codex_home: Path, thread_id: str, expected_path: str | None = None) -> dict[str, Any]:
    """Files, state (``active`` / ``archived`` / ``not yet written``), line count and record types of one thread.

    ``expected_path`` (what ``thread/start`` announced) is reported as the path
    while nothing is on disk. Lines are those of the base file; record types
    cover every file (segments too); a file that is not valid JSONL counts as
    ``(unreadable line)``. Entries of the home that cannot be read (a FIFO, a
    dangling symlink, a directory that cannot be listed) are never opened:
    ``skipped`` lists them.
    """
    skipped: list[str] = []
    files = [r for r in list_rollouts(codex_home, archived=None, skipped=skipped) if r.thread_id == thread_id]
    base = next((r for r in files if not r.is_segment), files[0] if files else None)
    types: collections.Counter[str] = collections.Counter()
    lines = 0
    for r in files:
        try:
            records = read_rollout(r.path)
            types.update(rec["type"] for rec in records)
            lines += len(records) if r is base else 0
        except (CodexFixturesError, OSError, ValueError):
            lines += _count_lines(r.path) if r is base else 0
            types["(unreadable line)"] += 1
    archived = bool(files) and all(r.archived for r in files)
    return {
        "thread": thread_id,
        "state": "archived" if archived else "active" if files else "not yet written",
        "exists": bool(files),
        "archived": archived,
        "path": str(base.path) if base else expected_path,
        "lines": lines,
        "segments": sum(1 for r in files if r.is_segment),
        "record_types": dict(types),
        "files": [str(r.path) for r in files],
        "skipped": skipped,
    }


def _count_lines(path: Path) -> int:
    """Lines of a regular file that did not parse (0 when it cannot be read at all).

    Newlines are counted in 1 MiB chunks over at most ``MAX_ROLLOUT_BYTES`` (a
    2 GiB file without a newline is never held whole); a last line without a
    newline counts too.
    """
    count, last, left = 0, b"\n", rollout_reader.MAX_ROLLOUT_BYTES
    try:
        with path.open("rb") as fh:
            while left > 0 and (chunk := fh.read(min(1 << 20, left))):
                count += chunk.count(b"\n")
                last, left = chunk[-1:], left - len(chunk)
    except OSError:
        return 0
    return count + (last != b"\n")


def disk_states(codex_home: Path, thread_ids: Iterable[str], skipped: list[str] | None = None) -> dict[str, str]:
    """``active``, ``archived`` or ``not yet written`` for each of ``thread_ids`` (one scan of the home).

    What cannot be read goes to ``skipped`` (see :func:`rollout_state`).
    """
    wanted = set(thread_ids)
    found: dict[str, set[bool]] = collections.defaultdict(set)
    for r in list_rollouts(codex_home, archived=None, skipped=skipped):
        if r.thread_id in wanted and not r.is_segment:
            found[r.thread_id].add(r.archived)
    return {t: ("archived" if found[t] == {True} else "active") if found.get(t) else "not yet written" for t in wanted}


def skipped_note(skipped: list[str]) -> str:
    """One line saying which entries of the home could not be read ('' when none)."""
    if not skipped:
        return ""
    more = f" and {len(skipped) - 2} more" if len(skipped) > 2 else ""
    return f"skipped {len(skipped)} unreadable CODEX_HOME entr{'y' if len(skipped) == 1 else 'ies'}: {'; '.join(skipped[:2])}{more}"
