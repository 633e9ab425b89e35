"""The plugin makes fake rollouts default to the format of the binary the session names (``--codex-bin``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import _plugin_support as support
from codex_fixtures.home import rollout_formats


@pytest.fixture
def restore_default():
    before = rollout_formats._session_default
    yield
    rollout_formats._session_default = before


@pytest.fixture
def old_codex(tmp_path: Path) -> Path:
    """A stand-in binary that says it is codex 0.101.0 (and can do nothing else)."""
    path = tmp_path / "codex"
    path.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "codex-cli 0.101.0"; exit 0; fi\nexit 1\n')
    path.chmod(0o755)
    return path


def test_named_binary_sets_the_default_and_reset_restores_the_bundled_one(restore_default, old_codex, monkeypatch):
    monkeypatch.delenv("CODEX_BIN", raising=False)
    assert support.set_rollout_format_default(None) is None
    assert rollout_formats.resolve_format(None) is rollout_formats.resolve_format(rollout_formats._BUNDLED)
    assert support.set_rollout_format_default(str(old_codex)) == "0.101.0"
    assert rollout_formats.resolve_format(None).key == (0, 101)
    support.set_rollout_format_default(None, reset=True)
    assert rollout_formats.resolve_format(None) is rollout_formats.resolve_format(rollout_formats._BUNDLED)


def test_a_binary_that_cannot_run_leaves_the_default_alone(restore_default, tmp_path, monkeypatch):
    monkeypatch.delenv("CODEX_BIN", raising=False)
    rollout_formats.set_default_codex_version("0.171.0")
    assert support.set_rollout_format_default(str(tmp_path / "no-such-codex")) is None
    assert rollout_formats.resolve_format(None).key == (0, 171)


@pytest.mark.inner_plugins("fakefs")
def test_session_default_follows_codex_bin(pytester, old_codex, monkeypatch, restore_default):
    monkeypatch.delenv("CODEX_BIN", raising=False)
    pytester.makepyfile(test_inner="""
        from codex_fixtures import rollout_record_kinds

        def test_default(codex_fake_home):
            kinds = rollout_record_kinds(codex_fake_home.find(codex_fake_home.add_rollout()))
            assert "event_msg/user_message" in kinds and "world_state" not in kinds  # what 0.101 writes
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--codex-bin", str(old_codex))
    result.assert_outcomes(passed=1)  # without the plugin's default the bundled format (0.163: world_state) fails it


def test_an_inner_session_gives_back_the_outer_sessions_default(pytester, old_codex, monkeypatch, restore_default):
    # e.g. tests/appserver/test_launch.py runs pytester in process: under --codex-bin 0.101 the
    # inner session's end reset the outer one to the bundled format, and 0.101 listed no fakes
    monkeypatch.delenv("CODEX_BIN", raising=False)
    rollout_formats.set_default_codex_version("0.171.0")
    pytester.makepyfile(test_inner="def test_nothing():\n    pass\n")
    for args in ((), ("--codex-bin", str(old_codex))):
        pytester.runpytest_inprocess("-p", "no:cacheprovider", *args).assert_outcomes(passed=1)
        assert rollout_formats.resolve_format(None).key == (0, 171), args
