"""CodexLaunch and the official-SDK fixtures: ``codex_launch``, ``codex_sdk``, ``codex_async_sdk``.

The turns run the real binary through ``openai_codex`` against the mock; a
pytester run checks teardown (the SDK's child is gone) and the failure report
(the SDK's stderr tail).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from codex_fixtures import AppServerError, CodexBinary, CodexLaunch
from codex_fixtures.appserver.launch import open_codex, sdk_binary_problem, sdk_process, sdk_stderr_tail
from codex_fixtures.appserver.os_probe import without_probe_dir
from conftest import leftover_app_servers

real = pytest.mark.codex_binary
# openai_codex is imported in the tests that use it (its generated models: ~0.9 s of CPU at every xdist worker's
# collection otherwise); the SDK fixtures import it for the tests that take them.


@pytest.fixture
def sdk_binary(codex_binary):
    """Skip (with the reason) when the binary in use is older than the SDK supports."""
    problem = sdk_binary_problem(codex_binary)
    if problem:
        pytest.skip(problem)
    return codex_binary


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def test_launch_env_is_hermetic_and_overridable(codex_home, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-leak")
    monkeypatch.setenv("KEEP_ME", "1")
    monkeypatch.setenv("CODEX_SQLITE_HOME", "/users/sqlite")  # not on the allow-list of child_env.py
    monkeypatch.setenv("CODEX_SANDBOX_NETWORK_DISABLED", "1")  # the user's own codex settings stay out
    monkeypatch.setenv("XDG_CONFIG_HOME", "/leak")
    with CodexLaunch(codex_home, env={"KEEP_ME": None, "EXTRA": "x", "CODEX_WANTED": "y"},
                     config_overrides=["analytics.enabled=false"]) as launch:
        env = launch.env
        assert env["CODEX_HOME"] == str(codex_home) and env["CODEX_WANTED"] == "y"
        assert "CODEX_SANDBOX_NETWORK_DISABLED" not in env and "XDG_CONFIG_HOME" not in env
        assert "OPENAI_API_KEY" not in env and "KEEP_ME" not in env and env["EXTRA"] == "x"
        assert "CODEX_SQLITE_HOME" not in env
        assert without_probe_dir(env["PATH"]) == os.environ["PATH"]  # behind the cached OS probe (os_probe.py)
        assert Path(env["HOME"]).is_dir() and Path(env["TMPDIR"]).is_dir() and launch.cwd.is_dir()
        assert not any(launch.cwd.iterdir())
        assert "127.0.0.1" in env["NO_PROXY"]
        assert launch.args == (str(launch.codex_bin), "--config", "analytics.enabled=false", "app-server", "--listen", "stdio://")
        config = launch.sdk_config(client_name="my_app")
        assert config.client_name == "my_app" and config.cwd == str(launch.cwd)
        # the SDK merges its env over os.environ: the executable it runs ignores both (tests/appserver/test_launch_executable.py)
        assert config.codex_bin == str(launch.executable) and config.launch_args_override is None
        assert config.config_overrides == ("analytics.enabled=false",)
    assert not Path(env["HOME"]).exists()  # close() removed the temp dirs


def test_launch_args_end_with_the_extra_args(codex_home):
    with CodexLaunch(codex_home, extra_args=["-c", "k=v"]) as launch:
        assert launch.args[-5:] == ("app-server", "--listen", "stdio://", "-c", "k=v")
    with pytest.raises(TypeError, match="extra_args must be a list of strings"):
        CodexLaunch(codex_home, extra_args="-c k=v")


def test_bad_arguments_are_one_line_errors(codex_home, tmp_path):
    with pytest.raises(AppServerError, match="CODEX_HOME is not a directory"):
        CodexLaunch(tmp_path / "missing")
    with pytest.raises(ValueError, match="'key=value' strings, got 'nokey'"):
        CodexLaunch(codex_home, config_overrides=["nokey"])
    with pytest.raises(TypeError, match="codex_home must be a path"):
        CodexLaunch(42)  # type: ignore[arg-type]
    assert sdk_stderr_tail(object()) is None and sdk_process(object()) is None


@real
@pytest.mark.codex(reply="Hello from the mock")
def test_codex_sdk_runs_a_turn(sdk_binary, codex_sdk, codex_responses, codex_home, codex_launch):
    from openai_codex import ApprovalMode, Sandbox

    thread = codex_sdk.thread_start(approval_mode=ApprovalMode.deny_all, sandbox=Sandbox.read_only)
    result = thread.run("say hi")
    assert result.final_response == "Hello from the mock"
    assert codex_responses.requests[-1].message_input_texts("user")[-1] == "say hi"
    (server,) = codex_launch.processes  # codex itself (the SDK's child is the launch's relay)
    assert _environ_of(server.pid)["CODEX_HOME"] == str(codex_home)


@real
@pytest.mark.anyio
@pytest.mark.codex(reply="Hello async")
async def test_codex_async_sdk_runs_a_turn(sdk_binary, codex_async_sdk, codex_responses):
    from openai_codex import ApprovalMode, Sandbox

    thread = await codex_async_sdk.thread_start(approval_mode=ApprovalMode.deny_all, sandbox=Sandbox.read_only)
    turn = await thread.turn("say hi")
    methods = [note.method async for note in turn.stream()]
    assert methods[-1] == "turn/completed"
    result = await thread.run("again")
    assert result.final_response == "Hello async"
    assert len(codex_responses.requests) == 2


@real
def test_sdk_child_has_no_api_key_and_is_codex_itself(sdk_binary, codex_launch, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-reach-the-child")
    with open_codex(codex_launch) as codex:
        proc = sdk_process(codex)  # the relay; codex itself is in codex_launch.processes
        (server,) = codex_launch.processes
        assert os.path.basename(os.readlink(f"/proc/{server.pid}/exe")) == "codex"
        child = _environ_of(server.pid)
        assert "OPENAI_API_KEY" not in child and child["HOME"] == codex_launch.env["HOME"]
        assert codex.metadata.serverInfo is not None
    assert proc.returncode is not None  # reaped on exit
    assert server.wait(10) is not None and not server.alive


@real
def test_an_application_can_spawn_its_own_app_server(codex_launch):
    proc = subprocess.Popen(codex_launch.args, env=codex_launch.env, cwd=codex_launch.cwd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(30, proc.kill)  # bounds the blocking readline below
    watchdog.start()
    try:
        init = {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "my_app", "version": "1"}}}
        proc.stdin.write(json.dumps(init) + "\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline() or "null")
        assert answer["id"] == 1 and answer["result"]["userAgent"].startswith("my_app/")
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(timeout=10)
        proc.stdin.close()
        proc.stdout.close()


def test_sdk_binary_problem_names_both_versions(tmp_path):
    import openai_codex

    old = sdk_binary_problem(CodexBinary(path=tmp_path / "codex", version="0.101.0"))
    assert old.startswith(f"openai_codex {openai_codex.__version__} needs codex >= 0.1")
    assert old.endswith(f"; the binary in use is codex 0.101.0 ({tmp_path / 'codex'})")
    assert sdk_binary_problem(CodexBinary(path=tmp_path / "codex", version="0.163.0")) is None


@pytest.mark.inner_plugins("anyio")
def test_sdk_fixtures_fail_in_one_line_on_a_too_old_binary(pytester, tmp_path):
    fake = tmp_path / "codex"
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "codex-cli 0.101.0" && exit 0\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    pytester.makepyfile("""
        import pytest

        def test_sync(codex_sdk):
            pass

        @pytest.mark.anyio
        async def test_async(codex_async_sdk):
            pass
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--codex-bin", str(fake))
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*codex_sdk: openai_codex * needs codex >= *; the binary in use is codex 0.101.0*"])
    result.stdout.fnmatch_lines(["*codex_async_sdk: openai_codex * needs codex >= *"])


