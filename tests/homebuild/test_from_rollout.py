"""``HomeSpec.from_rollout``: rollouts the binary wrote read back into specs that rebuild the same threads.

One home is built on the binary in use (``--codex-bin=`` runs it on 0.101.0 or 0.171.0) with a named
thread with given times, a tool-call thread (on-request, approved), a fork of the named thread and an
archived thread. Each rollout is read back; the spec must hold the same prompts, replies, commands,
settings, times (to the second), name, archive state and fork parent; rebuilt on the same binary, each
thread has the record kinds of the original, the same turns and the same file name. Bad input is one
line naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from codex_fixtures import CodexBinary, HomeSpec, SpecTurn, build_home, rollout_record_kinds
from codex_fixtures.errors import RolloutFormatError
from codex_fixtures.homebuild.cache import HomeCache
from codex_fixtures.homebuild.from_rollout import read_rollout_threads, spec_from_rollout, stand_in_command
from codex_fixtures.homebuild.spec import HomeSpecError, RolloutSpecError
from homebuild_observe import rollout_of

pytestmark = pytest.mark.codex_binary
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2024, 3, 1, 10, 5, tzinfo=UTC)
T_FORK = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
T_OLD = datetime(2023, 1, 1, tzinfo=UTC)
COMMANDS = ("echo one", "printf '%s\\n' two")


def original_spec() -> tuple[HomeSpec, dict]:
    spec = HomeSpec()
    notes = spec.thread(turns=[("hi", "hello"), SpecTurn("later", "yes", at=T1)], name="notes", started_at=T0)
    tools = spec.thread(turns=[SpecTurn("run it", "ran", commands=COMMANDS)], approval_policy="on-request",
                        sandbox="read-only")
    fork = spec.fork(notes, turns=[("in fork", "forked")], started_at=T_FORK)
    old = spec.thread(turns=[("old one", "old")], archived=True, started_at=T_OLD)
    return spec, {"notes": notes, "tools": tools, "fork": fork, "old": old}


@pytest.fixture(scope="module")
def codex_binary(request: pytest.FixtureRequest) -> CodexBinary:  # module scope for the module-scoped home
    from codex_fixtures import codex_binary_info, resolve_codex_bin

    return codex_binary_info(resolve_codex_bin(option=request.config.getoption("--codex-bin") or None))


@pytest.fixture(scope="module")
def original(codex_binary: CodexBinary, tmp_path_factory: pytest.TempPathFactory):
    spec, refs = original_spec()
    cache = HomeCache(tmp_path_factory.mktemp("cache"))
    built = build_home(spec, tmp_path_factory.mktemp("original") / "home", codex_bin=codex_binary.path, cache=cache)
    paths = {key: rollout_of(built.path, built.id(ref)) for key, ref in refs.items()}
    return built, paths, cache


def second(when: datetime | None) -> datetime | None:
    return when.replace(microsecond=0) if when is not None else None


def conversation(spec: HomeSpec, index: int = -1) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(t.prompt, t.reply, tuple(str(c) for c in t.commands)) for t in spec.threads[index].turns]


def test_a_named_thread_with_times_reads_back(original) -> None:
    _, paths, _ = original
    spec = HomeSpec.from_rollout(paths["notes"])
    (thread,) = spec.threads
    assert conversation(spec) == [("hi", "hello", ()), ("later", "yes", ())]
    assert thread.name == "notes" and not thread.archived and thread.parent is None
    assert second(thread.started_at) == T0 and second(thread.turns[1].at) == T1
    assert thread.cwd is None  # a rollout's directory is not used unless asked (issue 24.7)
    kept = HomeSpec.from_rollout(paths["notes"], keep_cwd=True).threads[0].cwd
    assert kept == os.path.realpath(kept) and os.path.isdir(kept)  # the build's default cwd exists here
    assert (thread.approval_policy, thread.sandbox) == ("never", "read-only")  # what the binary wrote of the config


def test_a_tool_call_thread_reads_back_with_its_commands_and_settings(original) -> None:
    _, paths, _ = original
    spec = spec_from_rollout(paths["tools"], run_commands=True)
    assert conversation(spec) == [("run it", "ran", COMMANDS)]
    assert [c.justification for c in spec.threads[0].turns[0].commands] == ["spec", "spec"]  # what the model said
    assert (spec.threads[0].approval_policy, spec.threads[0].sandbox) == ("on-request", "read-only")
    assert conversation(spec_from_rollout(paths["tools"], stand_in_commands=False)) == conversation(spec)  # the old switch
    recorded = ("one\n", "two\n")  # what the commands printed when the binary ran them
    stand_ins = tuple(stand_in_command(c, out, 0) for c, out in zip(COMMANDS, recorded, strict=True))
    for default in (spec_from_rollout(paths["tools"]), spec_from_rollout(paths["tools"], stand_in_commands=True)):
        assert conversation(default) == [("run it", "ran", stand_ins)]  # by default nothing of a rollout runs


def test_a_fork_reads_back_with_its_parent_up_to_the_fork(original) -> None:
    _, paths, _ = original
    spec = spec_from_rollout(paths["fork"])
    parent, fork = spec.threads
    assert fork.parent == parent.index == 0
    assert conversation(spec, 0) == [("hi", "hello", ()), ("later", "yes", ())]
    assert conversation(spec, 1) == [("in fork", "forked", ())]
    assert parent.name == "notes" and fork.name is None  # a name the fork inherited (0.163+) is left to the binary
    assert second(fork.started_at) == T_FORK and second(parent.turns[1].at) == T1


def test_an_archived_thread_reads_back_archived(original) -> None:
    _, paths, _ = original
    spec = spec_from_rollout(paths["old"])
    assert conversation(spec) == [("old one", "old", ())]
    assert spec.threads[0].archived and second(spec.threads[0].started_at) == T_OLD


@pytest.mark.parametrize("key", ["notes", "tools", "fork", "old"])
def test_a_rebuilt_thread_is_the_original(original, codex_binary: CodexBinary, tmp_path: Path, key: str) -> None:
    built, paths, cache = original
    spec = spec_from_rollout(paths[key], run_commands=True, keep_cwd=True)  # our own rollouts: trusted
    again = build_home(spec, tmp_path / "home", codex_bin=codex_binary.path, cache=cache)
    path = rollout_of(again.path, again.id(spec.refs()[-1]))
    assert rollout_record_kinds(path) == rollout_record_kinds(paths[key])  # a tool-call thread too
    before, after = read_rollout_threads(paths[key]), read_rollout_threads(path)
    assert [[(t.prompt, t.reply, t.commands) for t in th.turns] for th in after] == \
           [[(t.prompt, t.reply, t.commands) for t in th.turns] for th in before]
    assert [second(t.started_at) for t in after] == [second(t.started_at) for t in before]
    assert [(t.name, t.archived) for t in after] == [(t.name, t.archived) for t in before]
    assert path.name[:27] == paths[key].name[:27]  # rollout-<the same start time>-
    assert path.relative_to(again.path).parts[0] == paths[key].relative_to(built.path).parts[0]  # archived or not
    if key == "fork":
        meta = json.loads(path.read_text().splitlines()[0])["payload"]
        assert meta["forked_from_id"] == again.id(spec.refs()[0])


def test_a_fork_alone_needs_its_parent_from_0_163_on(original, codex_binary: CodexBinary, tmp_path: Path) -> None:
    _, paths, _ = original
    alone = tmp_path / paths["fork"].name
    shutil.copyfile(paths["fork"], alone)
    if codex_binary.version_tuple >= (0, 163, 0):  # the fork's file holds only its own records
        with pytest.raises(RolloutSpecError) as info:
            spec_from_rollout(alone)
        assert str(info.value).startswith(f"{alone}:1: a fork of thread ") and "\n" not in str(info.value)
        shutil.copyfile(paths["notes"], tmp_path / paths["notes"].name)  # its parent beside it is enough
    spec = spec_from_rollout(alone)
    assert [conversation(spec, i) for i in (0, 1)] == [[("hi", "hello", ()), ("later", "yes", ())], [("in fork", "forked", ())]]
    if codex_binary.version_tuple < (0, 163, 0):  # 0.101: the parent's turns come from the copy in the fork's file
        assert [t.at for t in spec.threads[0].turns] == [None, None]  # the copy's times are the fork's: not taken


def _text(content: str):
    def make(path: Path) -> Path:
        path.write_text(content)
        return path
    return make


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


BAD = {
    "empty": (_text(""), "0", "empty file: not a rollout"),
    "not-json": (_text("hello\n"), "1", "not JSON"),
    "no-session-meta": (_text('{"type": "event_msg", "payload": {}}\n'), "1",
                        "first record is 'event_msg', expected 'session_meta'"),
    "no-user-turn": (_text('{"timestamp": "2024-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": "x"}}\n'),
                     "0", "no user turn"),
    "no-thread-id": (_text('{"type": "session_meta", "payload": {}}\n'), "1", "session_meta has no thread id"),
    "directory": (_dir, "0", "not a regular file (a directory)"),
    "fifo": (_fifo, "0", "not a regular file (a FIFO)"),
    "missing": (lambda path: path, "0", "no such file"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    make, line, reason = BAD[case]
    path = make(tmp_path / f"{case}.jsonl")
    with pytest.raises(HomeSpecError) as info:  # a RolloutSpecError: a HomeSpecError and a RolloutFormatError
        HomeSpec.from_rollout(path)
    text = str(info.value)
    assert isinstance(info.value, RolloutFormatError) and info.value.path == path
    assert "\n" not in text and text.startswith(f"{path}: " if line == "0" else f"{path}:{line}: ")
    assert reason in text
