"""CodexState spawn edges and goals, on the state the real binary created (fails on main: no such methods).

Goals are calibrated both ways: a goal we write is what ``thread/goal/get`` answers, and a goal the binary
writes (``thread/goal/set``) is what :meth:`CodexState.goal` reads. The binary writes spawn edges only when a
model spawns a sub-agent; here they are written on its own schema and read with its recursive query.
"""

from __future__ import annotations

import pytest
from codex_fixtures import CodexState, StateEditError

pytestmark = pytest.mark.codex_binary


def test_a_goal_written_here_is_what_the_binary_serves_and_the_reverse(codex_app_server, codex_home, codex_binary):
    if not codex_binary.has_method("thread/goal/get"):
        pytest.skip(f"codex {codex_binary.version} has no thread goals")
    app = codex_app_server
    thread = app.start_thread()["id"]
    state = CodexState(codex_home)
    state.set_goal(thread, "ship the port", token_budget=1000, tokens_used=10)
    state.account_goal_usage(thread, tokens=5, seconds=2)
    served = app.request("thread/goal/get", {"threadId": thread})["goal"]
    assert (served["objective"], served["status"], served["tokenBudget"], served["tokensUsed"]) == (
        "ship the port",
        "active",
        1000,
        15,
    )
    other = app.start_thread()["id"]
    app.request("thread/goal/set", {"threadId": other, "objective": "from the binary"})
    row = state.goal(other)
    assert (row["objective"], row["status"], row["tokens_used"]) == ("from the binary", "active", 0)
    with pytest.raises(StateEditError, match="no goal for thread"):
        state.account_goal_usage("no-such-thread", tokens=1)
    with pytest.raises(ValueError, match="goal status must be one of"):
        state.set_goal(thread, "x", status="done")


@pytest.mark.codex_requires(version=">=0.163", reason="0.101 has no sqlite state")
def test_spawn_edges_on_the_binarys_schema(codex_app_server, codex_home):
    codex_app_server.start_thread()  # the state exists
    state = CodexState(codex_home)
    state.add_spawn_edge("root", "child-a")
    state.add_spawn_edge("root", "child-b", status="closed")
    state.add_spawn_edge("child-a", "grandchild")
    assert state.descendants("root") == ["child-a", "child-b", "grandchild"]
    assert state.descendants("root", status="open") == ["child-a", "grandchild"]
    assert [e["child_thread_id"] for e in state.spawn_edges("root")] == ["child-a", "child-b"]
    with pytest.raises(ValueError, match="cannot spawn itself"):
        state.add_spawn_edge("x", "x")
