"""The ``codex`` marker merges with the module's; ``codex_requires`` decides per binary at collection.

Both fail on main: there a test's own marker replaced the module's ``pytestmark`` one,
and ``codex_requires`` was no marker at all.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.codex_binary


def test_a_tests_own_marker_merges_with_the_modules(pytester):
    pytester.makepyfile(
        """
        import tomllib
        import pytest

        pytestmark = pytest.mark.codex(config={"model": "module-model", "extra": {"a": 1}}, reply="from module")

        @pytest.mark.codex(auth="api_key", config={"extra": {"b": 2}})
        def test_merged(codex_home, codex_responses):
            config = tomllib.loads((codex_home / "config.toml").read_text())
            assert config["model"] == "module-model" and (config["a"], config["b"]) == (1, 2)
            assert (codex_home / "auth.json").exists()

        @pytest.mark.codex(reply="from test")
        def test_closest_wins(codex_responses):
            import httpx
            body = httpx.post(codex_responses.url_v1 + "/responses", json={"model": "m", "input": []}).text
            assert "from test" in body and "from module" not in body
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_codex_requires_skips_or_strict_xfails_by_version_and_method(pytester, codex_binary):
    version = ".".join(map(str, codex_binary.version_tuple))
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.codex_requires(version=">{version}", reason="a newer binary's behaviour")
        def test_skipped():
            raise AssertionError("never runs")

        @pytest.mark.codex_requires(version=">{version}", xfail=True, reason="differs here")
        def test_known_difference():
            raise AssertionError("the difference")

        @pytest.mark.codex_requires(version=">{version}", xfail=True)
        def test_difference_gone():
            pass  # a strict xfail that passes is a failure: the difference is gone

        @pytest.mark.codex_requires(version="=={version}", method="thread/start")
        def test_runs():
            pass

        @pytest.mark.codex_requires(method="no/such/method")
        def test_no_method():
            raise AssertionError("never runs")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rsx", f"--codex-bin={codex_binary.path}")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1, failed=1)
    result.stdout.fnmatch_lines(
        [f"*codex {version} is not >{version}: a newer binary's behaviour*", f"*codex {version} has no no/such/method*"]
    )


def test_a_malformed_codex_requires_is_a_usage_error(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.codex_requires(version="newer")
        def test_bad():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*version must be a specifier like '>=0.171.0', got 'newer'*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_transport_is_checked_and_reaches_the_server_and_the_config():
    from types import SimpleNamespace

    from codex_fixtures import _plugin_support as support

    with pytest.raises(TypeError, match="transport must be one of 'http', 'websocket', 'both', got 'ws'"):
        support.marker_options(SimpleNamespace(args=(), kwargs={"transport": "ws"}))
    options = support.marker_options(SimpleNamespace(args=(), kwargs={"transport": "both", "config": {"model": "m"}}))
    assert support.home_config(options, "http://127.0.0.1:1/s") == {"model": "m", "transport": "both"}
    with support.make_server(options) as server:
        assert server.transport == "both"


def test_merged_marker_closest_wins_and_dicts_merge():
    from types import SimpleNamespace

    from codex_fixtures import _plugin_support as support

    module = SimpleNamespace(
        args=(), kwargs={"config": {"model": "a", "extra": {"x": 1}}, "reply": "m", "app_server": {"env": {"A": "1"}}}
    )
    test = SimpleNamespace(args=(), kwargs={"config": {"extra": {"y": 2}}, "reply": "t", "app_server": {"args": ["-c", "k=v"]}})
    merged = support.merged_marker([test, module]).kwargs
    assert merged["config"] == {"model": "a", "extra": {"x": 1, "y": 2}} and merged["reply"] == "t"
    assert merged["app_server"] == {"env": {"A": "1"}, "args": ["-c", "k=v"]}
    assert support.merged_marker([]) is None
