"""``--fresh-homes`` reaches every home of every ``codex-repro`` subcommand that runs scenarios (issue 14 A).

A spy on :class:`~codex_fixtures.home.layout.CodexHome` records the ``fresh``
flag of each home made while the command runs: with ``--fresh-homes`` every
one is fresh, without it none is (they are template copies).
"""

from __future__ import annotations

import pytest
from codex_fixtures.home.layout import CodexHome
from codex_fixtures.repro import diff as diff_module
from codex_fixtures.repro import scenarios as scenarios_module
from codex_fixtures.repro.cli import main

pytestmark = pytest.mark.codex_binary

SCENARIO = "archive-just-started"


@pytest.fixture
def homes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``fresh`` flag of every CodexHome made during the test, in order."""
    made: list[bool] = []
    real_init = CodexHome.__init__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(bool(kwargs.get("fresh", False)))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(CodexHome, "__init__", spy)
    return made


@pytest.fixture
def one_scenario_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    """``diff`` runs the whole catalog; keep it to one scenario (what is checked is the homes' flag)."""
    real = scenarios_module.run_scenarios
    monkeypatch.setattr(diff_module, "run_scenarios", lambda names, *a, **kw: real([SCENARIO], *a, **kw))


def command(name: str, releases: str) -> list[str]:
    return {
        "bisect": ["bisect", SCENARIO, "--good", "1.4.0", "--bad", "1.5.0"],
        "history": ["history", SCENARIO, "--from", "1.4.0", "--to", "1.5.0"],
        "diff": ["diff", "1.4.0", "1.5.0"],
    }[name] + ["--releases", releases, "--quiet"]


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-homes", "templates"])
@pytest.mark.parametrize("name", ["bisect", "history", "diff"])
def test_fresh_homes_reaches_every_home(name, fresh, homes, one_scenario_diff, fake_releases, capsys):
    argv = command(name, str(fake_releases)) + (["--fresh-homes"] if fresh else [])
    rc = main(argv)
    _, err = capsys.readouterr()
    assert rc in (0, 1), err
    assert homes, f"{name} made no home"
    assert homes == [fresh] * len(homes), f"{name} {'with' if fresh else 'without'} --fresh-homes: {homes}"


def test_every_scenario_running_subcommand_takes_fresh_homes(capsys):
    for name in ("run", "check", "bisect", "history", "diff"):
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "--fresh-homes" in capsys.readouterr().out, name
