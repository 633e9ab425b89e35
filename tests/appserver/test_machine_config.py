"""Detecting the machine-wide ``/etc/codex`` layer, and saying so once (session header, failure report, codex-repro).

The detector is pointed at a temp dir (``CODEX_THREADKIT_SYSTEM_CONFIG_DIR``); nothing writes to the real ``/etc``.
``%codex status`` is checked in ``tests/magics/test_magics.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import machine_codex_config, machine_config_note
from codex_fixtures.appserver.machine_config import DEFAULT_SYSTEM_CONFIG_DIR, SYSTEM_CONFIG_DIR_ENV, system_config_dir


@pytest.fixture
def system_dir(tmp_path, monkeypatch) -> Path:
    """A stand-in ``/etc/codex`` with ``hooks.json`` and ``skills/``, where the detector looks."""
    root = tmp_path / "etc-codex"
    (root / "skills").mkdir(parents=True)
    (root / "hooks.json").write_text('{"hooks": {}}')
    monkeypatch.setenv(SYSTEM_CONFIG_DIR_ENV, str(root))
    return root


def test_the_detector_lists_what_exists_and_says_it_in_one_line(system_dir, tmp_path, monkeypatch):
    assert machine_codex_config() == (system_dir / "hooks.json", system_dir / "skills")
    note = machine_config_note()
    assert note is not None and "\n" not in note
    assert f"{system_dir} (hooks.json, skills)" in note and "no release binary" in note
    assert machine_codex_config(tmp_path / "nothing") == () and machine_config_note(tmp_path / "nothing") is None
    (system_dir / "config.toml").symlink_to(tmp_path / "dangling")  # a dangling link is still there
    assert system_dir / "config.toml" in machine_codex_config()
    monkeypatch.delenv(SYSTEM_CONFIG_DIR_ENV)
    assert system_config_dir() == DEFAULT_SYSTEM_CONFIG_DIR == Path("/etc/codex")


FAILING = """
def test_fails(codex_responses):
    assert False, "deliberate"
"""


def test_the_pytest_header_and_a_failure_report_name_it(system_dir, pytester):
    pytester.makepyfile(test_it=FAILING)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert text.count(f"codex-threadkit: WARNING: machine-wide Codex set-up in {system_dir} (hooks.json, skills)") == 1
    result.stdout.fnmatch_lines(["*codex machine-wide config*", f"*machine-wide Codex set-up in {system_dir}*"])


def test_without_a_machine_wide_set_up_nothing_is_said(tmp_path, monkeypatch, pytester):
    monkeypatch.setenv(SYSTEM_CONFIG_DIR_ENV, str(tmp_path / "absent"))
    pytester.makepyfile(test_it=FAILING)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "machine-wide" not in result.stdout.str()


def test_codex_repro_warns_once_before_it_runs_anything(system_dir, tmp_path, capsys):
    from codex_fixtures.repro.cli import main

    assert main(["check", str(tmp_path / "no-baseline.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("codex-repro: warning: machine-wide Codex set-up in") == 1
    assert err.index("warning: machine-wide") < err.index("codex-repro: error")
    main(["list"])
    assert "machine-wide" not in capsys.readouterr().err
