"""``codex-repro replay ROLLOUT``: a rollout the binary wrote, rebuilt and put through the thread operations.

The rollouts come from one home built per module on the binary in use (``--codex-bin=`` picks
another); the CLI runs in a subprocess with a private ``TMPDIR`` so what it leaves there is seen.
A release that refuses ``thread/archive`` (tests/fake_release.py) gives rows that differ, exit 1,
and ``--keep`` keeps exactly their homes; a bad rollout is one line, exit 2, before any binary runs;
``bisect --rollout`` finds where a replay operation changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from codex_fixtures import (
    CodexBinary,
    HomeSpec,
    SpecTurn,
    build_home,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
)
from codex_fixtures.homebuild.cache import HomeCache
from codex_fixtures.repro.baseline import load_baseline
from codex_fixtures.repro.cli import main
from codex_fixtures.repro.replay import OPERATIONS

pytestmark = pytest.mark.codex_binary
CLI_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def codex_binary(request: pytest.FixtureRequest) -> CodexBinary:  # module scope for the module-scoped home
    from codex_fixtures import codex_binary_info, resolve_codex_bin

    return codex_binary_info(resolve_codex_bin(option=request.config.getoption("--codex-bin") or None))


@pytest.fixture(scope="module")
def rollouts(codex_binary: CodexBinary, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    spec = HomeSpec()
    notes = spec.thread(turns=[("hi", "hello"), ("more", "sure")], name="notes")
    tools = spec.thread(turns=[SpecTurn("run it", "ran", commands=["echo replayed"])])
    fork = spec.fork(notes, turns=[("in fork", "forked")])
    built = build_home(spec, tmp_path_factory.mktemp("user") / "home", codex_bin=codex_binary.path,
                       cache=HomeCache(tmp_path_factory.mktemp("cache")))
    return {"notes": rollout_of(built.path, built.id(notes)), "tools": rollout_of(built.path, built.id(tools)),
            "fork": rollout_of(built.path, built.id(fork))}


def rollout_of(home: Path, thread_id: str) -> Path:
    path = find_thread_path_by_id_str(home, thread_id) or find_archived_thread_path_by_id_str(home, thread_id)
    assert path is not None, f"no rollout for {thread_id} in {home}"
    return path


def run_cli_process(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``codex-repro ARGV`` in a child with its own TMPDIR (returned, to see what is left in it)."""
    tmpdir = tmp_path / "private-tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    done = subprocess.run([sys.executable, "-m", "codex_fixtures.repro.cli", *argv], env=env, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT_S, check=False)
    return done, tmpdir


def rows(text: str, labels: list[str]) -> dict[str, list[str]]:
    """The matrix rows: operation -> verdict per column."""
    out = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in OPERATIONS and len(cells) == 1 + len(labels):
            out[cells[0]] = cells[1:]
    return out


