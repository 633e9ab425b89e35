"""``codex-repro``: list, run --json (stable shape), check against a baseline, bad input -> exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from codex_fixtures.repro.cli import main
from codex_fixtures.repro.scenarios import SCENARIOS

pytestmark = pytest.mark.codex_binary

SUBSET = ["start-is-lazy", "archive-just-started", "resume-just-started"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """One `run --json` of a few scenarios on the bundled binary (rc, path, parsed JSON)."""
    path = tmp_path_factory.mktemp("repro") / "baseline.json"
    rc = main(["run", *SUBSET, "--json", str(path), "--quiet"])
    return rc, path, json.loads(path.read_text())


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_names_every_scenario(capsys):
    rc, out, _ = run_cli(capsys, "list")
    assert rc == 0
    assert [line.split()[0] for line in out.splitlines()] == list(SCENARIOS)


def test_console_script_help_documents_exit_codes():
    proc = subprocess.run([sys.executable, "-m", "codex_fixtures.repro.cli", "run", "--help"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0
    assert "exit codes:" in proc.stdout and "--codex-version" in proc.stdout and "--keep" in proc.stdout


def test_run_prints_matrix_progress_and_differences(capsys):
    rc, out, err = run_cli(capsys, "run", "archive-just-started", "fork-just-started")
    assert rc == 1  # fork-just-started differs on current binaries
    lines = out.splitlines()
    assert lines[0].split()[0] == "scenario" and "legend:" in out
    assert any(line.startswith("archive-just-started") and "as-intended" in line for line in lines)
    assert any(line.startswith("fork-just-started") and "DIFFERS" in line for line in lines)
    assert "fork-just-started: intended:" in out and "observed: thread/fork failed: -32600" in out
    assert "[2/2]" in err  # progress goes to stderr


def test_json_shape_is_stable(baseline):
    rc, _, doc = baseline
    assert rc == 1
    assert set(doc) == {"schema_version", "tool", "elapsed_s", "exit_code", "summary", "binaries", "scenarios", "results"}
    assert doc["schema_version"] == 1 and doc["tool"] == "codex-repro" and doc["exit_code"] == 1
    assert doc["summary"] == {"as-intended": 2, "differs": 1, "unsupported": 0, "error": 0}
    (binary,) = doc["binaries"]
    assert set(binary) == {"label", "version", "path", "rollback_method"}
    assert [s["name"] for s in doc["scenarios"]] == SUBSET
    for result in doc["results"]:
        assert set(result) == {"scenario", "binary", "verdict", "intended", "observed", "detail", "elapsed_s",
                               "kept_home", "steps"}
        assert result["binary"] == binary["label"]
        for step in result["steps"]:
            assert set(step) == {"label", "method", "params", "result", "error", "notifications",
                                 "rollouts_before", "rollouts_after", "elapsed_s"}
    resume = next(r for r in doc["results"] if r["scenario"] == "resume-just-started")
    assert resume["steps"][-1]["error"]["code"] == -32600


def test_check_passes_on_a_fresh_baseline(baseline, capsys):
    _, path, _ = baseline
    rc, out, _ = run_cli(capsys, "check", str(path), "--quiet")
    assert rc == 0, out
    assert "unchanged" in out


def test_check_fails_on_an_edited_baseline(baseline, capsys, tmp_path):
    _, _, doc = baseline
    edited = json.loads(json.dumps(doc))
    target = next(r for r in edited["results"] if r["scenario"] == "resume-just-started")
    target["verdict"], target["observed"] = "as-intended", "thread/resume ok"
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    rc, out, _ = run_cli(capsys, "check", str(path), "--quiet")
    assert rc == 1
    assert "resume-just-started: verdict as-intended -> differs" in out


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("codex-repro: error: ")
    return lines[0]


def test_unknown_scenario_lists_names(capsys):
    rc, _, err = run_cli(capsys, "run", "no-such-scenario")
    assert rc == 2
    line = one_line_error(err)
    assert "'no-such-scenario'" in line and "concurrent-archive" in line


def test_missing_binary_path(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "run", "--codex-bin", str(tmp_path / "nope"))
    assert rc == 2 and "not found" in one_line_error(err)


def test_binary_that_is_not_codex(capsys, tmp_path):
    impostor = tmp_path / "codex"
    impostor.write_text("#!/bin/sh\necho 'something else 1.0'\n")
    impostor.chmod(0o755)
    rc, _, err = run_cli(capsys, "run", "--codex-bin", str(impostor))
    assert rc == 2 and "is not a codex binary" in one_line_error(err)


def test_version_no_registry_has(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    rc, _, err = run_cli(capsys, "run", "--quiet", "--codex-version", "0.0.1-nonexistent")
    assert rc == 2
    line = one_line_error(err)
    assert "codex 0.0.1-nonexistent" in line and "npm" in line and "PyPI" in line and "from versions" not in line
    assert not (tmp_path / "codex-threadkit" / "codex" / "0.0.1-nonexistent").exists()


def test_check_rejects_a_file_that_is_not_a_report(capsys, tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    rc, _, err = run_cli(capsys, "check", str(path))
    assert rc == 2 and "not a codex-repro report" in one_line_error(err)
    rc, _, err = run_cli(capsys, "check", str(tmp_path / "missing.json"))
    assert rc == 2 and "baseline not found" in one_line_error(err)


def test_malformed_version_fails_before_anything_is_fetched(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    rc, _, err = run_cli(capsys, "run", "--codex-version", "latest")
    assert rc == 2
    assert "'latest' is not a release number" in one_line_error(err)  # no "fetching codex latest" progress line
    assert not (tmp_path / "codex-threadkit").exists()


def test_directory_as_binary(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "run", "--codex-bin", str(tmp_path))
    assert rc == 2 and "is not a file" in one_line_error(err)


@pytest.mark.parametrize("doc", [
    {"schema_version": 1, "binaries": [{"label": "x", "version": "0.163.0"}], "scenarios": [], "results": [{}]},
    {"schema_version": 1, "binaries": "0.163.0", "scenarios": [], "results": []},
    {"schema_version": 1},
])
def test_check_rejects_a_malformed_report(capsys, tmp_path, doc):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    rc, _, err = run_cli(capsys, "check", str(path))
    assert rc == 2 and "malformed codex-repro report" in one_line_error(err)


def test_check_refuses_a_report_without_results(capsys, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"schema_version": 1, "binaries": [], "scenarios": [], "results": []}))
    rc, _, err = run_cli(capsys, "check", str(path))
    assert rc == 2 and "no results to check against" in one_line_error(err)


def test_registry_errors_are_trimmed_to_the_telling_part():
    from codex_fixtures.appserver.fetch import _first_line

    npm = ("npm error code ETARGET\nnpm error notarget No matching version found for @openai/codex@0.0.1.\n"
           "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n")
    pip = ("ERROR: Could not find a version that satisfies the requirement openai-codex-cli-bin==0.0.1 "
           "(from versions: 0.131.0a8, 0.133.0, 0.134.0, 0.135.0, 0.136.0, 0.137.0, 0.138.0, 0.139.0, 0.140.0)\n"
           "ERROR: No matching distribution found for openai-codex-cli-bin==0.0.1\n")
    assert _first_line(npm) == "No matching version found for @openai/codex@0.0.1"
    assert _first_line(pip) == "Could not find a version that satisfies the requirement openai-codex-cli-bin==0.0.1"


def test_fetch_reports_a_download_only_when_the_cache_misses(tmp_path, monkeypatch):
    import codex_fixtures.appserver.fetch as fetch_mod

    def fake_npm(version, work, timeout):
        binary = work / "bin" / "codex"
        binary.parent.mkdir()
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
        return binary, ""

    monkeypatch.setattr(fetch_mod, "_via_npm", fake_npm)
    downloads = []
    first = fetch_mod.fetch_codex_version("v9.9.9", cache_dir=tmp_path, on_download=downloads.append)
    again = fetch_mod.fetch_codex_version("9.9.9", cache_dir=tmp_path, on_download=downloads.append)
    assert first == again and first.is_relative_to(tmp_path / "9.9.9")
    assert downloads == ["9.9.9"]


def test_a_second_version_adds_a_column_and_a_present_one_is_not_refetched(capsys, monkeypatch, tmp_path):
    from codex_fixtures import codex_binary_info

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bundled = codex_binary_info().version
    rc, out, err = run_cli(capsys, "run", "start-is-lazy", "--codex-version", "0.101.0",
                           "--codex-version", bundled, "--json", "-", "--quiet")
    doc = json.loads(out)
    assert rc == 0, err
    assert [b["version"] for b in doc["binaries"]] == [bundled, "0.101.0"]
    assert not (tmp_path / "cache" / "codex-threadkit" / "codex" / bundled).exists()
    rc, out, err = run_cli(capsys, "run", "start-is-lazy", "--no-default", "--codex-version", "0.101.0", "--json", "-", "--quiet")
    assert [b["version"] for b in json.loads(out)["binaries"]] == ["0.101.0"]


@pytest.mark.parametrize("flag", [[], ["--fresh-homes"]])
def test_fresh_homes_flag_reaches_the_runner(capsys, monkeypatch, flag):
    import codex_fixtures.repro.cli as cli

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["fresh_homes"])
        return real(*args, **kwargs)

    real = cli.run_scenarios
    monkeypatch.setattr(cli, "run_scenarios", spy)
    rc, out, _ = run_cli(capsys, "run", "start-is-lazy", "--quiet", *flag)
    assert rc == 0 and "as-intended" in out
    assert seen == [bool(flag)]
