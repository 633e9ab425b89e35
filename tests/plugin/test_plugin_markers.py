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
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rsx")
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
