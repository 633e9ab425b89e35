"""``HomeSpec.from_home``: every thread of a home the binary wrote, once, in one spec; ``merge_specs``.

A home is written by the binary in use (``--codex-bin=`` runs it on 0.101.0 or 0.171.0): a named
thread with given times, a tool-call thread, a fork of the named thread and an archived thread.
``from_home`` must give one spec with the four threads (the fork's parent not repeated, matched by
id), names from ``session_index.jsonl``, the archived one archived, in creation order; rebuilt, the
binary serves the same threads, turns, names and lists as it serves from the original.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from codex_fixtures import CodexBinary, HomeSpec, MockResponsesServer, SpecTurn, build_home, merge_specs
from codex_fixtures.homebuild.cache import HomeCache
from codex_fixtures.homebuild.home_threads import home_threads
from codex_fixtures.homebuild.spec import HomeSpecError, RolloutSpecError
from homebuild_observe import observe

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2024, 3, 1, 10, 5, tzinfo=UTC)
T_FORK = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
T_TOOLS = datetime(2024, 3, 3, 8, 0, tzinfo=UTC)
T_OLD = datetime(2023, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def codex_binary(request: pytest.FixtureRequest) -> CodexBinary:
    from codex_fixtures import codex_binary_info, resolve_codex_bin

    return codex_binary_info(resolve_codex_bin(option=request.config.getoption("--codex-bin") or None))


@pytest.fixture(scope="module")
def original(codex_binary: CodexBinary, tmp_path_factory: pytest.TempPathFactory):
    spec = HomeSpec()
    notes = spec.thread(turns=[("hi", "hello"), SpecTurn("later", "yes", at=T1)], name="notes", started_at=T0)
    spec.thread(turns=[SpecTurn("run it", "ran", commands=["echo one"])], approval_policy="never",
                sandbox="danger-full-access", started_at=T_TOOLS)
    spec.fork(notes, turns=[("in fork", "forked")], name="the fork", started_at=T_FORK)
    spec.thread(turns=[("old one", "old")], archived=True, started_at=T_OLD)
    cache = HomeCache(tmp_path_factory.mktemp("cache"))
    built = build_home(spec, tmp_path_factory.mktemp("user") / "home", codex_bin=codex_binary.path, cache=cache)
    return built, cache, spec


def _shape(spec: HomeSpec) -> list[tuple]:
    return [(t.name, t.is_archived, t.parent, [(u.prompt, u.reply) for u in t.turns]) for t in spec.threads]


@pytest.mark.codex_binary
def test_every_thread_of_a_home_once_with_names_forks_and_archive_state(original) -> None:
    built, _, _ = original
    spec = HomeSpec.from_home(built.path)
    assert _shape(spec) == [  # creation order; the fork's parent (read by the fork too) declared once
        (None, True, None, [("old one", "old")]),
        ("notes", False, None, [("hi", "hello"), ("later", "yes")]),
        ("the fork", False, 1, [("in fork", "forked")]),
        (None, False, None, [("run it", "ran")]),
    ]
    tools = spec.threads[3].turns[0].commands
    assert tools != ("echo one",) and "printf" in tools[0]  # a user's home: none of its commands runs by default
    assert HomeSpec.from_home(built.path, run_commands=True).threads[3].turns[0].commands == ("echo one",)
    assert all(t.cwd is None for t in spec.threads)  # and no thread runs in the home's directories


@pytest.mark.codex_binary
def test_a_home_rebuilt_from_itself_serves_what_the_original_serves(original, codex_binary: CodexBinary,
                                                                   tmp_path: Path) -> None:
    built, cache, original_spec = original
    spec = HomeSpec.from_home(built.path, run_commands=True, keep_cwd=True)  # our own home: trusted
    seen = []
    with MockResponsesServer() as server:
        for n, each in enumerate((original_spec, spec)):  # fresh copies of both, pointed at one mock
            home = build_home(each, tmp_path / f"home{n}", codex_bin=codex_binary.path, cache=cache, server=server)
            ids = [t.thread_id for t in home_threads(home.path)]  # creation order: the same threads in the same order
            assert len(ids) == 4
            seen.append(observe(codex_binary, home.path, ids, server, resume=1))
    same = [_calls(view) for view in seen]
    for key in same[0]:  # reply/response/call ids are the build's (numbered by spec position), not the rollout's
        assert same[1][key] == same[0][key], key


def _calls(value: object) -> object:
    return json.loads(re.sub(r'"(call|msg|resp)-[0-9-]+"', r'"<\1>"', json.dumps(value, default=str)))


def test_from_home_of_a_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(RolloutSpecError, match="not a CODEX_HOME directory"):
        HomeSpec.from_home(tmp_path / "missing")
    assert len(HomeSpec.from_home(tmp_path)) == 0  # a home with no thread is an empty spec


def test_merge_specs_repoints_forks_and_declares_a_shared_thread_once() -> None:
    a = HomeSpec()
    root = a.thread(turns=[("hi", "hello")], name="root", started_at=T0)
    a.fork(root, turns=[("a", "x")])
    b = HomeSpec()
    root_b = b.thread(turns=[("hi", "hello")], name="root", started_at=T0)  # the same thread (two rollouts' parent)
    b.fork(root_b, turns=[("b", "y")])
    b.thread(turns=[("same", "same")])
    b.thread(turns=[("same", "same")])  # equal threads of one spec both stay
    merged = merge_specs(a, b)
    assert _shape(merged) == [("root", False, None, [("hi", "hello")]), (None, False, 0, [("a", "x")]),
                              (None, False, 0, [("b", "y")]), (None, False, None, [("same", "same")]),
                              (None, False, None, [("same", "same")])]
    assert merged.threads[0].started_at == T0
    with pytest.raises(HomeSpecError, match="argument 1 is a dict, not a HomeSpec"):
        merge_specs(a, {})  # type: ignore[arg-type]
