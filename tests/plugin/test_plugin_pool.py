"""The warm pool through the plugin (pytester subprocess sessions, real binary).

A pooled server is fresh (no earlier thread, request or file), is the one its test's
marker asked for (a marker or environment the pool did not guess gets a fresh spawn),
its failure report is its own, and a SIGKILLed or interrupted session leaves no pooled
process or temp root behind. On today's main (no pool) the "pooled" records are all
False, so ``test_pooled_servers_are_fresh_and_the_ones_asked_for`` fails there.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from codex_fixtures.home.tempdirs import ROOT_PREFIX, sweep_stale_roots

pytestmark = pytest.mark.codex_binary

INNER = """
import json
import os
import pytest
from codex_fixtures import plugin

LOG = {log!r}


def _record(request, app, **extra):
    with open(LOG, "a") as fh:
        fh.write(json.dumps({{"test": request.node.name, "pooled": plugin._WARM_KEY in request.node.stash,
                              "pid": app.pid, **extra}}) + "\\n")


def _fresh(app, home, mock):
    assert app.request("thread/list", {{}})["data"] == []  # no earlier thread
    assert mock.requests == []  # no earlier request
    assert not (home / "sessions").exists()
    assert not (home / "left-by-a-test").exists()  # no earlier file


@pytest.mark.parametrize("n", range(3))
def test_plain(n, request, codex_app_server, codex_home, codex_responses):
    _record(request, codex_app_server)
    _fresh(codex_app_server, codex_home, codex_responses)
    thread = codex_app_server.start_thread()
    assert codex_app_server.run_turn(thread["id"], "hi")["status"] == "completed"
    (codex_home / "left-by-a-test").write_text("x")
    assert len(codex_responses.requests) == 1


@pytest.mark.codex(reply="second", config={{"model": "other-model"}}, app_server={{"env": {{"RUST_BACKTRACE": "1"}}}})
def test_marker(request, codex_app_server, codex_home, codex_responses):
    _record(request, codex_app_server)
    _fresh(codex_app_server, codex_home, codex_responses)
    assert codex_app_server._child_env.env["RUST_BACKTRACE"] == "1"
    assert 'model = "other-model"' in (codex_home / "config.toml").read_text()
    thread = codex_app_server.start_thread()
    codex_app_server.run_turn(thread["id"], "hi")
    assert codex_responses.requests[0].body_json["model"] == "other-model"


@pytest.fixture
def remark(request):
    request.node.add_marker(pytest.mark.codex(reply="late"), append=False)


@pytest.mark.codex(reply="early")
def test_marker_changed_at_setup(remark, request, codex_app_server, codex_responses):
    _record(request, codex_app_server)
    thread = codex_app_server.start_thread()
    codex_app_server.run_turn(thread["id"], "hi")
    assert '"late"' in codex_app_server.format_transcript()  # the reply of the marker as the test saw it


@pytest.fixture
def seeded(codex_home):
    (codex_home / "seed.txt").write_text("before the server")


def test_seeded_home(seeded, request, codex_app_server, codex_home):
    _record(request, codex_app_server)
    assert not codex_app_server.from_template  # it saw the seeded home, as without a pool


