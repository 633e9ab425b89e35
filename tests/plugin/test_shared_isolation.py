"""``codex_shared``: a test's turns do not reach into the next test (issue 25, Build 4).

In-process pytester suites against the REAL binary: a test that returns while
its turn is still running (the model asked for a command; the follow-up request
comes after the test ended) must not take the next test's scripted reply nor
show up in its log; under ``strict`` the test that left the turn running is the
one that fails, saying so; a shared server hidden inside an object the plugin
cannot look into is an error, not a silent skip.
"""

from __future__ import annotations

import pytest

real = pytest.mark.codex_binary

CONFTEST = '''
import pytest


@pytest.fixture(scope="module")
def gateway(codex_shared):
    with codex_shared.scope() as scope:
        mock = scope.mock()
        app = scope.app_server(scope.home(mock))
        yield mock, app
'''

LEAVES_A_TURN = '''
import pytest
from codex_fixtures import AppServerTimeoutError, create_exec_command_sse_response

GO = {go!r}
WAIT_FOR_GO = f"while [ ! -e {{GO}} ]; do sleep 0.05; done"


@pytest.mark.codex(responses=[create_exec_command_sse_response(WAIT_FOR_GO)], strict={strict})
def test_one_returns_while_its_turn_runs(gateway):
    mock, app = gateway
    thread = app.request("thread/start", {{}})["thread"]
    app.request("turn/start", {{"threadId": thread["id"], "input": [{{"type": "text", "text": "run it"}}]}})
    mock.wait_for_requests(1, timeout=30)  # the command runs until test two says go; its output goes to the model then


@pytest.mark.codex(responses=["second test's reply"])
def test_two_gets_its_own_reply(gateway):
    mock, app = gateway
    open(GO, "w").close()  # test one's command (if it still runs) ends now and its turn asks the model again
    try:
        app.read_stream_until_notification_message("item/completed", timeout=3,
                                                   predicate=lambda n: n.params["item"]["type"] == "commandExecution")
    except AppServerTimeoutError:
        pass  # test one's turn was interrupted at its end: nothing comes
    thread = app.request("thread/start", {{}})["thread"]
    turn = app.run_turn(thread["id"], "hello", timeout=30)
    assert turn["status"] == "completed", turn
    assert [r.user_prompts()[-1] for r in mock.requests] == ["hello"]
    texts = [i.get("text") for i in app.request("thread/read", {{"threadId": thread["id"], "includeTurns": True}})["thread"]["turns"][-1]["items"]]
    assert "second test's reply" in texts
'''


@real
def test_a_turn_left_running_fails_its_own_test_not_the_next(pytester):
    # on main: test one passes, its follow-up request lands in test two's log and takes its reply: two fails (500)
    pytester.makeconftest(CONFTEST)
    # not test_turns.py: in process, the suite's own tests/magics/test_turns.py is already that module
    pytester.makepyfile(test_left_turns=LEAVES_A_TURN.format(strict=True, go=str(pytester.path / "go")))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    text = result.stdout.str()
    assert "ERROR at teardown of test_one_returns_while_its_turn_runs" in text
    assert "left 1 turn running" in text


@real
def test_without_strict_the_running_turn_is_interrupted_quietly(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_left_turns=LEAVES_A_TURN.format(strict=False, go=str(pytester.path / "go")))
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)


HIDDEN = '''
import pytest


class Gateway:
    __slots__ = ("parts",)  # no __dict__: the plugin cannot look inside

    def __init__(self, *parts):
        self.parts = parts


@pytest.fixture(scope="module")
def hidden(codex_shared):
    with codex_shared.scope() as scope:
        mock = scope.mock()
        yield Gateway(mock, scope.app_server(scope.home(mock)))


@pytest.fixture(scope="module")
def unrelated(codex_shared):
    return Gateway("no shared server in here")


@pytest.mark.codex(reply="marker reply")
def test_uses_a_hidden_server(hidden):
    pass


def test_also_uses_it(hidden, unrelated):
    pass


def test_an_object_without_a_shared_server_is_fine(unrelated):
    pass
'''


@real
def test_a_shared_server_the_plugin_cannot_see_is_an_error(pytester):
    # on main the marker's reply and the strict check were silently skipped and the test passed
    pytester.makepyfile(test_hidden=HIDDEN)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(errors=2, passed=1)  # the two tests using `hidden`; `unrelated` holds no shared server
    assert "cannot see which shared mock fixture 'hidden' holds" in result.stdout.str()
