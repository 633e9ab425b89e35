"""``--codex-bin PATH`` (the space form) keeps the project's rootdir and ini file (a real pytest subprocess)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

INI = "[pytest]\ntestpaths = tests_here\naddopts = -k wanted -p no:cacheprovider\nmarkers =\n    mine: a marker of the project\n"
TESTS = '''
from pathlib import Path

import pytest


@pytest.mark.mine
def test_wanted(request):
    root = Path(__file__).parent.parent
    assert request.config.rootpath == root
    assert request.config.inipath == root / "pytest.ini"
    assert request.config.getoption("--codex-bin") == {binary!r}


def test_deselected_by_the_ini_addopts():
    raise AssertionError("the project's addopts (-k wanted) was not applied")
'''


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("elsewhere") / "codex"  # outside the project, as a cached or vendored binary is
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    pytester.makefile(".ini", pytest=INI)
    (pytester.path / "tests_here").mkdir()
    (pytester.path / "tests_here" / "test_project.py").write_text(TESTS.format(binary=str(binary)))
    return binary


@pytest.mark.parametrize("form", ["space", "equals"])
def test_codex_bin_keeps_the_project_ini(pytester: pytest.Pytester, project: Path, form: str):
    args = ["--codex-bin", str(project)] if form == "space" else [f"--codex-bin={project}"]
    result = pytester.runpytest_subprocess(*args, "--strict-markers", timeout=120)
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines([f"rootdir: {pytester.path}*", "configfile: pytest.ini*"])
