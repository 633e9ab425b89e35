"""HomeSpec: what a spec may say, and the one-line errors for what the binary could never realize (no binary runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from codex_fixtures import CodexFixturesError, HomeSpec, SpecCommand, SpecTurn, SpecUsage
from codex_fixtures.homebuild.drive import EXEC_TOOL, queue_turn
from codex_fixtures.homebuild.spec import HomeSpecError

UTC = UTC


def test_turns_are_pairs_or_spec_turns_and_refs_name_threads() -> None:
    spec = HomeSpec()
    a = spec.thread(turns=[("hi", "hello"), SpecTurn("ls", "done", commands=["ls"])], name="notes")
    f = spec.fork(a, turns=[("more", "ok")])
    assert [t.label for t in spec.threads] == ["thread 0 'notes'", "thread 1 (fork)"]
    assert spec.thread_of(f).parent == 0
    assert spec.threads[0].turns[1].commands == ("ls",)
    assert spec.needs_tools
    assert spec.refs() == (a, f)


def test_spec_turn_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        SpecTurn("p", "r", ("ls",))  # type: ignore[misc]
    assert SpecTurn("p", "r", commands="ls").commands == ("ls",)


def test_equal_specs_have_one_canonical_form_and_different_ones_do_not() -> None:
    def make(reply: str) -> HomeSpec:
        spec = HomeSpec()
        spec.thread(turns=[("hi", reply)], started_at=datetime(2024, 1, 1, tzinfo=UTC))
        return spec

    assert make("a").canonical_json() == make("a").canonical_json()
    assert make("a").canonical_json() != make("b").canonical_json()


@pytest.mark.parametrize(
    ("declare", "expected"),
    [
        (lambda s: s.fork(HomeSpec().thread()), "thread 0 (fork): the parent thread 0 is a ref from another HomeSpec"),
        (lambda s: s.thread(started_at=datetime(2024, 1, 1)), "thread 0: started_at is 2024-01-01T00:00:00 without a time zone"),
        (lambda s: s.thread(turns=[SpecTurn("p", "r", at=datetime(2024, 1, 1))]), "without a time zone"),
        (lambda s: s.thread(approval_policy="sometimes"), "thread 0: approval_policy 'sometimes' is not one of"),
        (lambda s: s.thread(sandbox="open"), "thread 0: sandbox 'open' is not one of"),
        (lambda s: s.thread(cwd="relative/dir"), "thread 0: cwd 'relative/dir' is not absolute"),
        (lambda s: s.thread(turns=["hi"]), "thread 0: a turn is ('prompt', 'reply') or SpecTurn(...)"),
        (lambda s: s.thread(turns="hi"), "thread 0: turns is a list of turns, not a string"),
        (lambda s: s.thread(name=""), "thread 0: name must be a non-empty string"),
        (lambda s: s.thread(started_at=datetime(2024, 1, 2, tzinfo=UTC),
                            turns=[SpecTurn("p", "r", at=datetime(2024, 1, 1, tzinfo=UTC))]), "thread 0: turn 0 at 2024-01-01"),
    ],
)
def test_a_spec_the_binary_cannot_realize_is_one_line_naming_the_thread(declare, expected: str) -> None:
    spec = HomeSpec()
    with pytest.raises(HomeSpecError) as info:
        declare(spec)
    message = str(info.value)
    assert expected in message and "\n" not in message
    assert isinstance(info.value, CodexFixturesError) and isinstance(info.value, ValueError)
    assert len(spec) == 0  # nothing was added


def test_a_fork_before_its_parent_ends_is_refused() -> None:
    spec = HomeSpec()
    a = spec.thread(turns=[SpecTurn("p", "r", at=datetime(2024, 1, 2, tzinfo=UTC))])
    with pytest.raises(HomeSpecError, match=r"thread 1 \(fork\): started_at .* is before the parent's last time"):
        spec.fork(a, started_at=datetime(2024, 1, 1, tzinfo=UTC))
    spec.fork(a, started_at=datetime(2024, 1, 2, tzinfo=timezone(timedelta(hours=-1))))  # later, in another zone


def test_a_command_on_a_binary_that_offers_no_exec_command_names_the_thread() -> None:
    """The tool offer is known from the first request of the turn: the check answers with the final reply and says why."""

    class Server:
        def __init__(self) -> None:
            self.queued: list = []

        def enqueue(self, body, **_: object) -> None:
            self.queued.append(body)

    class Request:
        def __init__(self, tools: list[str]) -> None:
            self.body_json = {"tools": [{"type": "function", "name": n} for n in tools]}

    spec = HomeSpec()
    spec.thread(turns=[SpecTurn("ls", "done", commands=["ls"])], name="tools")
    server, missing = Server(), []
    queue_turn(server, spec.threads[0], 0, spec.threads[0].turns[0], missing)  # type: ignore[arg-type]
    check = server.queued[0]
    assert EXEC_TOOL in check(Request([EXEC_TOOL, "view_image"])) and not missing
    assert "done" in check(Request(["shell_command", "view_image"]))
    assert missing == ["thread 0 'tools': the binary offers no exec_command (offered: shell_command, view_image)"]


# ---------------------------------------------------------------------------- issue 24: usage, justification, archive time
def test_commands_take_strings_spec_commands_and_pairs_and_hash_their_justification() -> None:
    turn = SpecTurn("p", "r", commands=["ls", ("make", "build it"), SpecCommand("pwd", justification="where")])
    assert turn.commands == ("ls", SpecCommand("make", "build it"), SpecCommand("pwd", "where"))
    assert [c.justification for c in turn.commands] == [None, "build it", "where"]
    assert turn.commands[1] != "make" and turn.commands[0] == "ls"  # a justified command is not its bare string
    assert turn.canonical()["commands"] == ["ls", {"cmd": "make", "justification": "build it"},
                                            {"cmd": "pwd", "justification": "where"}]
    plain = SpecTurn("p", "r", commands=[("make", "other")])
    assert plain.canonical() != SpecTurn("p", "r", commands=[("make", "build it")]).canonical()


def test_usage_is_a_spec_usage_or_a_mapping_and_goes_into_the_cache_key() -> None:
    turn = SpecTurn("p", "r", usage={"input_tokens": 100, "cached_input_tokens": 40, "output_tokens": 7})
    assert turn.usage == SpecUsage(100, 40, 7, 0) and turn.usage.total_tokens == 107
    assert turn.canonical()["usage"] == {"input_tokens": 100, "cached_input_tokens": 40, "output_tokens": 7,
                                         "reasoning_output_tokens": 0}
    assert SpecTurn("p", "r").canonical() == {"prompt": "p", "reply": "r"}  # no usage: the key of today's specs


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"input": 1}, "usage has no key 'input'"),
        ({"output_tokens": 1}, "usage needs input_tokens"),
        ({"input_tokens": -1}, "usage input_tokens must be a whole number >= 0"),
        ({"input_tokens": 1, "cached_input_tokens": 2}, "cached_input_tokens 2 exceeds input_tokens 1"),
        ({"input_tokens": 1, "output_tokens": 1, "reasoning_output_tokens": 2}, "reasoning_output_tokens 2 exceeds"),
        (5, "usage is a SpecUsage or a mapping"),
    ],
)
def test_bad_usage_is_one_line(usage: object, expected: str) -> None:
    with pytest.raises(HomeSpecError, match=expected):
        SpecTurn("p", "r", usage=usage)  # type: ignore[arg-type]


def test_archived_takes_a_time_not_before_the_threads_last_time() -> None:
    spec = HomeSpec()
    t0 = datetime(2024, 3, 1, 9, tzinfo=UTC)
    ref = spec.thread(turns=[SpecTurn("p", "r", at=t0)], archived=t0 + timedelta(hours=1))
    thread = spec.thread_of(ref)
    assert thread.is_archived and thread.archived_at == t0 + timedelta(hours=1)
    assert thread.canonical()["archived"] == "2024-03-01T10:00:00.000000Z"
    assert not spec.thread_of(spec.thread()).is_archived
    with pytest.raises(HomeSpecError, match=r"thread 2: archived 2024-03-01T08:00:00\+00:00 is before the thread's last time"):
        spec.thread(turns=[SpecTurn("p", "r", at=t0)], archived=t0 - timedelta(hours=1))
    with pytest.raises(HomeSpecError, match="thread 2: archived is 2024-03-01T09:00:00 without a time zone"):
        spec.thread(archived=datetime(2024, 3, 1, 9))
    with pytest.raises(HomeSpecError, match="thread 2: archived is True/False or a datetime"):
        spec.thread(archived="yes")  # type: ignore[arg-type]


def test_one_instant_in_two_zones_hashes_alike() -> None:
    def make(when: datetime) -> str:
        spec = HomeSpec()
        spec.thread(started_at=when)
        return spec.canonical_json()

    assert make(datetime(2024, 3, 1, 9, tzinfo=UTC)) == make(datetime(2024, 3, 1, 10, tzinfo=timezone(timedelta(hours=1))))


@pytest.mark.parametrize(
    ("declare", "expected"),
    [
        (lambda s: s.thread(turns=[("hi\ud800", "r")]), "thread 0: a turn's prompt has a lone surrogate U+D800"),
        (lambda s: s.thread(turns=[("hi", "r\udfff")], name="n"), "thread 0 'n': turn 'hi': reply has a lone surrogate U+DFFF"),
        (lambda s: s.thread(name="n\udc00"), "thread 0 'n\\udc00': name has a lone surrogate U+DC00"),
        (lambda s: s.thread(turns=[SpecTurn("p", "r", commands=[("ls", "why\ud800")])]), "justification has a lone surrogate"),
        (lambda s: s.fork(s.thread(), turns=[("x\ud801", "r")]), "thread 1 (fork): a turn's prompt has a lone surrogate"),
    ],
)
def test_a_lone_surrogate_is_refused_when_declared_naming_the_thread(declare, expected: str) -> None:
    """Fails on main: the spec took it and the build failed mid-drive (issue 24, item 8)."""
    spec = HomeSpec()
    with pytest.raises(HomeSpecError) as info:
        declare(spec)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_every_reply_of_a_spec_has_its_own_ids_stable_per_spec_position() -> None:
    """Main gave every final reply ``resp-1`` / ``msg-1``: two answers of a thread shared one id."""
    import json as _json

    from codex_fixtures.mock.sse import parse_sse

    class Server:
        def __init__(self) -> None:
            self.queued: list = []

        def enqueue(self, body, **_: object) -> None:
            self.queued.append(body)

    def bodies() -> list[str]:
        spec = HomeSpec()
        spec.thread(turns=[SpecTurn("a", "b", usage={"input_tokens": 9, "output_tokens": 2}), ("c", "d")])
        spec.thread(turns=[SpecTurn("e", "f", commands=[("ls", "to list")])])
        server = Server()
        for thread in spec.threads:
            for n, turn in enumerate(thread.turns):
                queue_turn(server, thread, n, turn, [])  # type: ignore[arg-type]
        return [b if isinstance(b, str) else b(type("R", (), {"body_json": {"tools": [{"name": EXEC_TOOL}]}})())
                for b in server.queued]

    first, again = bodies(), bodies()
    assert first == again  # a rebuild sends the same replies
    events = [parse_sse(body) for body in first]
    responses = [e["response"]["id"] for ev in events for e in ev if e["type"] == "response.completed"]
    items = [e["item"].get("id") or e["item"].get("call_id") for ev in events for e in ev
             if e["type"] == "response.output_item.done"]
    assert len(responses) == len(set(responses)) == 4 and len(items) == len(set(items)) == 4
    assert responses[0] == "resp-0-0" and "msg-0-1" in items and "call-1-0-0" in items
    usage = next(e["response"]["usage"] for e in events[0] if e["type"] == "response.completed")
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (9, 2, 11)
    call = next(e["item"] for e in events[2] if e["type"] == "response.output_item.done")
    assert _json.loads(call["arguments"]) == {"cmd": "ls", "sandbox_permissions": "use_default", "justification": "to list"}
