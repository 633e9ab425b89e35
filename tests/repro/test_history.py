"""``codex-repro history`` over fake releases: rows per release, unsupported releases, changes."""

from __future__ import annotations

import json

import pytest
from codex_fixtures.repro.cli import main
from codex_fixtures.repro.history import release_history

pytestmark = pytest.mark.codex_binary


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_history_matrix_unsupported_release_and_changes(capsys, fake_releases):
    rc, out, err = run_cli(capsys, "history", "archive-just-started", "start-is-lazy", "--from", "1.3.0", "--to",
                           "1.6.0", "--releases", str(fake_releases), "--json", "-")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["tool"] == "codex-repro history" and doc["exit_code"] == 0
    rows = {r["version"]: r for r in doc["releases"]}
    assert list(rows) == ["1.3.0", "1.3.1", "1.4.0", "1.5.0", "1.6.0"]
    assert rows["1.3.1"]["status"] == "unsupported" and "no app-server v2 protocol" in rows["1.3.1"]["reason"]
    assert rows["1.3.1"]["results"] == []
    verdicts = {v: {x["scenario"]: x["verdict"] for x in r["results"]} for v, r in rows.items() if r["status"] == "ran"}
    assert verdicts["1.4.0"] == {"archive-just-started": "differs", "start-is-lazy": "as-intended"}
    assert verdicts["1.5.0"] == {"archive-just-started": "as-intended", "start-is-lazy": "as-intended"}
    (change,) = doc["changes"]
    assert change["scenario"] == "archive-just-started"
    assert (change["from"]["version"], change["to"]["version"]) == ("1.4.0", "1.5.0")
    # the text (on stderr with --json -) has one row per release and the change with both observed lines
    assert any(line.startswith("1.3.1") and "unsupported: " in line for line in err.splitlines())
    assert "archive-just-started: 1.4.0 -> 1.5.0: differs -> as-intended" in err
    assert "[5/5] 1.6.0" in err  # progress


def test_history_every_n_keeps_both_ends(fake_releases):
    from codex_fixtures.appserver.releases import LocalReleases

    report = release_history(["start-is-lazy"], "1.0.0", "1.8.0", every=4, source=LocalReleases(fake_releases))
    assert [r.version for r in report.rows] == ["1.0.0", "1.3.1", "1.7.0", "1.8.0"]
    assert report.changes() == [] and report.exit_code == 0
    text = report.to_text()
    assert text.splitlines()[0].split() == ["release", "start-is-lazy"] and "0 change(s)" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "1.0.0", "--to", "2.0.0"], "codex 2.0.0 is not a release of"),
    (["--from", "1.0.0", "--to", "1.8.0", "--every", "0"], "--every must be at least 1"),
    (["nope", "--from", "1.0.0", "--to", "1.8.0"], "unknown scenario 'nope'"),
])
def test_history_bad_input_is_one_line_exit_2(capsys, fake_releases, argv, message):
    rc, out, err = run_cli(capsys, "history", *argv, "--releases", str(fake_releases), "--quiet")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_many_scenarios_get_numbered_columns_and_a_key():
    from codex_fixtures.repro.history import HistoryReport, ReleaseRow
    from codex_fixtures.repro.release_runner import ReleaseOutcome
    from codex_fixtures.repro.scenarios import SCENARIOS

    names = list(SCENARIOS)
    rows = [ReleaseRow(v, "ran", outcomes={n: ReleaseOutcome(v, verdict, "seen") for n in names})
            for v, verdict in (("0.1.0", "differs"), ("0.2.0", "as-intended"))]
    rows.insert(1, ReleaseRow("0.1.5", "error", "cannot fetch"))
    report = HistoryReport(scenarios=names, rows=rows)
    lines = report.to_text().splitlines()
    assert lines[0].split() == ["release", *map(str, range(1, len(names) + 1))]
    assert "1 = start-is-lazy" in lines and "0.1.5    error: cannot fetch" in lines
    assert len(report.changes()) == len(names) and report.exit_code == 2