DOWNSTREAM = '''
import json, os
import pytest
from openai_codex import ApprovalMode
from codex_fixtures.appserver.launch import sdk_process

RECORD = os.environ["SDK_PID_RECORD"]


def record(codex):
    with open(RECORD, "a") as f:
        f.write(json.dumps(sdk_process(codex).pid) + "\\n")


@pytest.mark.codex(reply="one")
def test_sync_passes(codex_sdk):
    record(codex_sdk)
    assert codex_sdk.thread_start(approval_mode=ApprovalMode.deny_all).run("hi").final_response == "one"


@pytest.mark.anyio
async def test_async_passes(codex_async_sdk):
    record(codex_async_sdk)
    thread = await codex_async_sdk.thread_start(approval_mode=ApprovalMode.deny_all)
    assert (await thread.run("hi")).final_response == "Done"


def test_sync_fails(codex_sdk):
    record(codex_sdk)
    assert False, "deliberate"


@pytest.mark.anyio
async def test_async_fails(codex_async_sdk):
    record(codex_async_sdk)
    raise RuntimeError("deliberate")
'''


@real
@pytest.mark.inner_plugins("anyio")
def test_sdk_fixtures_close_their_child_and_report_its_stderr(sdk_binary, pytester, tmp_path, monkeypatch):
    record = tmp_path / "pids.jsonl"
    monkeypatch.setenv("SDK_PID_RECORD", str(record))
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*openai_codex Codex app-server pid *: stderr tail*"])
    result.stdout.fnmatch_lines(["*openai_codex AsyncCodex app-server pid *: stderr tail*"])
    pids = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(pids) == 4
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone and reaped, not a zombie
    assert not [p for p, _ in leftover_app_servers() if p in pids]
