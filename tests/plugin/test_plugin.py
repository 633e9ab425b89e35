"""The pytest plugin, exercised the way downstream suites use it (pytester)."""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = pytest.mark.codex_binary


def test_downstream_file_with_only_the_fixtures(pytester):
    pytester.makepyfile(
        """
        from pathlib import Path
        from codex_fixtures import find_archived_thread_path_by_id_str

        def test_seed(codex_app_server, codex_home):
            thread = codex_app_server.start_thread({"model": "mock-model"})
            codex_app_server.request("thread/archive", {"threadId": thread["id"]})
            assert find_archived_thread_path_by_id_str(codex_home, thread["id"]) is not None

        def test_home_has_hermetic_config(codex_home, codex_responses):
            text = (codex_home / "config.toml").read_text()
            assert codex_responses.uri + "/v1" in text
            assert "plugins = false" in text and "shell_snapshot = false" in text
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_marker_scripts_the_mock_and_the_config(pytester):
    pytester.makepyfile(
        """
        import tomllib
        import pytest
        from codex_fixtures import create_final_assistant_message_sse_response as final

        @pytest.mark.codex(reply="custom reply", config={"model": "other-model"})
        def test_reply(codex_app_server, codex_home):
            assert tomllib.loads((codex_home / "config.toml").read_text())["model"] == "other-model"
            thread = codex_app_server.start_thread()
            codex_app_server.run_turn(thread["id"], "hi")
            items = codex_app_server.request("thread/read", {"threadId": thread["id"], "includeTurns": True})
            texts = [i.get("text") for t in items["thread"]["turns"] for i in t["items"]]
            assert "custom reply" in texts

        @pytest.mark.codex(responses=[final("one"), final("two")])
        def test_sequence_exact_count_fails_when_a_reply_is_unused(codex_app_server):
            thread = codex_app_server.start_thread()
            codex_app_server.run_turn(thread["id"], "only one turn")

        @pytest.mark.codex(responses=[final("one"), final("two")], strict=False)
        def test_sequence_unchecked(codex_app_server):
            thread = codex_app_server.start_thread()
            codex_app_server.run_turn(thread["id"], "only one turn")

        @pytest.mark.codex(replyy="typo")
        def test_bad_marker(codex_responses):
            pass

        @pytest.mark.codex(config={"wire_api": "chat"})
        def test_bad_config(codex_home):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    # the unused reply fails at teardown (an error); bad marker and config fail at setup
    result.assert_outcomes(passed=3, errors=3)
    result.stdout.fnmatch_lines(["*unused*", "*unknown argument(s) replyy*", "*unknown wire_api 'chat'*"])


def test_failure_report_has_transcript_stderr_and_request_log(pytester):
    pytester.makepyfile(
        """
        def test_fails(codex_app_server, codex_responses):
            thread = codex_app_server.start_thread()
            codex_app_server.run_turn(thread["id"], "hello")
            assert False, "deliberate"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*codex app-server pid *: JSON-RPC transcript*",
        '*-> {"id":0,"method":"initialize"*',
        "*codex app-server pid *: stderr tail*",
        "*mock Responses API http://127.0.0.1:*: request log*",
        "*#1 POST /v1/responses*",
    ])
    # the origin, never the secret path prefix (issue 25, item 9; fails on main)
    assert re.search(r"mock Responses API http://127\.0\.0\.1:\d+: request log", result.stdout.str())
    assert not re.search(r"127\.0\.0\.1:\d+/[A-Za-z0-9_-]{20,}", result.stdout.str())  # no secret path prefix anywhere in it


@pytest.mark.inner_plugins("fakefs")
def test_fs_and_app_server_together_are_refused(pytester):
    pytester.makepyfile(
        """
        def test_both(fs, codex_app_server):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot be used with pyfakefs' fs*"])


def test_keep_failed_homes(pytester, monkeypatch, tmp_path):
    """The kept home goes to the inner run's own TMPDIR (never the machine's /tmp), and is removed here."""
    private = tmp_path / "tmpdir"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    pytester.makepyfile(
        """
        def test_fails(codex_home):
            assert False
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--codex-keep-failed")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*kept CODEX_HOME of failed test*"])
    kept = [p for p in private.iterdir() if p.name.startswith("codex-home-")]
    assert len(kept) == 1 and (kept[0] / "config.toml").is_file(), sorted(private.iterdir())
    shutil.rmtree(kept[0])


def test_bad_codex_bin_option(pytester, tmp_path):
    pytester.makepyfile("def test_x(codex_app_server):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--codex-bin={tmp_path / 'missing'}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*codex binary from --codex-bin does not exist*"])


def test_runs_under_xdist(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_turn(codex_app_server, n):
            thread = codex_app_server.start_thread()
            assert codex_app_server.run_turn(thread["id"], f"turn {n}")["status"] == "completed"
        """
    )
    pytester.makeconftest(  # what each process still holds for the interpreter's last collection
        f"""
        import atexit, gc, os

        name = ["controller"]  # (this outer test may run in a worker: PYTEST_XDIST_WORKER is inherited)

        def pytest_configure(config):
            if hasattr(config, "workerinput"):
                name[0] = config.workerinput["workerid"]

        def _frozen():
            open(os.path.join({str(pytester.path)!r}, "frozen-" + name[0]), "w").write(str(gc.get_freeze_count()))

        atexit.register(_frozen)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)
    frozen = {p.name: int(p.read_text()) for p in pytester.path.glob("frozen-*")}
    # a worker exits right after the session: its objects are frozen, the last collection skips them;
    # the controller may be a longer-lived process (pytest.main() in an IDE): left as it was
    assert sorted(frozen) == ["frozen-controller", "frozen-gw0", "frozen-gw1"], frozen
    assert frozen["frozen-gw0"] > 1000 and frozen["frozen-gw1"] > 1000 and frozen["frozen-controller"] == 0, frozen


def test_failure_report_covers_codex_respx_and_objects_the_test_made(pytester, fake_peer_bin, fake_home):
    pytester.makepyfile(
        f"""
        import httpx
        from codex_fixtures import AppServerProcess, MockResponsesServer, create_final_assistant_message_sse_response

        def test_respx_fails(codex_respx):
            httpx.post(codex_respx.base_url + "/responses", json={{"input": "via respx"}})
            assert False, "deliberate"

        def test_own_objects_fail():
            with MockResponsesServer() as server:
                server.enqueue(create_final_assistant_message_sse_response("left over"))
                httpx.get(server.uri + "/v1/nope")
            with AppServerProcess({str(fake_home)!r}, codex_bin={str(fake_peer_bin)!r}) as app:
                app.initialize(timeout=5)
            assert False, "deliberate"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*mock Responses API (respx) https://api.openai.com/v1: request log*",
        "#1 POST /v1/responses (POST .../responses #1) (* bytes)",
    ])
    result.stdout.fnmatch_lines([
        "*mock Responses API http://127.0.0.1:*: request log*",
        "#1 GET /v1/nope (0 bytes)",
        "1 scripted reply not served yet:",
        "  - 3 SSE event(s) *response.created* saying 'left over'",
        "problems:",
        "  - unexpected request GET /v1/nope*",
        "*codex app-server pid *: JSON-RPC transcript*",
        '-> {"id":0,"method":"initialize"*',
    ])

