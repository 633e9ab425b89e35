"""The scenario context's wait for a turn's finished record: ended by the record, not by its bound.

``ScenarioContext.turn`` waits (at most ``TURN_RECORD_WAIT_S``) until the rollout holds
the turn's finished record. Two cases used to wait the whole bound for nothing: an
ephemeral thread (no rollout at all) and a thread after ``thread/revert`` (the binary
appends to a segment file, the count looked at the base file only): 5 s each per run
of the catalog.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from codex_fixtures import codex_binary_info
from codex_fixtures.repro import context
from codex_fixtures.repro.scenarios import run_scenarios

TID = "01a252ad-ab7a-7d40-8fc1-515c18cb4a16"
SEGMENT = "01a252ad-ad8a-7320-9788-7ec0b6507844"


def _write(path: Path, kinds: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [{"timestamp": "2026-12-07T10:00:00.000Z", "type": "session_meta", "payload": {"id": TID}}]
    records += [{"timestamp": "2026-12-07T10:00:01.000Z", "type": "event_msg", "payload": {"type": kind}} for kind in kinds]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_finished_turns_are_counted_over_the_base_file_and_its_revert_segments(tmp_path):
    day = tmp_path / "sessions" / "2026" / "12" / "07"
    _write(day / f"rollout-2026-12-07T10-00-00-{TID}.jsonl", ["task_started", "task_complete"] * 2)
    _write(day / f"rollout-2026-12-07T10-00-00-{TID}_{SEGMENT}.jsonl", ["task_started", "task_complete"])
    records = context.wait_for_finished_turns(tmp_path, TID, 3, 0.5)  # before: TimeoutError (the base holds 2)
    assert len(records) == 5, "the records returned are the base file's"
    with pytest.raises(TimeoutError, match="has not 4 finished turn"):
        context.wait_for_finished_turns(tmp_path, TID, 4, 0.05)


@pytest.mark.codex_binary
def test_no_turn_of_the_catalog_waits_out_the_record_bound(monkeypatch):
    timed_out = []
    real_wait = context.wait_for_finished_turns

    def wait(home, thread_id, count, timeout):
        try:
            return real_wait(home, thread_id, count, timeout)
        except TimeoutError:
            timed_out.append((thread_id, count))
            raise

    monkeypatch.setattr(context, "wait_for_finished_turns", wait)
    report = run_scenarios(["rollback-after-turns", "ephemeral-rejects-rollout-ops"], binaries=[codex_binary_info()],
                           timeout=15.0)
    assert [r.verdict for r in report.results] == ["as-intended", "as-intended"], report.to_text()
    assert timed_out == []  # before: one wait each, 5 s apiece
