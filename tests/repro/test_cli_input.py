"""``codex-repro``: bad --json targets, --timeout values and corrupted baselines are refused before anything runs."""

from __future__ import annotations

import copy
import json

import pytest
from bounded import run_bounded
from codex_fixtures.repro import cli

GOOD = {
    "schema_version": 1, "tool": "codex-repro", "exit_code": 0,
    "binaries": [{"label": "0.163.0", "version": "0.163.0", "path": "/x/codex", "rollback_method": "thread/revert"}],
    "scenarios": [{"name": "start-is-lazy", "intended": "..."}],
    "results": [{"scenario": "start-is-lazy", "binary": "0.163.0", "verdict": "as-intended", "observed": "ok",
                 "intended": "...", "detail": "", "elapsed_s": 0.1, "kept_home": None, "steps": []}],
}


@pytest.fixture
def no_binary(monkeypatch):
    """Any attempt to probe or run a binary fails the test: these errors come first."""
    def boom(*a, **k):
        raise AssertionError("a binary was probed before the bad input was refused")

    monkeypatch.setattr(cli, "codex_binary_info", boom)
    monkeypatch.setattr(cli, "run_scenarios", boom)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("codex-repro: error: ")
    return err


@pytest.mark.parametrize("where", ["missing-dir", "directory", "under-a-file"])
def test_a_json_target_that_cannot_be_written_is_refused_before_running(capsys, tmp_path, no_binary, where):
    target = {"missing-dir": tmp_path / "nonexistent" / "x.json", "directory": tmp_path,
              "under-a-file": tmp_path / "file" / "x.json"}[where]
    (tmp_path / "file").write_text("")
    assert cli.main(["run", "start-is-lazy", "--quiet", "--json", str(target)]) == 2
    line = one_line_error(capsys)
    assert "--json" in line and ("is a directory" in line or "does not exist" in line or "is not a directory" in line)


@pytest.mark.parametrize("value", ["nan", "inf", "1e10", "-1", "0"])
@pytest.mark.parametrize("command", ["run", "check"])
def test_a_bad_timeout_is_refused_in_one_line(capsys, tmp_path, no_binary, command, value):
    base = tmp_path / "b.json"
    base.write_text(json.dumps(GOOD))
    argv = ["run", "start-is-lazy"] if command == "run" else ["check", str(base)]
    assert cli.main([*argv, "--quiet", f"--timeout={value}"]) == 2
    assert "--timeout must be" in one_line_error(capsys)


def corrupt(path, value):
    doc = copy.deepcopy(GOOD)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(("path", "value", "field"), [
    (("scenarios", 0, "name"), ["start-is-lazy"], "$.scenarios[0].name: expected string, got array"),
    (("binaries", 0, "label"), ["0.163.0"], "$.binaries[0].label: expected string, got array"),
    (("results", 0, "scenario"), {"name": "x"}, "$.results[0].scenario: expected string, got object"),
    (("binaries", 0, "path"), 5, "$.binaries[0].path: expected string or null, got integer"),
    (("results", 0, "verdict"), "great", "$.results[0].verdict: expected one of as-intended, differs"),
    (("results", 0, "observed"), None, "$.results[0].observed: expected string, got null"),
], ids=["scenario-name-list", "binary-label-list", "result-scenario-dict", "path-number", "verdict", "observed-null"])
def test_a_corrupted_baseline_names_the_bad_field(capsys, tmp_path, no_binary, path, value, field):
    base = tmp_path / "b.json"
    base.write_text(json.dumps(corrupt(path, value)))
    assert cli.main(["check", str(base), "--quiet"]) == 2
    line = one_line_error(capsys)
    assert "malformed codex-repro report" in line and field in line, line


