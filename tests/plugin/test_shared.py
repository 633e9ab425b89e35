"""``codex_shared``: module- and session-scoped mocks, homes, app-servers and launches; per-test view.

The suites run in-process with pytester against the REAL binary: shared objects
outlive a test (same pid), each test starts with an empty request log and its
own script, the strict check runs per test, scopes close at their end.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from codex_fixtures import CodexShared
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.repro.shared import begin_test, check_test

real = pytest.mark.codex_binary

CONFTEST = '''
import json, os
import pytest


def record(**data):
    with open(os.environ["SHARED_RECORD"], "a") as f:
        f.write(json.dumps(data) + "\\n")


@pytest.fixture(scope="module")
def gateway(codex_shared):
    with codex_shared.scope() as scope:
        mock = scope.mock(reply="module reply")
        app = scope.app_server(scope.home(mock))
        yield mock, app


@pytest.fixture(scope="session")
def backend(codex_shared):
    return codex_shared.app_server()
'''

MODULE_A = '''
import pytest
from conftest import record


def run_turn(app, text):
    thread = app.request("thread/start", {})["thread"]
    app.run_turn(thread["id"], text)
    return thread["id"]


def test_one(gateway, backend):
    mock, app = gateway
    assert mock.requests == []
    run_turn(app, "first")
    assert len(mock.requests) == 1 and mock.requests[0].user_prompts()[-1] == "first"
    record(test="one", pid=app.pid, backend=backend.pid)


@pytest.mark.codex(reply="per-test reply")
def test_two_sees_only_its_own_requests(gateway, backend):
    mock, app = gateway
    assert mock.requests == []
    thread_id = run_turn(app, "second")
    assert len(mock.requests) == 1
    items = app.request("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]["turns"][-1]["items"]
    assert any(i.get("text") == "per-test reply" for i in items)
    record(test="two", pid=app.pid, backend=backend.pid)


@pytest.mark.codex(responses=["a", "b"])
def test_three_leaves_a_reply_unused(gateway):
    mock, app = gateway
    run_turn(app, "only one")


def test_four_is_clean_again(gateway):
    mock, app = gateway
    assert mock.requests == [] and mock.script.pending == []
    record(test="four", pid=app.pid)


def test_five_fails_and_shows_the_shared_objects(gateway):
    mock, app = gateway
    run_turn(app, "before failing")
    assert False, "deliberate"
'''

MODULE_B = '''
from conftest import record


def test_other_module(gateway, backend):
    mock, app = gateway
    assert mock.requests == []
    record(test="b", pid=app.pid, backend=backend.pid)
'''


@real
def test_module_and_session_scopes_share_servers_and_keep_tests_apart(pytester, tmp_path, monkeypatch):
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("SHARED_RECORD", str(record))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a=MODULE_A, test_b=MODULE_B)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=1, errors=1)  # three passes its body, errors at teardown
    rows = {r["test"]: r for r in map(json.loads, record.read_text().splitlines())}
    assert rows["one"]["pid"] == rows["two"]["pid"] == rows["four"]["pid"]  # one app-server for module a
    assert rows["b"]["pid"] != rows["one"]["pid"]  # module b has its own
    assert rows["one"]["backend"] == rows["two"]["backend"] == rows["b"]["backend"]  # one for the session
    for pid in (rows["one"]["pid"], rows["b"]["pid"], rows["one"]["backend"]):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # every scope closed its app-server
    out = result.stdout.str()
    # test three: the per-test strict check names the unused reply
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_three_leaves_a_reply_unused*",
                                 "*shared mock http://127.0.0.1:*: 1 scripted reply never requested*"])
    assert "check failed (1 problem(s))" in out  # the session's mock, not reached by test three, is not scripted
    # test five: the report shows the shared app-server's transcript and the shared mock's log
    failure = out[out.index("_ test_five_fails_and_shows_the_shared_objects _"):]
    assert "JSON-RPC transcript" in failure and "before failing" in failure and "request log" in failure


def test_codex_shared_closes_what_it_made_and_its_scopes(tmp_path):
    with CodexShared() as shared:
        mock = shared.mock(reply="x")
        inner = shared.scope()
        inner_mock = inner.mock()
        home = inner.home(inner_mock)
        assert shared.mocks == [mock, inner_mock] and inner.mock_of(home) is inner_mock
        inner.close()
        assert not inner_mock.running and not home.path.exists() and shared.mocks == [mock]
        with pytest.raises(RuntimeError, match="closed"):
            inner.mock()
    assert not mock.running
    with pytest.raises(TypeError, match="reply must be a string"):
        CodexShared().mock(reply=3)  # type: ignore[arg-type]


def test_per_test_view_resets_scripts_and_checks(tmp_path):
    with CodexShared() as shared:
        mock = shared.mock(reply="own")
        mocks = [(mock, "own")]
        begin_test(mocks, responses=["a"])
        with pytest.raises(MockResponsesCheckError, match=r"shared mock http://127\.0\.0\.1:\d+: 1 scripted reply never requested") as info:
            check_test(mocks)
        assert mock.path_prefix not in str(info.value)  # the origin, never the secret path (issue 25, item 9; fails on main)
        begin_test(mocks)
        check_test(mocks)  # the unused reply of the previous test is gone
        with pytest.raises(TypeError, match=r"responses\[0\]"):
            begin_test(mocks, responses=[42])


@real
def test_a_shared_launch_serves_a_library_across_tests(pytester):
    pytester.makepyfile('''
        import json, subprocess
        import pytest

        @pytest.fixture(scope="module")
        def launch(codex_shared):
            with codex_shared.scope() as scope:
                yield scope.launch()

        def talk(launch):
            proc = subprocess.Popen([str(launch.executable), "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            proc.stdin.write(b'{"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "lib", "version": "1"}}}\\n')
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["id"] == 1
            proc.stdin.close()
            assert proc.wait(10) == 0

        def test_first(launch):
            talk(launch)
            assert len(launch.processes) == 1

        def test_second(launch):
            talk(launch)
            assert len(launch.processes) == 2 and not any(p.alive for p in launch.processes)
    ''')
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


@real
def test_shared_scopes_work_under_xdist(pytester):
    pytest.importorskip("xdist")
    pytester.makeconftest(CONFTEST.replace("json.dumps(data)", "json.dumps({**data, 'worker': os.environ.get('PYTEST_XDIST_WORKER')})"))
    pytester.makepyfile(test_x='''
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_shared(gateway, n):
            mock, app = gateway
            assert mock.requests == []
            app.request("thread/start", {})
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=240)
    result.assert_outcomes(passed=4)


def test_nothing_happens_without_shared_objects(pytester):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert subprocess  # imported for the xdist variant's environment
