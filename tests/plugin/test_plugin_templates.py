"""Template homes through the plugin: on by default, ``fresh_home=True`` / ``--codex-fresh-homes`` opt out,
one template per xdist worker, every template dir gone after the run (pytester, real binary)."""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures._plugin_support import MarkerOptions, marker_options

TESTS = """
import pytest
from codex_fixtures.home.template import STORE

def _record(app):
    with open({roots!r}, "a") as fh:
        fh.write(f"{{STORE.root}}\\n")

@pytest.mark.parametrize("n", range(3))
def test_default(codex_app_server, n):
    _record(codex_app_server)
    print(f"FROM_TEMPLATE={{codex_app_server.from_template}}")
    assert codex_app_server.from_template is {default}
    thread = codex_app_server.start_thread()
    assert codex_app_server.run_turn(thread["id"], "hi")["status"] == "completed"

@pytest.mark.codex(fresh_home=True)
def test_marker_fresh(codex_app_server):
    assert not codex_app_server.from_template

@pytest.mark.codex(fresh_home="yes")
def test_bad_marker(codex_home):
    pass
"""


def _run(pytester: pytest.Pytester, *args: str, default: bool) -> tuple[pytest.RunResult, list[str]]:
    roots = pytester.path / "roots.txt"
    pytester.makepyfile(test_templates=TESTS.format(roots=str(roots), default=default))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", *args)
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.codex: fresh_home must be True or False, got 'yes'*"])
    return result, sorted(set(roots.read_text().split()))


@pytest.mark.codex_binary
def test_templates_by_default_one_per_worker_removed_after_the_run(pytester):
    _, roots = _run(pytester, "-n", "2", default=True)
    assert 1 <= len(roots) <= 2 and "None" not in roots  # one store per worker process
    assert not any(Path(r).exists() for r in roots)  # each worker removed its own at exit


@pytest.mark.codex_binary
def test_codex_fresh_homes_option_turns_templates_off(pytester):
    _, roots = _run(pytester, "--codex-fresh-homes", default=False)
    assert roots == ["None"]  # no template was ever made


def test_marker_fresh_home_option():
    class Marker:
        args = ()
        kwargs = {"fresh_home": True}

    assert marker_options(Marker()) == MarkerOptions(fresh_home=True)
    assert marker_options(None).fresh_home is False
