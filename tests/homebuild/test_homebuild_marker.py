"""Downstream style: ``@pytest.mark.codex(home=spec)`` gives a test a home the binary wrote, ready for the next step."""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, BuiltHome, CodexBinary, FakeCodexHome, HomeSpec, SpecTurn, build_home
from codex_fixtures.homebuild.cache import CACHE_ENV, HomeCache

SPEC = HomeSpec()
NOTES = SPEC.thread(turns=[("hi", "hello")], name="notes")
TOOL = SPEC.thread(turns=[SpecTurn("look", "looked", commands=["echo hi"])])
FORK = SPEC.fork(NOTES, turns=[("more", "ok")])
OLD = SPEC.thread(turns=[("old one", "old")], archived=True)


@pytest.fixture(autouse=True)
def _home_cache_of_this_run(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path_factory.getbasetemp() / "home-cache"))


@pytest.mark.codex_binary
@pytest.mark.codex(home=SPEC, reply="again")
def test_the_marker_fills_codex_home_from_a_spec(codex_home: Path, codex_built_home: BuiltHome,
                                                 codex_app_server: AppServerProcess, codex_binary: CodexBinary) -> None:
    assert codex_built_home.path == codex_home
    listed = {t["id"]: t for t in codex_app_server.request("thread/list", {})["data"]}
    assert set(listed) == {codex_built_home.id(NOTES), codex_built_home.id(TOOL), codex_built_home.id(FORK)}
    archived = codex_app_server.request("thread/list", {"archived": True})["data"]
    assert [t["id"] for t in archived] == [codex_built_home.id(OLD)]
    tool_turns = codex_app_server.request("thread/read", {"threadId": codex_built_home.id(TOOL), "includeTurns": True})
    items = [i["type"] for i in tool_turns["thread"]["turns"][0]["items"]]
    if codex_binary.version_tuple >= (0, 163, 0):  # 0.101 serves no command items from a rollout
        assert items == ["userMessage", "commandExecution", "agentMessage"]
    else:
        assert items == ["userMessage", "agentMessage"]
    thread_id = codex_built_home.id(NOTES)
    codex_app_server.request("thread/resume", {"threadId": thread_id})
    turn = codex_app_server.run_turn(thread_id, "and now?", 60)  # answered by codex_responses: the config points there
    assert turn["status"] == "completed"
    if codex_binary.version_tuple >= (0, 163, 0):  # 0.101's turn/completed carries no items
        assert [i.get("text") for i in turn["items"] if i["type"] == "agentMessage"] == ["again"]


def test_the_marker_refuses_what_is_not_a_spec_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.codex(home={"threads": []})
        def test_x(codex_home):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=0, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.codex: home must be a HomeSpec, got dict*"])


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BuiltHome:
    return build_home(SPEC, tmp_path_factory.mktemp("built") / "home", codex_bin=request.config.getoption("--codex-bin") or None,
                      cache=HomeCache(tmp_path_factory.mktemp("cache")))


@pytest.mark.codex_binary
def test_a_fake_home_takes_a_built_home_for_pyfakefs_readers(built: BuiltHome, codex_fake_home: FakeCodexHome) -> None:
    codex_fake_home.copy_from(built.path)
    assert sorted(codex_fake_home.thread_ids()) == sorted([built.id(NOTES), built.id(TOOL), built.id(FORK)])
    assert codex_fake_home.thread_ids(archived=True) == [built.id(OLD)]
    assert (codex_fake_home.path / "session_index.jsonl").exists()
