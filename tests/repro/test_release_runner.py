"""The report lines shared by ``codex-repro diff`` and ``history`` for a changed scenario outcome."""

from __future__ import annotations

from codex_fixtures.repro.release_runner import change_lines


def test_change_lines_name_the_verdicts_when_they_differ():
    a = {"verdict": "differs", "observed": "archived at once"}
    b = {"verdict": "as-intended", "observed": "refused: not materialized"}
    assert change_lines("archive-just-started", a, b, "0.101.0", "0.163.0") == [
        "  archive-just-started: differs -> as-intended",
        "    0.101.0: archived at once",
        "    0.163.0: refused: not materialized",
    ]


def test_change_lines_say_observed_changed_when_the_verdict_is_the_same():
    a = {"verdict": "differs", "observed": "x"}
    b = {"verdict": "differs", "observed": "y"}
    assert change_lines("s: 1.0 -> 1.1", a, b, "1.0", "1.1")[0] == "  s: 1.0 -> 1.1: differs, observed changed"
