"""Rollouts are untrusted input (issue 24, item 7): bounded reads of fork loops, any JSON type, no raw control characters.

Synthetic rollouts in the 0.163+ shape (``forked_from_id`` + ``forked_from_ordinal_exclusive``)
and the 0.101 shape. Each test fails on the code before issue 24: a fork loop was parsed 18
times before the depth limit refused it; a list ``action``, a string ``item``, a list
``ordinal`` or an empty fork cut crashed the reader (``replay`` exited 1 with a traceback);
a rollout's ids and names reached the terminal raw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from codex_fixtures.errors import RolloutFormatError
from codex_fixtures.homebuild import rollout_threads
from codex_fixtures.homebuild.from_rollout import read_rollout_threads, spec_from_rollout
from codex_fixtures.homebuild.spec import RolloutSpecError
from codex_fixtures.repro.cli import main

A = "019a0000-0000-7000-8000-00000000000a"
B = "019a0000-0000-7000-8000-00000000000b"
C = "019a0000-0000-7000-8000-00000000000c"
TS = "2024-03-01T10:00:00.000Z"


def _rec(kind: str, payload: Any, **extra: Any) -> dict[str, Any]:
    return {"timestamp": TS, "type": kind, "payload": payload, **extra}


def _turn(prompt: str, reply: str) -> list[dict[str, Any]]:
    return [_rec("event_msg", {"type": "task_started", "turn_id": "t"}),
            _rec("event_msg", {"type": "user_message", "message": prompt}),
            _rec("response_item", {"type": "message", "role": "assistant",
                                   "content": [{"type": "output_text", "text": reply}]})]


def _write(home: Path, thread_id: str, records: list[dict[str, Any]]) -> Path:
    day = home / "sessions" / "2024" / "03" / "01"
    day.mkdir(parents=True, exist_ok=True)
    path = day / f"rollout-2024-03-01T10-00-00-{thread_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _meta(thread_id: str, **extra: Any) -> dict[str, Any]:
    return _rec("session_meta", {"id": thread_id, "timestamp": TS, "cwd": "/", "cli_version": "0.171.0", **extra})


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = rollout_threads.read_rollout

    def counting(path, *args, **kwargs):
        seen.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(rollout_threads, "read_rollout", counting)
    return seen


def test_a_fork_loop_is_found_by_id_with_each_file_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    a = _write(home, A, [_meta(A, forked_from_id=B, forked_from_ordinal_exclusive=99), *_turn("a", "x")])
    _write(home, B, [_meta(B, forked_from_id=A, forked_from_ordinal_exclusive=99), *_turn("b", "y")])
    parses = _count_parses(monkeypatch)
    with pytest.raises(RolloutSpecError) as info:
        spec_from_rollout(a)
    text = str(info.value)
    assert "fork loop" in text and A in text and B in text and "\n" not in text
    assert len(parses) == 2  # each file once (the old reader parsed them 18 times, all held at once)


def test_a_thread_forked_from_itself_is_a_loop(tmp_path: Path) -> None:
    a = _write(tmp_path / "home", A, [_meta(A, forked_from_id=A, forked_from_ordinal_exclusive=5), *_turn("a", "x")])
    with pytest.raises(RolloutSpecError, match="fork loop"):
        spec_from_rollout(a)


def test_a_parent_named_by_many_forks_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _write(home, A, [_meta(A), *_turn("root", "r")])
    b = _write(home, B, [_meta(B, forked_from_id=A, forked_from_ordinal_exclusive=99), *_turn("b", "y")])
    c = _write(home, C, [_meta(C, forked_from_id=B, forked_from_ordinal_exclusive=99), *_turn("c", "z")])
    parses = _count_parses(monkeypatch)
    threads = read_rollout_threads(c)
    assert [t.thread_id for t in threads] == [A, B, C]
    assert sorted(p.name for p in parses) == sorted({p.name for p in parses})  # no file twice
    del b


def _odd(case: str, home: Path) -> Path:
    """A rollout with one field of a type no binary writes."""
    base = [_meta(A), *_turn("hi", "hello")]
    call = {"type": "function_call", "name": "exec_command", "call_id": "c1", "arguments": json.dumps({"cmd": "ls"})}
    if case == "nested arguments":
        base.append(_rec("response_item", {**call, "arguments": {"cmd": {"nested": ["ls"]}}}))
    elif case == "arguments of a nested string":
        base.append(_rec("response_item", {**call, "arguments": json.dumps(json.dumps({"cmd": "ls"}))}))
    elif case == "list action":
        base.append(_rec("response_item", {"type": "local_shell_call", "call_id": "c2", "action": ["ls"]}))
    elif case == "string item":
        base.append(_rec("event_msg", {"type": "item_completed", "item": "UserMessage"}))
    elif case == "list payload":
        base.append(_rec("event_msg", ["task_started"]))
    elif case == "list content":
        base.append(_rec("response_item", {"type": "message", "role": "assistant", "content": [["text"], 3, None]}))
    elif case == "number message":
        base.append(_rec("event_msg", {"type": "user_message", "message": 42}))
    elif case == "list justification and output":
        base += [_rec("response_item", {**call, "arguments": json.dumps({"cmd": "ls", "justification": ["x"]})}),
                 _rec("response_item", {"type": "function_call_output", "call_id": "c1", "output": ["a", 1]})]
    elif case == "string token info":
        base.append(_rec("event_msg", {"type": "token_count", "info": "lots"}))
    elif case == "list sandbox policy":
        base.insert(1, _rec("turn_context", {"model": ["m"], "sandbox_policy": ["danger"], "approval_policy": 3}))
    elif case == "list ordinal":
        _write(home, B, [_meta(B), *_turn("parent", "p")[:1], {**_turn("parent", "p")[1], "ordinal": [1]}])
        base[0] = _meta(A, forked_from_id=B, forked_from_ordinal_exclusive=5)
    elif case == "empty fork cut":
        _write(home, B, [_meta(B), *_turn("parent", "p")])
        base[0] = _meta(A, forked_from_id=B, forked_from_ordinal_exclusive=0)
    elif case == "bool fork cut":
        _write(home, B, [_meta(B), *_turn("parent", "p")])
        base[0] = _meta(A, forked_from_id=B, forked_from_ordinal_exclusive=True)
    elif case == "list fork id":
        base[0] = _meta(A, forked_from_id=[B])
    return _write(home, A, base)


ODD = ["nested arguments", "arguments of a nested string", "list action", "string item", "list payload", "list content",
       "number message", "list justification and output", "string token info", "list sandbox policy", "list ordinal",
       "empty fork cut", "bool fork cut", "list fork id"]
REFUSED = {"list ordinal": "ordinal is list, not an integer", "empty fork cut": "a fork cut at ordinal 0 keeps nothing"}


@pytest.mark.parametrize("case", ODD)
def test_a_field_of_an_odd_type_is_read_as_absent_or_refused_in_one_line(tmp_path: Path, case: str) -> None:
    path = _odd(case, tmp_path / "home")
    if case in REFUSED:
        with pytest.raises(RolloutSpecError) as info:
            spec_from_rollout(path)
        assert REFUSED[case] in str(info.value) and "\n" not in str(info.value)
        assert isinstance(info.value, RolloutFormatError)
        return
    spec = spec_from_rollout(path)  # never a TypeError / AttributeError / IndexError
    assert spec.threads[-1].turns[0].prompt == "hi"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_replay_of_an_odd_rollout_is_one_line_exit_2(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _odd(case, tmp_path / "home")
    rc = main(["replay", str(path), "--codex-bin", str(tmp_path / "no-such-codex")])  # fails before any binary
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and err.count("\n") == 1 and err.startswith("codex-repro: error: ")
    assert "Traceback" not in err


ESC = "\x1b]0;pwned\x07\x1b[2J"


def test_control_characters_from_a_rollout_never_reach_the_terminal(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from codex_fixtures.repro.replay import ReplayReport, load_replay

    home = tmp_path / "home"
    path = _write(home, A, [_rec("session_meta", {"id": A, "timestamp": TS, "cli_version": f"0.1{ESC}"}),
                            *_turn("hi", "hello")])
    (home / "session_index.jsonl").write_text(json.dumps({"id": A, "thread_name": f"name{ESC}\u202e"}) + "\n")
    plan = load_replay(path)
    text = ReplayReport(results=[], binaries=[], scenarios=[], plan=plan).to_text()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\\x1b" in text
    loop = _write(home, B, [_meta(B, forked_from_id=f"{C}{ESC}"), *_turn("b", "y")])  # an error line names the id
    rc = main(["replay", str(loop), "--codex-bin", str(tmp_path / "no-such-codex")])
    _, err = capsys.readouterr()
    assert rc == 2 and "\x1b" not in err and "\x07" not in err and err.count("\n") == 1


def _outputs(path: Path) -> list[tuple[str | None, int | None]]:
    from codex_fixtures.homebuild.rollout_turns import read_turns

    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [turn.recorded(i) for turn in read_turns(records) for i in range(len(turn.commands))]


@pytest.mark.codex_binary
def test_by_default_a_rollouts_commands_do_not_run_and_their_recorded_output_is_kept(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Fails before issue 24: the default ran the rollout's commands (the marker came back) in the rollout's cwd."""
    from codex_fixtures import HomeSpec, SpecTurn, build_home
    from codex_fixtures.homebuild.cache import HomeCache
    from homebuild_observe import rollout_of

    codex_bin = request.config.getoption("--codex-bin") or None
    work = tmp_path / "work"
    work.mkdir()
    marker = work / "ran.txt"
    spec = HomeSpec()
    ref = spec.thread(turns=[SpecTurn("go", "done", commands=[f"touch {marker} && echo made", "echo failing; exit 3"])],
                      cwd=work, approval_policy="never", sandbox="danger-full-access")
    cache = HomeCache(tmp_path / "cache")
    original = build_home(spec, tmp_path / "original", codex_bin=codex_bin, cache=cache)
    path = rollout_of(original.path, original.id(ref))
    assert marker.exists()  # the binary ran them once, to write the rollout
    marker.unlink()
    recorded = _outputs(path)
    assert recorded == [("made\n", 0), ("failing\n", 3)]

    again = HomeSpec.from_rollout(path)
    assert again.threads[0].cwd is None  # not the rollout's directory
    assert all(str(marker) not in c for t in again.threads[0].turns for c in t.commands)
    rebuilt = build_home(again, tmp_path / "rebuilt", codex_bin=codex_bin, cache=cache)
    new_path = rollout_of(rebuilt.path, rebuilt.id(again.refs()[0]))
    assert not marker.exists()  # nothing of the rollout ran
    assert _outputs(new_path) == recorded  # the model saw what it saw the first time
    meta = json.loads(new_path.read_text().splitlines()[0])["payload"]
    assert meta["cwd"] != str(work)


def test_a_fork_loop_in_the_0_101_shape_is_found_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """0.101 copies the parent's records after a second session_meta; a loop of such copies is refused too."""
    home = tmp_path / "home"
    a_meta, b_meta = _meta(A, forked_from_id=B), _meta(B, forked_from_id=A)
    a = _write(home, A, [a_meta, b_meta, *_turn("b", "y"), *_turn("a", "x")])
    _write(home, B, [b_meta, a_meta, *_turn("a", "x"), *_turn("b", "y")])
    parses = _count_parses(monkeypatch)
    with pytest.raises(RolloutSpecError, match="fork loop"):
        spec_from_rollout(a)
    assert len(parses) <= 2


def test_a_lone_surrogate_in_a_homes_rollout_is_one_line_naming_the_file(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    path = _write(home, A, [_meta(A), *_turn("hi \udcff", "x")])
    rc = main(["replay", str(home), "--codex-bin", str(tmp_path / "no-such-codex")])
    _, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and str(path) in err and "lone surrogate" in err
