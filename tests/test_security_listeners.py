"""Every listener the toolkit starts takes only our own clients (issue 18, items 1 and 5).

A second local user (uid 65534, through ``setpriv``: these tests need root and
skip otherwise) tries the WebSocket app-server and the mock Responses API with
what it can learn from the machine: the port (``/proc/net/tcp`` lists it to
anyone), not the token file or the CODEX_HOME config (0600 / 0700, ours). Its
probes are stdlib-only scripts run by the system ``python3`` in isolated mode.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from codex_fixtures import AppServerExitedError, AppServerProcess, MockResponsesCheckError, MockResponsesServer
from conftest import cached_codex, leftover_app_servers

OTHER_UID = 65534  # nobody
SYSTEM_PYTHON = "/usr/bin/python3"
WAIT = 20.0

real = pytest.mark.codex_binary

# An upgrade request without a token: prints the status line the server answers with.
UPGRADE_PROBE = r"""
import socket, sys
port = int(sys.argv[1])
with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % port).encode())
    print(s.recv(4096).split(b"\r\n")[0].decode())
"""

# Reads a file if it can: prints its first bytes' length or the error's name.
READ_PROBE = r"""
import sys
try:
    with open(sys.argv[1], "rb") as fh:
        print("read", len(fh.read()))
except OSError as exc:
    print(type(exc).__name__)
"""

# POST /v1/responses (and a guess at the mock's models route); prints each status.
MOCK_PROBE = r"""
import http.client, sys
port = int(sys.argv[1])
for method, path, body in (("POST", "/v1/responses", b'{"model": "m", "input": "steal"}'), ("GET", "/v1/models", None)):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"content-type": "application/json"})
    print(conn.getresponse().status)
    conn.close()
