"""The README's examples are tests: each fenced block after a readme-test marker runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- readme-test: (\w+) -->\s*```(?:python|sh)\n(.*?)```", re.S)
BLOCKS = BLOCK.findall(README.read_text())


def test_readme_has_examples_and_both_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    assert {kind for kind, _ in BLOCKS} >= {"pytest", "python"}


@pytest.mark.parametrize(("kind", "code"), [b for b in BLOCKS if b[0] == "pytest"])
def test_readme_pytest_example(pytester, kind, code):
    pytester.makepyfile(test_readme_example=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and "failed" not in outcomes and "errors" not in outcomes, result.stdout.str()


@pytest.mark.parametrize(("kind", "code"), [b for b in BLOCKS if b[0] == "python"])
def test_readme_python_example(tmp_path, kind, code):
    scratch = tmp_path / "tmp"  # the example's TMPDIR: what it leaves there, it would leave in the user's /tmp
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert sorted(p.name for p in scratch.iterdir()) == [], "the example leaves temp files behind"


def test_readme_codex_repro_commands_parse():
    """Every ``codex-repro ...`` line of the README is accepted by the real argument parser."""
    from codex_fixtures.repro.cli import build_parser

    lines = [ln.split(" #")[0] for ln in README.read_text().splitlines() if ln.startswith("codex-repro ")]
    assert len(lines) >= 4
    for line in lines:
        build_parser().parse_args(shlex.split(line)[1:])  # SystemExit (a failure) on anything it rejects


def test_readme_make_targets_exist():
    targets = set(re.findall(r"^([a-z]+):", (README.parent / "Makefile").read_text(), re.M))
    mentioned = set(re.findall(r"`make ([a-z]+)`|^make ([a-z]+)", README.read_text(), re.M))
    assert {t for pair in mentioned for t in pair if t} <= targets