@pytest.fixture
def tz(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")


def test_plain_before_env(request, codex_app_server):
    _record(request, codex_app_server)
    entry = request.config.stash[plugin._POOL_KEY]._entries[request.node.nodeid.replace("test_plain_before_env", "test_env_changed")]
    assert entry.done.wait(60)  # the next test's server is built before its fixture changes the environment


def test_env_changed(tz, request, codex_app_server):
    _record(request, codex_app_server)
    assert codex_app_server._child_env.env["TZ"] == "Asia/Tokyo"


def test_plain_before_failure(request, codex_app_server):
    _record(request, codex_app_server)


def test_fails(request, codex_app_server):
    _record(request, codex_app_server)
    codex_app_server.start_thread()
    assert False, "deliberate"


def test_after_failure(request, codex_app_server):
    _record(request, codex_app_server)
"""


def _records(log: Path) -> dict[str, dict[str, object]]:
    return {r["test"]: r for r in map(json.loads, log.read_text().splitlines())}


def test_pooled_servers_are_fresh_and_the_ones_asked_for(pytester: pytest.Pytester) -> None:
    log = pytester.path / "log.jsonl"
    pytester.makepyfile(test_inner=INNER.format(log=str(log)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "--codex-pool=on")
    result.assert_outcomes(passed=10, failed=1)
    records = _records(log)
    pooled = {name: r["pooled"] for name, r in records.items()}
    assert pooled == {
        "test_plain[0]": False,  # the first test: nothing ran before it
        "test_plain[1]": True, "test_plain[2]": True,
        "test_marker": True,  # warmed with its own marker (reply, config, env)
        "test_marker_changed_at_setup": False,  # a fixture changed the marker: the guess no longer fits
        "test_seeded_home": False,  # a fixture writes to the home before the server starts: never pooled
        "test_plain_before_env": True,
        "test_env_changed": False,  # its fixture changed os.environ: a warm child has the old one
        "test_plain_before_failure": False,  # the test before it used monkeypatch: no build beside a patched test
        "test_fails": True, "test_after_failure": True,
    }
    assert len({r["pid"] for r in records.values()}) == len(records)  # no server served two tests
    out = result.stdout.str()
    assert f"codex app-server pid {records['test_fails']['pid']}: JSON-RPC transcript" in out
    assert f"pid {records['test_after_failure']['pid']}" not in out  # the next test's warm server is not in the report


def test_pool_off_switch(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    log = pytester.path / "log.jsonl"
    pytester.makepyfile(test_inner=INNER.format(log=str(log)))
    monkeypatch.setenv("CODEX_POOL", "off")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-k", "test_plain and not before")
    result.assert_outcomes(passed=3, deselected=8)
    assert not any(r["pooled"] for r in _records(log).values())
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--codex-pool=maybe")
    bad.stderr.fnmatch_lines(["*--codex-pool: invalid choice: 'maybe'*"])


HOLD = """
import json
import os
import threading
import pytest
from codex_fixtures import plugin

OUT = {out!r}


def test_holds(request, codex_app_server):
    pool = request.config.stash[plugin._POOL_KEY]
    entry = pool._entries[request.node.nodeid.replace("test_holds", "test_next")]
    assert entry.done.wait(60) and entry.value is not None  # the next test's server is warm now
    pids = [codex_app_server.pid, entry.value.app.pid]
    with open(OUT, "w") as fh:
        json.dump({{"pids": pids}}, fh)
    if {how!r} == "interrupt":
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: pytest stops the session and unwinds
    print("POOL-READY", flush=True)
    threading.Event().wait(120)  # the outer test kills this session long before


def test_next(codex_app_server):
    pass
"""


def _wait_dead(pids: list[int], timeout: float) -> list[int]:
    """Wait (on pidfds, no polling) until every pid has exited; returns those still alive after ``timeout``."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue
    try:
        remaining = dict(fds)
        while remaining:
            ready, _, _ = select.select(list(remaining), [], [], timeout)
            if not ready:
                break
            for fd in ready:
                remaining.pop(fd)
        return sorted(remaining.values())
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.parametrize("how", ["sigkill", "interrupt"])
def test_killed_or_interrupted_session_leaves_no_pooled_process_or_temp_root(pytester: pytest.Pytester, how: str) -> None:
    out = pytester.path / "pids.json"
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    pytester.makepyfile(test_hold=HOLD.format(out=str(out), how=how))
    env = {**os.environ, "TMPDIR": str(tmp), "CODEX_POOL": "on"}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-s", "test_hold.py"],
                            cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        seen = b""
        if how == "sigkill":  # read its output (select with a deadline) until it says both servers are up, then SIGKILL it
            assert proc.stdout is not None
            while b"POOL-READY" not in seen:
                ready, _, _ = select.select([proc.stdout], [], [], 120)
                chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
                assert chunk, f"the inner session ended or hung before its servers were up: {seen.decode(errors='replace')}"
                seen += chunk
            proc.kill()
        output = (seen + proc.communicate(timeout=120)[0]).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    info = json.loads(out.read_text())
    assert _wait_dead(info["pids"], 20.0) == [], output  # the test's server and the warm one
    # their supervisors (which keep a root while they tear a tree down) end right after codex: wait for them too
    supervisors = [int(m.name.split("-")[0]) for m in tmp.glob(f"{ROOT_PREFIX}*/live/*") if m.name.split("-")[0].isdigit()]
    assert _wait_dead(supervisors, 20.0) == [], output
    if how == "sigkill":
        sweep_stale_roots(tmp)  # what the next session does first: a root of a dead process goes
    assert not [p for p in tmp.iterdir() if p.name.startswith(ROOT_PREFIX)], output


def test_under_xdist_each_worker_warms_its_own_and_nothing_outlives_the_session(pytester: pytest.Pytester) -> None:
    log = pytester.path / "log.jsonl"
    pytester.makepyfile(test_inner=INNER.format(log=str(log)).replace("range(3)", "range(8)"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-n", "2", "--codex-pool=on",
                                           "-k", "test_plain and not before")
    result.assert_outcomes(passed=8)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(r["pooled"] for r in records)  # workers warmed servers for their next tests
    assert len({r["pid"] for r in records}) == len(records)
    assert _wait_dead([int(r["pid"]) for r in records], 20.0) == []  # every server, warm or not, is gone