"""


def as_other_user(script: str, *args: str) -> list[str]:
    """Run ``script`` as uid/gid 65534 with no supplementary groups; its stdout lines."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a probe as a second local user (setpriv)")
    setpriv = shutil.which("setpriv")
    if setpriv is None or not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"needs setpriv and {SYSTEM_PYTHON} to run a probe as a second local user")
    done = subprocess.run(
        [setpriv, f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups", SYSTEM_PYTHON, "-I", "-c", script, *args],
        capture_output=True, text=True, timeout=WAIT, cwd="/", env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, f"probe failed: {done.stderr.strip()[-400:]}"
    return done.stdout.splitlines()


def supports_websocket_auth(codex_bin: Path | None) -> bool:
    """The toolkit's answer (imported here so that this file also runs, and fails, on a toolkit without it)."""
    try:
        from codex_fixtures.appserver.websocket import supports_websocket_auth as supports
    except ImportError:
        return True
    return supports(codex_bin)


def _read_to_eof(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):  # the mock closes every connection after its answer; the socket has a timeout
        out += chunk
    return out


def _token_file(app: AppServerProcess) -> Path:
    return Path(app.argv[app.argv.index("--ws-token-file") + 1])


# ---------------------------------------------------------------- WebSocket app-server (item 1)


@real
def test_another_user_cannot_open_the_websocket_app_server(codex_home, real_codex):
    if not supports_websocket_auth(real_codex):
        pytest.skip("this binary has no --ws-auth")
    with AppServerProcess(codex_home, codex_bin=real_codex, transport="websocket") as app:
        app.initialize()
        port = str(urlsplit(app.websocket_url).port)
        status, = as_other_user(UPGRADE_PROBE, port)
        assert status == "HTTP/1.1 401 Unauthorized"  # before: "101 Switching Protocols", then command/exec as us
        token_file = _token_file(app)
        assert as_other_user(READ_PROBE, str(token_file)) == ["PermissionError"]
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        assert token_file.read_text() == app.websocket_token
        assert app.websocket_headers() == {"Authorization": f"Bearer {app.websocket_token}"}
        other = app.new_connection()  # our own connections carry the token
        other.initialize()
        assert "data" in other.request("thread/list", {})
    assert not token_file.exists()


@real
def test_a_websocket_client_needs_the_token(codex_home, real_codex):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    if not supports_websocket_auth(real_codex):
        pytest.skip("this binary has no --ws-auth")
    with AppServerProcess(codex_home, codex_bin=real_codex, transport="websocket") as app:
        for headers in ({}, {"Authorization": "Bearer not-the-token"}):
            with pytest.raises(InvalidStatus, match="401"):
                connect(app.websocket_url, additional_headers=headers, proxy=None, open_timeout=WAIT).close()
        with connect(app.websocket_url, additional_headers=app.websocket_headers(), proxy=None, open_timeout=WAIT) as ws:
            ws.send('{"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}')
            assert '"id":1' in ws.recv(timeout=WAIT)


@real
def test_websocket_pid_is_the_codex_process(codex_home, real_codex):
    auth = "token" if supports_websocket_auth(real_codex) else "none"
    with AppServerProcess(codex_home, codex_bin=real_codex, transport="websocket", websocket_auth=auth) as app:
        app.initialize()
        exe = os.readlink(f"/proc/{app.pid}/exe")
        assert Path(exe) == Path(app.codex_bin).resolve()  # before: /bin/sh, the watchdog
        port = urlsplit(app.websocket_url).port
        os.kill(app.pid, signal.SIGKILL)
        with pytest.raises(AppServerExitedError, match="exit code -9"):
            app.read_stream_until_notification_message("thread/started", timeout=WAIT)
        with pytest.raises(OSError):  # nobody answers on the port any more
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert app.returncode == -signal.SIGKILL
    assert not any(p == app.pid for p, _ in leftover_app_servers())


def test_the_watchdog_execs_codex_and_still_stops_it_when_python_dies(tmp_path):
    """``watched_argv``: the process started is the program itself; EOF on its stdin (a SIGKILLed Python) ends it."""
    from codex_fixtures.appserver.websocket import watched_argv

    program = ["/bin/sh", "-c", "echo $$; exec sleep 60"]  # prints its own pid, then becomes sleep
    proc = subprocess.Popen(watched_argv(program), stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert select.select([proc.stdout], [], [], WAIT)[0], "the program printed no pid"
        assert int(proc.stdout.readline()) == proc.pid  # the program runs as the process we started
        proc.stdin.close()  # what a SIGKILLed Python leaves: EOF on the pipe
        assert proc.wait(timeout=WAIT) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_binary_without_ws_auth_is_refused_unless_asked(codex_home):
    old = cached_codex("0.101.0")
    if old is None:
        pytest.skip("codex 0.101.0 is not in the fetch cache (codex-repro --codex-version 0.101.0 fetches it)")
    assert not supports_websocket_auth(old)
    with pytest.raises(AppServerExitedError, match="no --ws-auth .*websocket_auth='none'"):
        AppServerProcess(codex_home, codex_bin=old, transport="websocket")
    with AppServerProcess(codex_home, codex_bin=old, transport="websocket", websocket_auth="none") as app:
        assert app.websocket_token is None and app.websocket_headers() == {}
        app.initialize()


def test_unknown_websocket_auth_is_refused(fake_home):
    with pytest.raises(ValueError, match="websocket_auth must be one of token, none, not 'basic'"):
        AppServerProcess(fake_home, transport="websocket", websocket_auth="basic")


# ---------------------------------------------------------------- the mock Responses API (item 5)


@real
@pytest.mark.codex(reply="the test's own reply")
def test_another_user_cannot_take_the_mocks_scripted_reply(codex_responses, codex_app_server, codex_home):
    port = str(codex_responses.port)
    assert as_other_user(MOCK_PROBE, port) == ["404", "404"]  # before: 200 (the reply, stolen) and 200
    assert as_other_user(READ_PROBE, str(codex_home / "config.toml")) == ["PermissionError"]  # the prefix stays ours
    assert codex_responses.path_prefix in (codex_home / "config.toml").read_text()
    thread = codex_app_server.start_thread()
    turn = codex_app_server.run_turn(thread["id"], "hello")
    assert turn["status"] == "completed"  # the scripted reply was still there for codex
    assert codex_responses.requests[0].path == "/v1/responses"  # paths below the prefix, as users know them
    problems = codex_responses.problems
    assert len(problems) == 2 and all("outside the mock's secret path prefix" in p for p in problems)
    codex_responses.reset()  # the strict teardown check would fail on the recorded problems (as it should)


def test_requests_outside_the_prefix_are_refused_and_recorded():
    import httpx

    with MockResponsesServer() as server:
        server.enqueue("only for us")
        prefix = server.path_prefix
        for path in ("/v1/responses", "/v1/models", prefix[:-1] + "/v1/responses", prefix + "x/v1/responses"):
            url = server.origin + path
            assert httpx.post(url, json={"input": "steal"}).status_code == 404
        assert server.requests == [] and len(server.script.pending) == 1  # no scripted reply taken
        assert len(server.problems) == 4 and server.path_prefix not in " ".join(server.problems[:2])
        with pytest.raises(MockResponsesCheckError, match="outside the mock's secret path prefix"):
            server.check()
        reply = httpx.post(server.url_v1 + "/responses", json={"input": "ours"})
        assert reply.status_code == 200 and "only for us" in reply.text
        assert httpx.get(server.uri + "/v1/models").json() == {"models": []}


def test_a_flood_outside_the_prefix_is_recorded_in_bounded_space():
    import httpx

    with MockResponsesServer() as server, httpx.Client() as http:
        for _ in range(30):
            assert http.get(server.origin + "/").status_code == 404
        assert len(server.problems) == 21 and "more than 20 requests" in server.problems[-1]


def test_a_body_over_max_body_bytes_is_refused_unread():
    with MockResponsesServer(max_body_bytes=1024) as server:
        head = f"POST {server.path_prefix}/v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(head.encode())  # announces 1 TB, sends nothing: before, the handler waited to read it all
            answer = _read_to_eof(sock).decode()
        assert answer.startswith("HTTP/1.1 413 ")
        line = "mock server: POST /v1/responses: request body over max_body_bytes=1024 (Content-Length: 1000000000000) (answered 413)"
        assert line in answer and server.problems == [line] and server.requests == []


def test_a_chunked_body_over_the_bound_and_a_lying_length_are_refused():
    import httpx

    with MockResponsesServer(max_body_bytes=1024) as server:
        chunks = iter([b"x" * 800, b"y" * 800])
        reply = httpx.post(server.url_v1 + "/responses", content=chunks)  # an iterator: chunked
        assert reply.status_code == 413 and "chunked" in reply.json()["error"]["message"]
        head = f"POST {server.path_prefix}/v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(head.encode())
            assert _read_to_eof(sock).startswith(b"HTTP/1.1 400 ")
        assert any("malformed Content-Length '1_0'" in p for p in server.problems)


def test_an_absurd_chunk_size_is_413_with_a_bounded_message():
    # fails on main (issue 25, item 9): 500 and a traceback (int->str digit limit) formatting the 413 message
    with MockResponsesServer(max_body_bytes=1024) as server:
        head = f"POST {server.path_prefix}/v1/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(head.encode() + b"f" * 5000 + b"\r\nxx\r\n0\r\n\r\n")
            answer = _read_to_eof(sock).decode()
        assert answer.startswith("HTTP/1.1 413 ") and len(answer) < 2000
        line = ("mock server: POST /v1/responses: request body over max_body_bytes=1024 "
                "(chunked: a chunk size of 5000 hex digits) (answered 413)")
        assert server.problems == [line] and server.requests == []


def test_max_captured_bodies_keeps_the_last_n():
    import httpx

    with MockResponsesServer(max_captured_bodies=2) as server:
        server.script.set_repeat("ok")
        for i in range(5):
            httpx.post(server.url_v1 + "/responses", json={"input": f"prompt {i}"})
        requests = server.requests
        assert [r.index for r in requests] == [1, 2, 3, 4, 5]
        assert [r.body_dropped for r in requests] == [True, True, True, False, False]
        assert requests[0].body == b"" and requests[-1].user_prompts() == ["prompt 4"]
        with pytest.raises(ValueError, match="body was dropped to bound the capture"):
            requests[0].body_json
    with pytest.raises(ValueError, match="max_captured_bodies must be None or a whole number >= 1, got 0"):
        MockResponsesServer(max_captured_bodies=0)
    with pytest.raises(ValueError, match="max_body_bytes must be a whole number of bytes >= 0"):
        MockResponsesServer(max_body_bytes=-1)


def test_homes_for_different_mocks_share_one_template_key():
    """The secret prefix differs per mock like the port: template homes are keyed without either."""
    from codex_fixtures import config_contents
    from codex_fixtures.home.template import normalized_config

    with MockResponsesServer() as one, MockResponsesServer() as two:
        assert one.path_prefix != two.path_prefix
        assert normalized_config(config_contents(one)) == normalized_config(config_contents(two))
        assert one.path_prefix not in normalized_config(config_contents(one))


@real
@pytest.mark.codex(auth="chatgpt")
def test_chatgpt_backend_and_token_refresh_reach_the_mock_under_its_prefix(codex_app_servers, codex_home, codex_responses):
    from codex_fixtures import write_chatgpt_auth

    write_chatgpt_auth(codex_home, last_refresh=0.0)  # stale: account/read with refreshToken refreshes
    refresh = codex_responses.route("POST", "/oauth/token", json={"access_token": "fake-access-token"}, required=True)
    app = codex_app_servers()
    account = app.request("account/read", {"refreshToken": True})["account"]
    assert account["type"] == "chatgpt"
    refresh.wait_for_calls(1, timeout=WAIT)  # CODEX_REFRESH_TOKEN_URL_OVERRIDE = uri + "/oauth/token"
    assert f"{codex_responses.uri}/backend-api/" in (codex_home / "config.toml").read_text()
    assert not any("outside the mock's secret path prefix" in p for p in codex_responses.problems)
