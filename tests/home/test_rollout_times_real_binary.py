"""set_thread_updated_at moves a thread's updatedAt as thread/list reports it (fails on main: no such helper)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from codex_fixtures import FakeTurn, create_fake_rollout
from codex_fixtures.home.rollout_times import set_thread_updated_at

pytestmark = [pytest.mark.codex_binary, pytest.mark.codex_requires(version=">=0.163", reason="pins 0.163+ thread/list")]


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def listed(app) -> list[tuple[str, int]]:
    data = app.request("thread/list", {"sortKey": "updated_at"}, timeout=20)["data"]
    return [(t["id"], t["updatedAt"]) for t in data]


def test_updated_at_moves_with_and_without_a_state_row(codex_home, codex_app_servers):
    a = create_fake_rollout(codex_home, created_at="2025-01-01T00:00:00Z", turns=[FakeTurn("a", "done")])
    b = create_fake_rollout(codex_home, created_at="2025-01-02T00:00:00Z", turns=[FakeTurn("b", "done")])
    assert set_thread_updated_at(codex_home, a, "2025-03-01T00:00:00Z")["state_row"] is False  # no binary ran yet
    first = codex_app_servers()
    assert listed(first)[0] == (a, epoch("2025-03-01T00:00:00Z"))
    first.close()
    moved = set_thread_updated_at(codex_home, b, "2025-04-01T00:00:00Z")
    second = codex_app_servers()
    assert moved["state_row"] is True  # the first start backfilled rows: updatedAt now comes from there too
    assert listed(second)[0] == (b, epoch("2025-04-01T00:00:00Z"))
    with pytest.raises(FileNotFoundError, match="no rollout for thread"):
        set_thread_updated_at(codex_home, "00000000-0000-4000-8000-000000000000", 0)
