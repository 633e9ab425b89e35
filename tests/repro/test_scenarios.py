"""The codex-repro scenario catalog on real binaries: verdicts per the reference (§1-§4, §8, §9).

The catalog runs once per binary per module (module-scoped fixtures), in
parallel, so the whole file stays within a few seconds.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from codex_fixtures import codex_binary_info
from codex_fixtures.appserver.fetch import FetchError, fetch_codex_version
from codex_fixtures.repro.scenarios import (
    SCENARIOS,
    VERDICTS,
    ReproReport,
    UnknownScenarioError,
    run_one,
    run_scenarios,
)

pytestmark = pytest.mark.codex_binary

# what the reference predicts (decided from each binary's schema, never its version)
EXPECTED_BUNDLED = {
    "start-is-lazy": "as-intended",
    "first-turn-materializes": "as-intended",
    "archive-just-started": "as-intended",
    "resume-just-started": "differs",
    "fork-just-started": "differs",
    "archive-unarchive-roundtrip": "as-intended",
    "rollback-after-turns": "as-intended",
    "ephemeral-rejects-rollout-ops": "as-intended",
    "concurrent-archive": "as-intended",
    # the stable schema has no `path`, the --experimental one does (and the driver opts in)
    "resume-path-vs-thread-id": "as-intended",
}
EXPECTED_0_101 = {**EXPECTED_BUNDLED, "archive-just-started": "differs"}


@pytest.fixture(scope="module")
def bundled():
    return codex_binary_info()


@pytest.fixture(scope="module")
def bundled_report(bundled) -> ReproReport:
    return run_scenarios(binaries=[bundled], timeout=15.0)


@pytest.fixture(scope="module")
def old_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("codex-cache")


@pytest.fixture(scope="module")
def old_binary(old_cache):
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH: cannot fetch @openai/codex@0.101.0")
    try:
        path = fetch_codex_version("0.101.0", cache_dir=old_cache)
    except FetchError as exc:
        pytest.skip(f"cannot fetch codex 0.101.0: {exc}")
    return codex_binary_info(path)


@pytest.fixture(scope="module")
def old_report(old_binary) -> ReproReport:
    return run_scenarios(binaries=[old_binary], timeout=15.0)


def test_catalog_has_the_required_scenarios():
    assert list(SCENARIOS) == list(EXPECTED_BUNDLED)
    for s in SCENARIOS.values():
        assert s.intended.endswith(".") and "\n" not in s.intended


@pytest.mark.parametrize("name", list(EXPECTED_BUNDLED))
def test_bundled_verdict_matches_reference(bundled_report, name):
    r = bundled_report.result(name)
    assert r.verdict == EXPECTED_BUNDLED[name], f"{r.verdict}: {r.observed}\n{r.detail}"


def test_bundled_differences_are_no_rollout_found(bundled_report):
    for name in ("resume-just-started", "fork-just-started"):
        assert bundled_report.result(name).observed.endswith("-32600 'no rollout found for thread id <id>'")
    assert bundled_report.result("rollback-after-turns").observed.startswith("thread/revert:")
    assert bundled_report.exit_code == 1


def test_steps_record_answers_notifications_and_rollout_snapshots(bundled_report):
    steps = bundled_report.result("archive-just-started").steps
    assert [s.method for s in steps] == ["thread/start", "thread/archive"]
    archive = steps[1]
    assert archive.error is None and archive.result == {}
    assert archive.rollouts_before == []
    (after,) = archive.rollouts_after
    assert after["archived"] and after["path"].startswith("archived_sessions/rollout-")
    assert after["lines"] == 1 and len(after["sha256"]) == 64
    assert "thread/archived" in [n["method"] for s in steps for n in s.notifications]
    resume = bundled_report.result("resume-just-started").steps[-1]
    assert resume.error["code"] == -32600 and resume.error["message"].startswith("no rollout found")
    many = bundled_report.result("concurrent-archive").steps[-1]
    assert len(many.error) == 10 and sum(e is None for e in many.error) == 1


def test_report_renderers(bundled_report):
    text = bundled_report.to_text()
    assert "legend:" in text and text.splitlines()[0].split() == ["scenario", bundled_report.labels[0]]
    assert text.count("intended:") == 2  # one line per difference
    assert "resume-just-started" in bundled_report._repr_markdown_()
    assert "<table>" in bundled_report._repr_html_()
    doc = bundled_report.to_dict()
    assert doc["schema_version"] == 1 and doc["exit_code"] == 1
    assert set(doc["summary"]) == set(VERDICTS)


def test_the_catalog_gives_the_same_verdicts_and_observations_on_template_and_fresh_homes(bundled, bundled_report):
    """Template homes change no verdict and no observed line (the module's catalog run is on template homes)."""
    assert bundled_report.results and bundled_report.binaries[0].path == bundled.path
    on_fresh = run_scenarios(binaries=[bundled], timeout=30.0, fresh_homes=True)

    def outcomes(report):
        return [(r.name, r.verdict, r.observed) for r in report.results]

    assert outcomes(bundled_report) == outcomes(on_fresh), (bundled_report.to_text(), on_fresh.to_text())
    assert len(outcomes(on_fresh)) >= 10 and not any(v == "error" for _, v, _ in outcomes(on_fresh)), on_fresh.to_text()


def test_old_binary_matrix(old_report):
    got = {r.name: r.verdict for r in old_report.results}
    # the message names each scenario that differs from the table with what it observed (the whole dict was cut short)
    assert got == EXPECTED_0_101, {r.name: f"{r.verdict}: {r.observed}" for r in old_report.results
                                   if EXPECTED_0_101.get(r.name) != r.verdict}
    assert old_report.binaries[0].rollback_method == "thread/rollback"
    assert old_report.result("rollback-after-turns").observed.startswith("thread/rollback:")
    assert old_report.result("archive-just-started").observed == (
        "thread/archive failed: -32600 'no rollout found for thread id <id>'")
    steps = old_report.result("rollback-after-turns").steps
    assert any(s.method == "thread/rollback" and s.params["numTurns"] == 1 for s in steps)


def test_two_binaries_make_two_columns(bundled, old_binary):
    report = run_scenarios(["archive-just-started"], [bundled, old_binary])
    assert report.labels == [bundled.version, "0.101.0"]
    assert [r.verdict for r in report.results] == ["as-intended", "differs"]
    assert report.to_text().splitlines()[0].split() == ["scenario", bundled.version, "0.101.0"]


def test_missing_rollback_method_is_unsupported(bundled):
    fake = dataclasses.replace(bundled, methods=bundled.methods - {"thread/revert", "thread/rollback"})
    r = run_one(SCENARIOS["rollback-after-turns"], fake)
    assert r.verdict == "unsupported" and "thread/revert" in r.observed and r.steps == []


def test_unrunnable_binary_is_an_error_not_a_crash(bundled, tmp_path):
    fake_bin = tmp_path / "codex"
    fake_bin.write_text("#!/bin/sh\nexit 3\n")
    fake_bin.chmod(0o755)
    fake = dataclasses.replace(bundled, path=fake_bin)
    report = run_scenarios(["start-is-lazy"], [fake], timeout=3.0)
    assert report.results[0].verdict == "error" and report.exit_code == 2
    assert "\n" not in report.results[0].observed


def test_keep_keeps_the_home_of_a_difference(bundled):
    r = run_one(SCENARIOS["fork-just-started"], bundled, keep=True)
    try:
        assert r.verdict == "differs" and r.kept_home is not None
        assert (r.kept_home / "config.toml").is_file()
    finally:
        shutil.rmtree(r.kept_home, ignore_errors=True)
    assert run_one(SCENARIOS["start-is-lazy"], bundled, keep=True).kept_home is None


def test_unknown_scenario_lists_the_names():
    with pytest.raises(UnknownScenarioError) as info:
        run_scenarios(["nope"])
    assert "'nope'" in str(info.value) and "start-is-lazy" in str(info.value)


def test_fetch_reuses_the_cache_and_names_a_bad_version(old_binary, old_cache, tmp_path, monkeypatch):
    import codex_fixtures.appserver.fetch as fetch_mod

    def no_download(*args, **kwargs):
        raise AssertionError(f"cached version was downloaded again: {args[0] if args else kwargs}")

    monkeypatch.setattr(fetch_mod.subprocess, "run", no_download)
    again = fetch_codex_version("0.101.0", cache_dir=old_cache)
    assert again.resolve() == old_binary.path
    monkeypatch.undo()
    assert again.is_relative_to(old_cache / "0.101.0")
    with pytest.raises(FetchError, match="not a release number"):
        fetch_codex_version("latest", cache_dir=tmp_path)
    assert not Path(tmp_path, "latest").exists()
