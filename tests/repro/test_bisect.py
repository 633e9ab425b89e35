"""``codex-repro bisect`` on fake releases (the bundled binary behind wrappers), and once on real ones (opt-in)."""

from __future__ import annotations

import json
import math
import os

import pytest
from codex_fixtures.appserver.releases import LocalReleases, ReleaseError
from codex_fixtures.repro.bisect import bisect_releases
from codex_fixtures.repro.cli import main

pytestmark = pytest.mark.codex_binary


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


class CountingSource(LocalReleases):
    def __init__(self, root):
        super().__init__(root)
        self.asked: list[str] = []

    def fetch(self, version, **kwargs):
        self.asked.append(version)
        return super().fetch(version, **kwargs)


def test_bisect_prints_the_adjacent_pair_with_both_observed_lines(capsys, fake_releases):
    rc, out, err = run_cli(capsys, "bisect", "archive-just-started", "--good", "1.0.0", "--bad", "1.8.0",
                           "--releases", str(fake_releases))
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "archive-just-started changed between 1.4.0 and 1.5.0:"
    assert lines[1].split()[:2] == ["1.4.0", "differs"] and "no rollout found for thread id <id>" in lines[1]
    assert lines[2].split()[:2] == ["1.5.0", "as-intended"] and "thread/archive ok" in lines[2]
    assert "of 10 releases (1.0.0..1.8.0)" in out  # the pre-release and the junk dir are not listed
    assert "bisect archive-just-started: 10 releases" in err and "1.3.1: skipped (unsupported:" in err


def test_bisect_json_and_a_logarithmic_number_of_fetches(capsys, fake_releases):
    source = CountingSource(fake_releases)
    result = bisect_releases("archive-just-started", "1.8.0", "1.0.0", source=source)  # ends in either order
    assert (result.before.version, result.after.version) == ("1.4.0", "1.5.0")
    assert len(result.releases) == 10
    assert len(source.asked) == len(set(source.asked))  # each release fetched at most once
    assert len(source.asked) <= 2 + math.ceil(math.log2(len(result.releases))) + len(result.skipped)
    assert set(result.skipped) == {"1.3.1"} and "no app-server v2 protocol" in result.skipped["1.3.1"]
    doc = json.loads(result.to_json())
    assert doc["tool"] == "codex-repro bisect" and doc["range"] == {"from": "1.0.0", "to": "1.8.0", "releases": 10}
    assert doc["before"]["verdict"] == "differs" and doc["after"]["verdict"] == "as-intended"
    assert doc["changes_again"] is False and doc["untested_between"] == []
    rc, out, err = run_cli(capsys, "bisect", "archive-just-started", "--good", "1.0.0", "--bad", "1.8.0",
                           "--releases", str(fake_releases), "--json", "-", "--quiet")
    assert rc == 0 and err.startswith("archive-just-started changed between")  # text goes to stderr with --json -
    assert json.loads(out)["after"]["version"] == "1.5.0"


@pytest.mark.parametrize(("good", "bad", "message"), [
    ("1.5.0", "1.8.0", "1.5.0 and 1.8.0 have the same outcome for archive-just-started (as-intended: "),
    ("1.0.0", "9.9.9", "codex 9.9.9 is not a release of the local releases in"),
    ("1.0.0", "1.5.0-beta.1", "codex 1.5.0-beta.1 is a pre-release"),
    ("1.3.1", "1.8.0", "cannot bisect on codex 1.3.1 (unsupported:"),
    ("latest", "1.8.0", "codex version 'latest' is not a release number"),
])
def test_bisect_refusals_are_one_line_exit_2(capsys, fake_releases, good, bad, message):
    rc, out, err = run_cli(capsys, "bisect", "archive-just-started", "--good", good, "--bad", bad,
                           "--releases", str(fake_releases), "--quiet")
    assert rc == 2 and out == ""
    assert message in one_line_error(err)


def test_bisect_unknown_scenario_fails_before_any_fetch(fake_releases):
    source = CountingSource(fake_releases)
    with pytest.raises(Exception, match="unknown scenario 'nope'"):
        bisect_releases("nope", "1.0.0", "1.8.0", source=source)
    assert source.asked == []
    with pytest.raises(ReleaseError, match="nothing to bisect"):
        bisect_releases("archive-just-started", "1.0.0", "1.0.0", source=source)


DOWNLOADS = os.environ.get("CODEX_THREADKIT_DOWNLOADS") == "1"


@pytest.mark.real_releases
@pytest.mark.skipif(not DOWNLOADS, reason="downloads ~7 real releases (~150 MB each): set CODEX_THREADKIT_DOWNLOADS=1")
def test_real_bisect_of_archive_just_started(capsys):
    """Measured once: 8 of 82 releases run, change between 0.158.0 and 0.159.0, 70 s with a warm npm."""
    rc, out, err = run_cli(capsys, "bisect", "archive-just-started", "--good", "0.101.0", "--bad", "0.163.0",
                           "--json", "-")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["before"]["verdict"] == "differs" and doc["after"]["verdict"] == "as-intended"
    assert (doc["before"]["version"], doc["after"]["version"]) == ("0.158.0", "0.159.0")


def test_bisect_text_names_untested_releases_and_a_second_change():
    from codex_fixtures.repro.bisect import BisectResult
    from codex_fixtures.repro.release_runner import ReleaseOutcome

    a, b = ReleaseOutcome("0.2.0", "differs", "old"), ReleaseOutcome("0.4.0", "as-intended", "new")
    last = ReleaseOutcome("0.5.0", "as-intended", "newer")
    result = BisectResult(scenario="archive-just-started", releases=["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"],
                          before=a, after=b, last=last, tested=[a, b, last], skipped={"0.3.0": "error: no package"})
    text = result.to_text()
    assert "  untested in between: 0.3.0: error: no package" in text
    assert "note: 0.4.0 differs from 0.5.0 too" in text
    doc = result.to_dict()
    assert doc["untested_between"] == [{"version": "0.3.0", "reason": "error: no package"}] and doc["changes_again"]
