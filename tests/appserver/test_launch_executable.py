"""``CodexLaunch.executable``: any client library's own app-server, hermetic, recorded and killable.

Each test hands a tiny client library (``tiny_clients``) or the official SDK the
launch's executable and checks what the REAL codex it started got: its environ
(``/proc/<pid>/environ``), cwd, argv, transcript, stderr, its death.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, CodexLaunch
from codex_fixtures.appserver import relay as relay_module
from codex_fixtures.appserver.launch import open_codex, sdk_binary_problem, sdk_process
from codex_fixtures.appserver.relay import server_kind
from conftest import leftover_app_servers
from tiny_clients import PathClient, UrlClient

real = pytest.mark.codex_binary

LEAKY = {  # what a library's environment may carry: none of it may reach codex
    "OPENAI_API_KEY": "sk-leak", "CODEX_API_KEY": "sk-leak2", "OPENAI_BASE_URL": "https://api.openai.com/v1",
    "XDG_CONFIG_HOME": "/leak/xdg-config", "XDG_DATA_HOME": "/leak/xdg-data", "XDG_RUNTIME_DIR": "/leak/run",
    "HOME": "/leak/home", "CODEX_HOME": "/leak/codex-home", "CODEX_INTERNAL_ORIGINATOR_OVERRIDE": "leak",
    "BASH_ENV": "/leak/bashrc", "TMPDIR": "/leak/tmp",
}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def assert_hermetic(child: dict[str, str], launch: CodexLaunch) -> None:
    assert child["CODEX_HOME"] == str(launch.codex_home)
    assert child["HOME"] == launch.env["HOME"] and child["TMPDIR"] == launch.env["TMPDIR"]
    leaked = {k: v for k, v in child.items() if k in LEAKY and v == LEAKY[k] or k.startswith("XDG_")}
    assert leaked == {}, leaked
    assert child == launch.env  # exactly the launch's environment, nothing of the library's


@pytest.fixture
def client():
    made: list[PathClient] = []

    def make(*args, **kwargs) -> PathClient:
        made.append(PathClient(*args, **kwargs))
        return made[-1]

    yield make
    for c in made:
        c.close()


@real
@pytest.mark.parametrize("merge_environ", [True, False], ids=["environ-merged", "env-none"])
def test_codex_is_hermetic_whatever_environment_the_library_passes(codex_launch, client, monkeypatch, merge_environ):
    for key, value in LEAKY.items():
        monkeypatch.setenv(key, value)  # os.environ: merged by one library, inherited with env=None by the other
    lib = client(codex_launch.executable, env={"OPENAI_API_KEY": "sk-explicit"}, merge_environ=merge_environ)
    assert lib.initialize()["result"].get("codexHome", str(codex_launch.codex_home)) == str(codex_launch.codex_home)  # 0.101: none
    (proc,) = codex_launch.processes
    assert proc.pid != lib.pid and os.path.basename(os.readlink(f"/proc/{proc.pid}/exe")) == "codex"
    assert_hermetic(environ_of(proc.pid), codex_launch)
    assert os.readlink(f"/proc/{proc.pid}/cwd") == str(codex_launch.cwd)  # the library chose none


@real
def test_a_cwd_the_library_chose_is_kept(codex_launch, client, tmp_path):
    lib = client(codex_launch.executable, cwd=tmp_path)
    lib.initialize()
    (proc,) = codex_launch.processes
    assert os.readlink(f"/proc/{proc.pid}/cwd") == str(tmp_path) == str(proc.cwd)


@real
@pytest.mark.codex(app_server={"env": {"MY_FLAG": "on", "RUST_LOG": "info"}, "args": ["-c", "analytics.enabled=false"]})
def test_the_marker_app_server_env_and_args_apply(codex_launch, client):
    client(codex_launch.executable).initialize()
    (proc,) = codex_launch.processes
    child = environ_of(proc.pid)
    assert child["MY_FLAG"] == "on" and child["RUST_LOG"] == "info"
    assert proc.argv[-3:] == ["app-server", "-c", "analytics.enabled=false"]
    assert codex_launch.args[-2:] == ("-c", "analytics.enabled=false")


@real
def test_the_transcript_and_stderr_are_recorded(codex_launch, client):
    lib = client(codex_launch.executable)
    lib.initialize()
    lib.request("thread/start", {})
    (proc,) = codex_launch.processes
    sent = [line for line in proc.transcript if line.startswith("-> ")]
    got = [line for line in proc.transcript if line.startswith("<- ")]
    assert '"method": "initialize"' in sent[0] and '"method": "initialized"' in sent[1] and "thread/start" in sent[2]
    assert '"userAgent"' in got[0] and any('"thread"' in line for line in got)
    assert proc.alive and proc.returncode is None and proc.transport == "stdio"
    assert lib.close() == 0 and proc.wait(10) == 0 and not proc.alive


@real
def test_kill_through_processes_kills_codex_and_the_library_sees_it(codex_launch, client):
    lib = client(codex_launch.executable)
    lib.initialize()
    (proc,) = codex_launch.processes
    proc.kill()
    assert proc.wait(10) == -signal.SIGKILL
    assert lib.proc.wait(10) == -signal.SIGKILL  # the relay ends the way codex ended


@real
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_library_that_kills_its_codex_pid_kills_codex(codex_launch, client, sig):
    lib = client(codex_launch.executable)
    lib.initialize()
    (proc,) = codex_launch.processes
    os.kill(lib.pid, sig)  # the only pid the library knows
    lib.proc.wait(10)
    proc.wait(10)  # SIGKILL: PR_SET_PDEATHSIG takes codex along
    assert not proc.alive
    if sig != signal.SIGKILL:
        assert lib.proc.returncode == proc.returncode  # forwarded, same outcome seen by the library
    assert not [p for p, _ in leftover_app_servers() if p == proc.pid]


@real
def test_close_kills_what_is_still_running(codex_home):
    launch = CodexLaunch(codex_home)
    lib = PathClient(launch.executable)
    try:
        lib.initialize()
        (proc,) = launch.processes
        launch.close()
        assert not proc.alive and lib.proc.wait(10) == -signal.SIGKILL
    finally:
        lib.close()
        launch.close()


@real
def test_other_commands_are_codex_itself(codex_launch, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-leak")
    out = subprocess.run([str(codex_launch.executable), "--version"], capture_output=True, text=True, timeout=30, env={})
    assert out.returncode == 0 and out.stdout.startswith("codex-cli ")
    assert codex_launch.processes == []  # not an app-server: not recorded


def test_server_kind_tells_servers_from_tooling():
    assert server_kind(["app-server"]) == "stdio"
    assert server_kind(["--config", "k=v", "app-server", "--listen", "stdio://"]) == "stdio"
    assert server_kind(["app-server", "--listen", "ws://127.0.0.1:0"]) == "listen"
    assert server_kind(["app-server", "--listen=unix://"]) == "listen"
    assert server_kind(["app-server", "generate-json-schema", "--out", "x"]) is None
    assert server_kind(["--version"]) is None and server_kind(["exec", "hi"]) is None


@real
@pytest.mark.codex(reply="Hello through the relay")
def test_the_official_sdk_runs_through_the_executable(codex_binary, codex_launch, codex_responses, monkeypatch):
    problem = sdk_binary_problem(codex_binary)
    if problem:
        pytest.skip(problem)
    from openai_codex import ApprovalMode, Sandbox

    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-reach-the-child")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/leak/xdg")
    config = codex_launch.sdk_config()
    assert config.codex_bin == str(codex_launch.executable) and config.launch_args_override is None
    with open_codex(codex_launch) as codex:
        result = codex.thread_start(approval_mode=ApprovalMode.deny_all, sandbox=Sandbox.read_only).run("hi")
        assert result.final_response == "Hello through the relay"
        procs = [p for p in codex_launch.processes if p.transport == "stdio"]
        (proc,) = procs
        assert sdk_process(codex).pid != proc.pid
        assert_hermetic(environ_of(proc.pid), codex_launch)
        assert any("turn/start" in line for line in proc.transcript)
    assert proc.wait(10) is not None and not proc.alive


@real
def test_a_websocket_listen_is_recorded_without_a_transcript(codex_launch):
    lib = subprocess.Popen([str(codex_launch.executable), "app-server", "--listen", "ws://127.0.0.1:0"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = lib.stderr.readline()  # the binary announces its address on stderr (bounded: killed below on failure)
        (proc,) = codex_launch.processes
        assert proc.transport == "listen" and proc.transcript == []
        url = first.split("listening on:")[-1].strip()
        if url.startswith("ws://"):
            client = UrlClient(url)
            assert "userAgent" in client.request("initialize", {"clientInfo": {"name": "url_client", "version": "1"}})["result"]
            client.close()
    finally:
        lib.terminate()
        lib.wait(10)
        lib.stdin.close()
        lib.stderr.close()
    assert not proc.alive


@real
def test_a_library_that_takes_a_url_connects_to_the_drivers_websocket_server(codex_home):
    # the library gets the URL and the token (sent as a bearer header); without the token it is refused
    with AppServerProcess(codex_home, transport="websocket") as app:
        with pytest.raises(Exception, match="401"):
            UrlClient(app.websocket_url)
        client = UrlClient(app.websocket_url, headers=app.websocket_headers())
        try:
            answer = client.request("initialize", {"clientInfo": {"name": "url_client", "version": "1"}})
            assert answer["result"]["userAgent"].startswith("url_client/")
        finally:
            client.close()


DOWNSTREAM = '''
import json, os, subprocess
import pytest


def start_library(codex_path):  # a client library: spawns codex by path, environ merged
    proc = subprocess.Popen([str(codex_path), "app-server"], env={**os.environ, "OPENAI_API_KEY": "sk-x"},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(b'{"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "lib_under_test", "version": "1"}}}\\n')
    proc.stdin.flush()
    return proc, json.loads(proc.stdout.readline())


def test_fails_after_talking(codex_launch):
    proc, answer = start_library(codex_launch.executable)
    try:
        assert answer["result"]["userAgent"] == "something else"
    finally:
        proc.stdin.close()
        proc.wait(10)


def test_passes_and_kills(codex_launch):
    proc, answer = start_library(codex_launch.executable)
    codex_launch.processes[0].kill()
    assert proc.wait(10) == -9


@pytest.mark.codex(responses=["never asked for"])
def test_strict_check_fails_after_the_launch_closed(codex_launch):
    proc, answer = start_library(codex_launch.executable)
    proc.stdin.close()
    proc.wait(10)
'''


@real
def test_the_failure_report_shows_each_launched_app_server(pytester):
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    teardown = result.stdout.str().split("ERROR at teardown of test_strict_check_fails_after_the_launch_closed")[1]
    assert "codex launch pid" in teardown and '"method": "initialize"' in teardown  # kept after the files went
    result.stdout.fnmatch_lines([
        "*codex launch: 1 process(es) started*",
        "CODEX_HOME: *codex-home-*",
        "executable: *codex-launch-*/codex",
        "pid * (exited 0, relay pid *): */codex app-server",
        "*codex launch pid *: JSON-RPC transcript*",
        '-> {"id": 1, "method": "initialize"*lib_under_test*',
        '<- {"id":1,"result":{"userAgent":"lib_under_test/*',
        "*codex launch pid *: stderr tail*",
    ])
    assert "test_passes_and_kills" not in result.stdout.str().split("short test summary")[0].split("FAILURES")[-1]


@real
def test_launch_homes_are_filled_from_the_template(codex_launch):
    assert codex_launch.from_template  # like codex_home under codex_app_server


@real
@pytest.mark.codex(fresh_home=True)
def test_a_fresh_home_is_left_to_the_binary(codex_launch):
    assert not codex_launch.from_template


def test_a_closed_launch_refuses_in_one_line(codex_home):
    with CodexLaunch(codex_home) as launch:
        executable = launch.executable
    # the launcher script went with the launch's temp dir: nothing starts, the shell says so
    out = subprocess.run(["/bin/sh", "-c", f'"{executable}" app-server'], capture_output=True, text=True, timeout=30)
    assert out.returncode == 127
    relay = Path(relay_module.__file__)
    out = subprocess.run([sys.executable, "-I", "-S", str(relay), str(executable.parent / "state"), "app-server"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 127 and out.stderr.startswith("codex-threadkit relay: the CodexLaunch is closed")
    assert len(out.stderr.splitlines()) == 1


@real
def test_a_forked_child_neither_closes_the_launch_nor_hides_what_it_starts(codex_launch, client):
    lib = client(codex_launch.executable)
    lib.initialize()
    pid = os.fork()
    if pid == 0:  # the child: close() is the parent's business; what the child starts is recorded all the same
        code = 1
        try:
            codex_launch.close()
            child_lib = PathClient(codex_launch.executable)
            child_lib.initialize()
            code = child_lib.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    first, second = codex_launch.processes
    assert first.alive and lib.request("thread/list", {})["result"] is not None  # the parent's codex survived
    assert second.wait(10) == 0 and any("initialize" in line for line in second.transcript)


@real
def test_messages_are_the_transcript_uncut_and_parsed(codex_launch, client):
    # fails on main: the transcript cut each line at 2,000 characters and had no parsed view
    long = "long instructions " * 1000  # 18,000 characters
    lib = client(codex_launch.executable)
    lib.initialize()
    lib.request("thread/start", {"developerInstructions": long})
    (proc,) = codex_launch.processes
    sent = [m for _, m in proc.messages("->")]
    assert [m.get("method") for m in sent][:3] == ["initialize", "initialized", "thread/start"]
    assert sent[2]["params"]["developerInstructions"] == long
    assert all(side in ("->", "<-") for side, _ in proc.messages())
    assert any(isinstance(m, dict) and "thread" in (m.get("result") or {}) for _, m in proc.messages("<-"))
    assert any(line.endswith(" ...") for line in proc.transcript)  # the report view stays cut
