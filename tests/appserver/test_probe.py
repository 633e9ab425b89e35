"""Probes of a codex binary (``--version``, the schema): own process group, hermetic env, one-line errors.

Broken binaries are shell scripts written by the tests: one whose ``--version``
prints non-UTF-8, one whose schema is not JSON, one whose schema command hangs,
and one whose ``--version`` hangs with a ``sleep`` child (no orphan may remain).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from codex_fixtures import CodexFixturesError, codex_binary_info
from codex_fixtures.repro.cli import main as repro_main

VERSION_OK = 'if [ "$1" = "--version" ]; then echo "codex-cli 9.9.9"; exit 0; fi\n'


def fake_binary(tmp_path: Path, name: str, body: str) -> Path:
    """An executable shell script ``name`` (a stand-in for a broken codex)."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


BROKEN = {
    "non-utf8-version": ("printf 'codex-cli \\377\\376 9.9.9\\n'\n", "non-UTF-8"),
    "schema-not-json": (
        VERSION_OK + 'while [ $# -gt 0 ]; do [ "$1" = "--out" ] && out="$2"; shift; done\n'
        'mkdir -p "$out"; printf "not json {" > "$out/ClientRequest.json"\n',
        "not JSON",
    ),
    "schema-hangs": (VERSION_OK + "exec sleep 1000\n", "did not finish"),
}


@pytest.fixture
def short_probes(monkeypatch):
    """Probe timeouts of half a second (the defaults are 15 and 30 s)."""
    from codex_fixtures.appserver import probe

    monkeypatch.setattr(probe, "VERSION_TIMEOUT_S", 0.5)
    monkeypatch.setattr(probe, "SCHEMA_TIMEOUT_S", 0.5)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_binary_is_one_line_naming_it_and_what_was_wrong(tmp_path, short_probes, kind):
    body, what = BROKEN[kind]
    binary = fake_binary(tmp_path, kind, body)
    with pytest.raises(CodexFixturesError) as err:
        codex_binary_info(binary)
    from codex_fixtures.errors import BinaryProbeError

    assert isinstance(err.value, BinaryProbeError)
    text = str(err.value)
    assert "\n" not in text and str(binary) in text and what in text, text


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_codex_repro_reports_a_broken_binary_in_one_line_and_exits_2(tmp_path, short_probes, capsys, kind):
    binary = fake_binary(tmp_path, kind, BROKEN[kind][0])
    rc = repro_main(["run", "start-is-lazy", "--no-default", "--codex-bin", str(binary), "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert err.count("\n") == 1 and str(binary) in err and BROKEN[kind][1] in err, err


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_codex_binary_fixture_fails_in_one_line_on_a_broken_binary(pytester, tmp_path, short_probes, kind):
    binary = fake_binary(tmp_path, kind, BROKEN[kind][0])
    pytester.makepyfile("def test_uses_it(codex_binary):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--codex-bin={binary}")
    result.assert_outcomes(errors=1)
    text = result.stdout.str()
    report = text.split("ERROR at setup of test_uses_it")[1].split("short test summary")[0]
    lines = [line for line in report.splitlines() if line.strip("=_ ")]
    assert len(lines) == 1 and str(binary) in lines[0] and BROKEN[kind][1] in lines[0], text  # one line, no traceback


def test_a_hanging_probe_is_killed_with_its_process_group(tmp_path, short_probes):
    pidfile = tmp_path / "sleep.pid"
    binary = fake_binary(tmp_path, "hangs", f"sleep 1000 &\necho $! > {pidfile}\nwait\n")
    t0 = time.monotonic()
    try:
        with pytest.raises(CodexFixturesError, match="did not finish"):
            codex_binary_info(binary)
        assert time.monotonic() - t0 < 10  # a generous bound: the probe's timeout is 0.5 s, the default 15 s
        grandchild = int(pidfile.read_text())
        deadline = time.monotonic() + 5
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(grandchild), f"the probe's child {grandchild} was left running"
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except (ProcessLookupError, ValueError):
                pass


def test_probes_get_a_temp_codex_home_home_and_tmpdir(tmp_path, monkeypatch):
    record = tmp_path / "env.txt"
    binary = fake_binary(
        tmp_path, "records-env",
        f'echo "$1 CODEX_HOME=$CODEX_HOME HOME=$HOME TMPDIR=$TMPDIR KEY=${{OPENAI_API_KEY:-none}}" >> {record}\n'
        'if [ "$1" = "--version" ]; then echo "codex-cli 9.9.9"; fi\n'
        'mkdir -p "$CODEX_HOME/tmp/arg0-linux"\n',
    )
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-reach")
    monkeypatch.delenv("CODEX_HOME", raising=False)
    info = codex_binary_info(binary)
    assert info.version == "9.9.9" and info.methods == frozenset()
    lines = record.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["--version", "app-server"]
    for line in lines:
        fields = dict(kv.split("=", 1) for kv in line.split()[1:])
        assert fields["CODEX_HOME"] and fields["HOME"] != str(user_home) and fields["TMPDIR"], line
        assert fields["KEY"] == "none", line
        assert not Path(fields["CODEX_HOME"]).exists() and not Path(fields["HOME"]).exists(), "probe dirs not removed"
    assert list(user_home.iterdir()) == []
