"""Helpers that start a binary with no ``codex_bin=`` run the session's ``--codex-bin`` (issue 27 point 6).

Fails on main: ``create_state_database`` (like ``project_history``, through ``AppServerProcess``) started the bundled binary.
"""

from __future__ import annotations

import stat


def test_a_helper_without_codex_bin_runs_the_sessions_binary(pytester, tmp_path_factory):
    where = tmp_path_factory.mktemp("session-bin")
    ran = where / "ran"
    binary = where / "codex"
    binary.write_text(f'#!/bin/sh\necho "$@" >> {ran}\nexit 3\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    pytester.makepyfile(
        f"""
        import pytest
        from pathlib import Path
        from codex_fixtures import AppServerError, create_state_database, resolve_codex_bin

        def test_state(tmp_path):
            assert resolve_codex_bin() == Path({str(binary)!r})
            with pytest.raises(AppServerError):
                create_state_database(tmp_path)
            assert "app-server" in Path({str(ran)!r}).read_text()
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--codex-bin={binary}").assert_outcomes(passed=1)
