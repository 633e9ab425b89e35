"""Fidelity: the real binary lists, reads, resumes, continues, archives and unarchives fake rollouts.

The fakes are in the format of the binary under test (``--codex-bin``, else the bundled
one): on 0.163+ legacy-history threads, which ``thread/read`` serves with their turns at
once. Observed with 0.163.0 and 0.171.0: a paginated rollout (``history_mode:
paginated``, what a new thread writes) shows no turns in ``thread/read`` until ``thread/resume``
has built the thread's history database from it - the same for a rollout the binary
wrote, copied into a fresh home; an open turn is reported ``interrupted``;
``thread/list`` hides other providers unless ``modelProviders`` is given, and hides
``exec`` sources by default.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    MockResponsesServer,
    create_fake_rollout,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    read_rollout,
)
from codex_fixtures.home.rollout_formats import resolve_format

pytestmark = pytest.mark.codex_binary

T = 10.0
T0 = 1_736_078_400  # 2025-01-05T12:00:00Z


def listed(app: AppServerProcess, **params) -> list[dict]:
    return app.request("thread/list", params, timeout=T)["data"]


def turns_of(thread: dict) -> list[tuple[str, list]]:
    out = []
    for turn in thread["turns"]:
        items = []
        for item in turn["items"]:
            if item["type"] == "userMessage":
                items.append(("user", item["content"][0]["text"]))
            elif item["type"] == "agentMessage":
                items.append(("agent", item["text"]))
        out.append((turn["status"], items))
    return out


def paginated(home: Path, thread_id: str) -> bool:
    """Whether the rollout says ``history_mode: paginated`` (what 0.163+ write)."""
    path = find_thread_path_by_id_str(home, thread_id) or find_archived_thread_path_by_id_str(home, thread_id)
    return read_rollout(path)[0]["payload"].get("history_mode") == "paginated"


def build(home: Path) -> dict[str, str]:
    """The home states exercised below; returns name -> thread id."""
    return {
        "plain": create_fake_rollout(home, created_at=T0, preview="Hello plain"),
        "turns": create_fake_rollout(home, created_at=T0 + 60, turns=[("first q", "first a"), ("second q", "second a")]),
        "open": create_fake_rollout(home, created_at=T0 + 120, turns=[{"user": "open q", "assistant": "half", "complete": False}]),
        "other": create_fake_rollout(home, created_at=T0 + 180, preview="other provider", model_provider="other_provider"),
        "git": create_fake_rollout(home, created_at=T0 + 240, preview="with git", source="cli",
                                   git={"commit_hash": "abc123", "branch": "main", "repository_url": "https://example.invalid/r.git"}),
        "archived": create_fake_rollout(home, created_at=T0 + 300, preview="already archived", archived=True),
    }


def exercise(app: AppServerProcess, home: Path, ids: dict[str, str], server: MockResponsesServer, version: tuple[int, ...]) -> None:
    default = {t["id"]: t for t in listed(app)}
    assert set(default) == {ids["plain"], ids["turns"], ids["open"], ids["git"]}  # provider filter hides "other"
    assert [t["preview"] for t in listed(app)] == ["with git", "open q", "first q", "Hello plain"]  # newest first
    plain = default[ids["plain"]]
    written = read_rollout(find_thread_path_by_id_str(home, ids["plain"]))[0]["payload"]["cli_version"]
    assert (plain["createdAt"], plain["updatedAt"], plain["modelProvider"], plain["cliVersion"], plain["source"]) == (
        T0, T0, "mock_provider", written, "vscode")
    assert written == resolve_format(".".join(map(str, version))).version  # cli_version follows the format written
    assert plain.get("status", {"type": "notLoaded"}) == {"type": "notLoaded"} and plain["path"]  # 0.101 has no status == str(find_thread_path_by_id_str(home, ids["plain"]))
    assert default[ids["git"]]["gitInfo"] == {"sha": "abc123", "branch": "main", "originUrl": "https://example.invalid/r.git"}
    assert default[ids["git"]]["source"] == "cli"
    everything = {t["id"]: t["preview"] for t in listed(app, modelProviders=[])}
    assert everything[ids["other"]] == "other provider" and len(everything) == 5
    assert [t["id"] for t in listed(app, archived=True)] == [ids["archived"]]

    expected = {
        "turns": [("completed", [("user", "first q"), ("agent", "first a")]),
                  ("completed", [("user", "second q"), ("agent", "second a")])],
        "plain": [("completed", [("user", "Hello plain")])],
        # a turn without its closing record: 0.163+ report it interrupted, 0.101 completed
        "open": [("interrupted" if version >= (0, 163) else "completed", [("user", "open q"), ("agent", "half")])],
    }
    for name, want in expected.items():
        read = app.request("thread/read", {"threadId": ids[name], "includeTurns": True}, timeout=T)["thread"]
        if paginated(home, ids[name]):
            # 0.163+ serve a paginated thread's turns from thread_history_1.sqlite, which only
            # thread/resume builds from the rollout: a rollout the binary wrote reads the same
            assert turns_of(read) == [], name
            resumed = app.request("thread/resume", {"threadId": ids[name]}, timeout=T)["thread"]
            assert resumed.get("status", {"type": "idle"}) == {"type": "idle"} and turns_of(resumed) == want, name
            read = app.request("thread/read", {"threadId": ids[name], "includeTurns": True}, timeout=T)["thread"]
        assert turns_of(read) == want, name

    resumed = app.request("thread/resume", {"threadId": ids["turns"]}, timeout=T)["thread"]
    assert resumed.get("status", {"type": "idle"}) == {"type": "idle"} and len(resumed["turns"]) == 2
    turn = app.run_turn(ids["turns"], "third q", timeout=T)
    assert turn["status"] == "completed"
    prompts = ["first q", "second q", "third q"]
    sent = [t for t in server.requests[-1].message_input_texts("user") if t in prompts]  # minus the context messages
    assert sent == prompts  # the fake history reached the model
    read = app.request("thread/read", {"threadId": ids["turns"], "includeTurns": True}, timeout=T)["thread"]
    assert [status for status, _ in turns_of(read)] == ["completed"] * 3

    assert app.request("thread/archive", {"threadId": ids["plain"]}, timeout=T) == {}
    assert find_thread_path_by_id_str(home, ids["plain"]) is None
    assert find_archived_thread_path_by_id_str(home, ids["plain"]) is not None
    assert {t["id"] for t in listed(app, archived=True)} == {ids["plain"], ids["archived"]}
    unarchived = app.request("thread/unarchive", {"threadId": ids["archived"]}, timeout=T)["thread"]
    assert unarchived.get("status", {"type": "notLoaded"}) == {"type": "notLoaded"} and unarchived["preview"] == "already archived"
    assert find_thread_path_by_id_str(home, ids["archived"]) is not None
    assert ids["archived"] in {t["id"] for t in listed(app)}


def test_real_binary_accepts_fake_rollouts(codex_app_server, codex_home, codex_responses, codex_binary):
    ids = build(codex_home)
    exercise(codex_app_server, codex_home, ids, codex_responses, codex_binary.version_tuple)


def test_pyfakefs_home_materialized_behaves_the_same(tmp_path, codex_binary, codex_responses, codex_fake_home, fs):
    """codex_binary comes before the fake filesystem: resolving the bundled binary reads package metadata."""
    ids = build(codex_fake_home.path)
    codex_fake_home.write_config(codex_responses)
    real_home = codex_fake_home.materialize(tmp_path / "codex-home")
    fs.pause()  # the subprocess (and our assertions about its disk) live on the real filesystem
    try:
        with AppServerProcess(real_home, codex_bin=codex_binary.path) as app:
            app.initialize()
            exercise(app, real_home, ids, codex_responses, codex_binary.version_tuple)
    finally:
        fs.resume()