def test_a_baseline_nested_200000_deep_is_refused_in_one_line(capsys, tmp_path, no_binary):
    base = tmp_path / "deep.json"
    base.write_text('{"schema_version": 1, "results": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert cli.main(["check", str(base), "--quiet"]) == 2
    assert "nested too deeply" in one_line_error(capsys)


def test_a_baseline_that_is_not_utf8_or_not_json_is_refused(capsys, tmp_path, no_binary):
    base = tmp_path / "bad.json"
    base.write_bytes(b'{"schema_version": 1, "x": "\xff"}')
    assert cli.main(["check", str(base), "--quiet"]) == 2
    assert "cannot read baseline" in one_line_error(capsys)
    base.write_text("{not json")
    assert cli.main(["check", str(base), "--quiet"]) == 2
    assert "not JSON" in one_line_error(capsys)


def test_the_shape_check_accepts_what_run_writes(tmp_path):
    from codex_fixtures.repro.baseline import load_baseline

    path = tmp_path / "good.json"
    path.write_text(json.dumps(GOOD))
    assert load_baseline(path) == GOOD


# ----------------------------------------------------------------------------- issue 18, 7 and 9
@pytest.mark.parametrize("kind", ["char-device", "fifo", "directory"])
def test_a_baseline_that_is_not_a_regular_file_is_refused_before_opening(capsys, tmp_path, no_binary, kind):
    import os

    path = {"char-device": "/dev/zero", "fifo": str(tmp_path / "fifo"), "directory": str(tmp_path)}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    assert run_bounded(lambda: cli.main(["check", path, "--quiet"])) == 2
    line = one_line_error(capsys)
    what = {"char-device": "a character device", "fifo": "a FIFO", "directory": "a directory"}[kind]
    assert f"cannot read baseline {path}: not a regular file ({what})" in line, line


def test_a_baseline_over_the_size_limit_is_refused_unread(capsys, tmp_path, no_binary):
    import os

    from codex_fixtures.repro.baseline import MAX_BASELINE_BYTES

    assert MAX_BASELINE_BYTES == 64 << 20
    base = tmp_path / "huge.json"
    base.write_text(json.dumps(GOOD))
    os.truncate(base, MAX_BASELINE_BYTES + 1)  # sparse
    assert run_bounded(lambda: cli.main(["check", str(base), "--quiet"])) == 2
    assert f"over MAX_BASELINE_BYTES={MAX_BASELINE_BYTES}" in one_line_error(capsys)


@pytest.fixture
def planted(tmp_path):
    """A baseline whose binaries[].path names a program that leaves a marker when run, claiming the bundled version."""
    from codex_fixtures import codex_binary_info

    bundled = codex_binary_info()
    marker = tmp_path / "ran"
    program = tmp_path / "not-codex"
    program.write_text(f"#!/bin/sh\necho ran >> {marker}\necho 'codex-cli {bundled.version}'\n")
    program.chmod(0o755)
    doc = copy.deepcopy(GOOD)
    doc["binaries"][0].update(version=bundled.version, label=bundled.version, path=str(program))
    doc["results"][0]["binary"] = bundled.version
    base = tmp_path / "lock.json"
    base.write_text(json.dumps(doc))
    return base, marker, program, bundled


def _args(*argv):
    return cli.build_parser().parse_args(["check", *argv])


def test_check_never_runs_the_program_a_baseline_names(capsys, planted):
    """Issue 18, 9: a lock file edited alone made CI run any program; binaries are resolved by version now."""
    base, marker, program, bundled = planted
    args = _args(str(base))
    bins = cli._baseline_binaries(cli.load_baseline(str(base)), args)
    assert [b.path for b in bins] == [bundled.path]
    assert not marker.exists(), "check ran the program the baseline names"
    err = capsys.readouterr().err
    assert f"the baseline's path for codex {bundled.version} ({program}) is not run" in err
    assert len(err.strip().splitlines()) == 1


def test_trust_baseline_paths_runs_the_named_binary(capsys, planted):
    base, marker, program, bundled = planted
    args = _args(str(base), "--trust-baseline-paths", "--quiet")
    cli._baseline_binaries(cli.load_baseline(str(base)), args)
    assert marker.exists()  # only with the flag


def test_a_baseline_version_that_is_not_a_release_number_is_refused_before_any_fetch(capsys, tmp_path, no_binary):
    doc = copy.deepcopy(GOOD)
    doc["binaries"][0]["version"] = "../../etc"
    base = tmp_path / "b.json"
    base.write_text(json.dumps(doc))
    assert cli.main(["check", str(base), "--quiet"]) == 2
    assert "is not a release number" in one_line_error(capsys)
