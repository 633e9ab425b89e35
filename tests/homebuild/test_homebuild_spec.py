"""HomeSpec: what a spec may say, and the one-line errors for what the binary could never realize (no binary runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from codex_fixtures import CodexFixturesError, HomeSpec, SpecTurn
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
