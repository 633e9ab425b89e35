"""What downstream suites needed helpers for: the app-server factory, marker app_server= / auth=,
plain-string replies, outcomes of the strict check, fixture order (pytester, real binary)."""

from __future__ import annotations

import pytest


@pytest.mark.codex_binary
def test_factory_starts_late_restarts_on_the_same_home_and_passes_env(pytester):
    pytester.makepyfile(
        """
        import pytest

        def environ(pid):
            raw = open(f"/proc/{pid}/environ", "rb").read().split(b"\\0")
            return dict(kv.decode().split("=", 1) for kv in raw if b"=" in kv)

        @pytest.mark.codex(responses=["first answer"])
        def test_restart_and_resume(codex_app_servers, codex_home, codex_responses):
            assert codex_responses.requests == []  # nothing started until asked
            first = codex_app_servers(env={"DOWNSTREAM_FLAG": "1"})
            assert environ(first.pid)["DOWNSTREAM_FLAG"] == "1"
            thread = first.start_thread()
            assert first.run_turn(thread["id"], "remember me")["status"] == "completed"
            first.close()
            second = codex_app_servers()
            assert "DOWNSTREAM_FLAG" not in environ(second.pid)
            resumed = second.request("thread/resume", {"threadId": thread["id"]})
            assert resumed["thread"]["id"] == thread["id"]
            read = second.request("thread/read", {"threadId": thread["id"], "includeTurns": True})
            texts = [i.get("text") for t in read["thread"]["turns"] for i in t["items"]]
            assert "first answer" in texts
            assert [p.pid for p in codex_app_servers.processes] == [first.pid, second.pid]

        def test_uninitialized_and_own_home(codex_app_servers, tmp_path, codex_home):
            other = tmp_path / "other-home"
            other.mkdir()
            (other / "config.toml").write_text((codex_home / "config.toml").read_text())
            app = codex_app_servers(other, initialize=False, client_info={"name": "ignored", "version": "0"})
            assert not app.initialized
            result = app.initialize(client_info={"name": "late_client", "version": "1.0"})
            assert result.result["userAgent"].startswith("late_client/")
            assert app.codex_home == other

        @pytest.mark.codex(app_server={"env": {"MARKER_FLAG": "yes"}, "client_info": {"name": "marker_ide", "version": "2"},
                                       "args": ["-c", "model=\\"mock-model\\""]})
        def test_marker_configures_codex_app_server(codex_app_server):
            assert environ(codex_app_server.pid)["MARKER_FLAG"] == "yes"
            assert codex_app_server.argv[-2:] == ["-c", 'model="mock-model"']
            thread = codex_app_server.start_thread()
            assert codex_app_server.run_turn(thread["id"], "hi")["status"] == "completed"

        def test_all_closed_at_teardown(codex_app_servers):
            global STARTED
            STARTED = [codex_app_servers(), codex_app_servers()]

        def test_after_teardown():
            assert [p.is_alive() for p in STARTED] == [False, False]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=5)


@pytest.mark.codex_binary
def test_failure_report_shows_every_factory_process(pytester):
    pytester.makepyfile(
        """
        def test_fails(codex_app_servers):
            a = codex_app_servers()
            b = codex_app_servers()
            a.close()
            assert False, "boom"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert out.count("JSON-RPC transcript") == 2 and out.count("stderr tail") == 2


@pytest.mark.codex_binary
def test_marker_auth_and_plain_strings(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.codex(auth="chatgpt")
        def test_chatgpt(codex_app_server, codex_home):
            account = codex_app_server.request("account/read", {"refreshToken": False})["account"]
            assert account["type"] == "chatgpt" and account["email"] == "user@example.com"
            assert (codex_home / "auth.json").is_file()

        @pytest.mark.codex(auth="api_key", responses=["plain text reply"])
        def test_api_key_and_plain_string(codex_app_server, codex_responses):
            assert codex_app_server.request("account/read", {"refreshToken": False})["account"] == {"type": "apiKey"}
            thread = codex_app_server.start_thread()
            turn = codex_app_server.run_turn(thread["id"], "hi")
            assert turn["status"] == "completed"
            read = codex_app_server.request("thread/read", {"threadId": thread["id"], "includeTurns": True})
            assert "plain text reply" in [i.get("text") for t in read["thread"]["turns"] for i in t["items"]]
            assert codex_responses.requests[0].header("authorization") == "Bearer sk-test-codex-fixtures"

        @pytest.mark.codex(auth="oauth")
        def test_bad_auth(codex_home):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*auth must be one of 'chatgpt', 'api_key', got 'oauth'*"])


def test_non_reply_in_responses_is_a_one_line_failure(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.codex(responses=["ok", 123])
        def test_bad(codex_responses):
            pass

        @pytest.mark.codex(app_server={"envv": {}})
        def test_bad_app_server(codex_responses):
            pass

        @pytest.mark.codex(responses=[["a", "b"]])
        def test_list_of_strings(codex_responses):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    out = result.stdout.str()
    assert "@pytest.mark.codex: responses[1] must be assistant text, an SSE body" in out
    assert "got int 123" in out
    assert "app_server got unknown key(s) envv" in out
    assert "@pytest.mark.codex: responses[0]: got a list holding 2 string(s)" in out
    assert "Traceback" not in out and "sequence_item" not in out


def test_strict_check_skips_skipped_and_xfailed_tests_only(pytester):
    pytester.makepyfile(
        """
        import pytest

        def test_skips_itself(codex_responses):
            codex_responses.enqueue("never asked")
            pytest.skip("not today")

        @pytest.mark.xfail(reason="known bug", strict=True)
        def test_xfails(codex_responses):
            codex_responses.enqueue("never asked")
            assert False

        def test_xfails_imperatively(codex_responses):
            codex_responses.enqueue("never asked")
            pytest.xfail("known")

        def test_passing_still_checked(codex_responses):
            codex_responses.enqueue("never asked")

        @pytest.mark.codex(strict=False)
        def test_passing_unchecked(codex_responses):
            codex_responses.enqueue("never asked")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=2, skipped=1, xfailed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_passing_still_checked*", "*1 scripted reply never requested*"])


@pytest.mark.codex_binary
@pytest.mark.inner_plugins("fakefs")
def test_fixture_order_does_not_matter(pytester):
    pytester.makepyfile(
        """
        def test_fake_home_first(codex_fake_home, codex_binary):
            assert codex_binary.version
            assert codex_fake_home.add_rollout(preview="x")

        def test_binary_first(codex_binary, codex_fake_home):
            assert codex_binary.version

        def test_fs_first(fs, codex_binary):
            assert codex_binary.version
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_fake_home_and_respx_packages_are_runtime_dependencies():
    """codex_fake_home and codex_respx must work after a plain ``pip install codex-threadkit``."""
    import importlib.metadata
    import re

    runtime = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in importlib.metadata.requires("codex-threadkit") or []
               if "extra ==" not in r}
    assert {"pyfakefs", "respx"} <= runtime