def test_replay_of_a_fork_prints_the_matrix_writes_json_and_leaves_nothing(
        rollouts: dict[str, Path], codex_binary: CodexBinary, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "replay.json"
    done, tmpdir = run_cli_process(tmp_path, "replay", str(rollouts["fork"]), "--no-default", "--codex-bin",
                                   str(codex_binary.path), "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.listdir(tmpdir) == []  # every home of every operation removed, the temp root too
    expected = {op: ["as-intended"] for op in OPERATIONS}
    if not codex_binary.has_method("thread/turns/list"):  # 0.101: keyed by the schema, not the version
        expected["turns-list"] = ["unsupported"]
    assert rows(done.stdout, [codex_binary.version]) == expected
    assert done.stdout.startswith(f"rollout: {rollouts['fork']}\n")
    assert "3 turn(s)" in done.stdout and "a fork of" in done.stdout and "commands replaced by stand-ins" in done.stdout
    assert f"home on {codex_binary.version}: " in done.stdout
    assert f"[6/6] {codex_binary.version}" in done.stderr and "replay of" in done.stderr

    doc = json.loads(report.read_text())
    assert doc["tool"] == "codex-repro replay" and doc["exit_code"] == 0 and len(doc["results"]) == len(OPERATIONS)
    assert doc["replay"]["rollout"] == str(rollouts["fork"]) and doc["replay"]["commands"] == "stand-ins"
    assert [s["name"] for s in doc["scenarios"]] == list(OPERATIONS)
    assert load_baseline(report)["results"]  # `check` reads it ...
    rc = main(["check", str(report), "--no-default", "--codex-bin", str(codex_binary.path), "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err  # ... and replays the rollout again
    assert "behaviour unchanged" in out and f"({len(OPERATIONS)} result(s))" in out


def test_a_release_that_refuses_archive_differs_exit_1_and_keep_keeps_those_homes(
        rollouts: dict[str, Path], fake_releases: Path, tmp_path: Path) -> None:
    old = fake_releases / "1.0.0" / "codex"  # the real binary behind a wrapper that refuses thread/archive
    done, tmpdir = run_cli_process(tmp_path, "replay", str(rollouts["tools"]), "--no-default", "--codex-bin", str(old),
                                   "--keep", "-q")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == ""  # -q
    matrix = rows(done.stdout, ["1.0.0"])
    assert matrix["archive"] == ["DIFFERS"] and matrix["unarchive"] == ["DIFFERS"]
    assert {op: v for op, v in matrix.items() if op not in ("archive", "unarchive")} == \
           {op: ["as-intended"] for op in OPERATIONS if op not in ("archive", "unarchive")}
    assert "[1.0.0] archive: intended: thread/archive moves" in done.stdout
    assert "observed: thread/archive failed: -32600 'no rollout found for thread id <id>'" in done.stdout
    kept = sorted(line.split(": ", 1)[1] for line in done.stdout.split("kept CODEX_HOMEs:\n", 1)[1].splitlines()
                  if line.startswith("  [1.0.0] "))
    assert len(kept) == 2 and sorted(os.listdir(tmpdir)) == sorted(Path(k).name for k in kept)
    for home in kept:
        assert (Path(home) / "config.toml").is_file() and (Path(home) / "sessions").is_dir()
        shutil.rmtree(home)


@pytest.mark.parametrize("content", ["not a rollout\n", ""])
def test_a_bad_rollout_is_one_line_exit_2_before_any_binary_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 content: str) -> None:
    bad = tmp_path / "rollout.jsonl"
    bad.write_text(content)
    rc = main(["replay", str(bad), "--codex-bin", str(tmp_path / "no-such-codex")])  # never looked at
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"codex-repro: error: {bad}")
    assert ("not JSON" if content else "empty file") in err


def test_bisect_finds_where_a_replay_operation_changes(rollouts: dict[str, Path], fake_releases: Path,
                                                       capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "bisect.json"
    rc = main(["bisect", "archive", "--rollout", str(rollouts["notes"]), "--good", "1.0.0", "--bad", "1.8.0",
               "--releases", str(fake_releases), "--json", str(out_json)])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    lines = out.splitlines()
    assert lines[0] == "archive changed between 1.4.0 and 1.5.0:"
    assert lines[1].split()[:2] == ["1.4.0", "differs"] and lines[2].split()[:2] == ["1.5.0", "as-intended"]
    assert "home on 1.5.0: " in err
    doc = json.loads(out_json.read_text())
    assert doc["rollout"] == str(rollouts["notes"]) and doc["intended"] == OPERATIONS["archive"][0]
    rc = main(["bisect", "archive-just-started", "--rollout", str(rollouts["notes"]), "--good", "1.0.0",
               "--bad", "1.8.0", "--releases", str(fake_releases)])
    out, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and "unknown replay operation 'archive-just-started'" in err


def test_history_shows_where_replay_operations_change(rollouts: dict[str, Path], fake_releases: Path,
                                                      capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "history.json"
    rc = main(["history", "archive", "read-turns", "--rollout", str(rollouts["notes"]), "--from", "1.3.0", "--to", "1.6.0",
               "--releases", str(fake_releases), "--json", str(out_json)])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:5]}
    assert rows["1.4.0"] == ["DIFFERS", "ok"] and rows["1.5.0"] == ["ok", "ok"]  # archive refused up to 1.4.0
    assert "archive: 1.4.0 -> 1.5.0: differs -> as-intended" in out and "read-turns:" not in out.split("changes:")[1]
    doc = json.loads(out_json.read_text())
    assert doc["rollout"] == str(rollouts["notes"])
    assert [s["intended"] for s in doc["scenarios"]] == [OPERATIONS["archive"][0], OPERATIONS["read-turns"][0]]
    rc = main(["history", "fork-everything", "--rollout", str(rollouts["notes"]), "--from", "1.3.0", "--to", "1.6.0",
               "--releases", str(fake_releases)])
    out, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and "unknown replay operation 'fork-everything'" in err


def test_replay_of_a_home_runs_every_operation_on_every_thread_of_one_build(
        rollouts: dict[str, Path], codex_binary: CodexBinary, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 24.4: ``replay HOME`` (and several rollouts): one home per binary with every thread once."""
    home = rollouts["notes"].parents[4]  # .../home/sessions/YYYY/MM/DD/rollout-*.jsonl
    report = tmp_path / "replay.json"
    rc = main(["replay", str(home), "--no-default", "--codex-bin", str(codex_binary.path), "--json", str(report),
               "--jobs", "2", "-q"])
    out, err = capsys.readouterr()
    doc = json.loads(report.read_text())
    assert rc == 0, out + err
    labels = {p: p[-12:] for p in (json.loads(line)["payload"]["id"] for line in
                                   (r.read_text().splitlines()[0] for r in rollouts.values()))}
    names = [s["name"] for s in doc["scenarios"]]
    assert len(names) == 3 * len(OPERATIONS) and len(set(names)) == len(names)
    assert {n.rsplit(" ", 1)[1] for n in names} == set(labels.values())  # each thread's operations, once
    assert sorted(doc["replay"]["rollouts"]) == sorted(str(p) for p in rollouts.values())
    assert out.count("rollout [") == 3 and "home on " in out
    verdicts = {r["verdict"] for r in doc["results"]}
    assert verdicts <= {"as-intended", "unsupported"}
    rc = main(["check", str(report), "--no-default", "--codex-bin", str(codex_binary.path), "-q"])
    out, err = capsys.readouterr()
    assert rc == 0 and "behaviour unchanged" in out, out + err
