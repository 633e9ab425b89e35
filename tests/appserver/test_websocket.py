"""The WebSocket transport: the same API over ``--listen ws://127.0.0.1:0``, and further connections.

Real-binary tests check what WEBSOCKET.md claims (broadcasts, per-connection
initialize, the turn over a socket); fake executables cover the start-up
failures (no listening line, exit before listening).
"""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerError,
    AppServerExitedError,
    AppServerProcess,
    JSONRPCRemoteError,
    WebSocketConnection,
)
from codex_fixtures._plugin_support import failure_sections
from codex_fixtures.appserver.websocket import supports_websocket_auth
from conftest import leftover_app_servers

real = pytest.mark.codex_binary


@pytest.fixture
def ws_app(codex_app_servers, codex_binary):
    """An initialized websocket app-server on the test's hermetic home (the binary in use), from the factory.

    A binary without ``--ws-auth`` (0.101.0) runs without a token, knowingly.
    """
    auth = "token" if supports_websocket_auth(codex_binary.path) else "none"
    return codex_app_servers(transport="websocket", websocket_auth=auth)


@real
def test_two_connections_both_see_a_thread_created_by_one(ws_app, codex_binary):
    other = ws_app.new_connection()
    assert isinstance(other, WebSocketConnection) and ws_app.connections == [other]
    other.initialize()
    thread = ws_app.start_thread({"model": "mock-model"})

    started = other.read_stream_until_notification_message("thread/started")  # broadcast to every client
    assert started.params["thread"]["id"] == thread["id"]

    ws_app.request("thread/name/set", {"threadId": thread["id"], "name": "shared name"})
    note = ws_app.read_stream_until_notification_message("thread/name/updated")
    assert note.params == {"threadId": thread["id"], "threadName": "shared name"}
    if codex_binary.version_tuple >= (0, 163, 0):  # broadcast to every initialized client (upstream's test)
        note = other.read_stream_until_notification_message("thread/name/updated")
        assert note.params == {"threadId": thread["id"], "threadName": "shared name"}
    else:  # 0.101.0 tells only the client that set the name
        other.assert_no_message(lambda m: getattr(m, "method", None) == "thread/name/updated", within=1.0)
    loaded = other.request("thread/loaded/list", {})  # threads are process-wide
    assert thread["id"] in loaded["data"]
    assert other.transcript[0].startswith('-> {"id":0,"method":"initialize"')  # ids count per connection


@real
@pytest.mark.codex(reply="over a websocket")
def test_a_turn_runs_over_the_websocket(ws_app, codex_responses):
    assert ws_app.websocket_url.startswith("ws://127.0.0.1:")
    if ws_app.websocket_token is not None:  # the binary takes --ws-auth
        assert ws_app.argv[-6:-2] == ["--listen", "ws://127.0.0.1:0", "--ws-auth", "capability-token"]
        assert ws_app.argv[-2] == "--ws-token-file" and ws_app.websocket_token not in " ".join(ws_app.argv)
    thread = ws_app.start_thread()
    turn = ws_app.run_turn(thread["id"], "hi over ws")
    assert turn["status"] == "completed"
    assert codex_responses.requests[0].message_input_texts("user")[-1] == "hi over ws"
    assert any(line.startswith("<- ") and "turn/completed" in line for line in ws_app.transcript)


@real
def test_each_connection_needs_its_own_initialize(ws_app):
    conn = ws_app.new_connection()
    with pytest.raises(JSONRPCRemoteError) as info:
        conn.request("thread/list", {})
    assert info.value.code == -32600 and "Not initialized" in str(info.value)
    conn.initialize()
    assert "data" in conn.request("thread/list", {})


@real
def test_close_closes_every_connection_and_the_process(codex_home, codex_binary):
    auth = "token" if supports_websocket_auth(codex_binary.path) else "none"
    with AppServerProcess(codex_home, codex_bin=codex_binary.path, transport="websocket", websocket_auth=auth) as app:
        app.initialize()
        conns = [app.new_connection() for _ in range(2)]
        for conn in conns:
            conn.initialize()
        pid = app.pid
    assert app.returncode is not None  # SIGTERM: the websocket server ignores stdin EOF
    assert not any(p == pid for p, _ in leftover_app_servers())
    for conn in conns:
        with pytest.raises(AppServerError, match="closed"):
            conn.send_request("thread/list", {})
    with pytest.raises(AppServerError, match="closed"):
        app.new_connection()


@real
def test_a_killed_server_ends_waits_on_every_connection_at_once(ws_app):
    conn = ws_app.new_connection()
    conn.initialize()
    ws_app.kill()
    started = time.monotonic()
    for waiter in (ws_app, conn):
        with pytest.raises(AppServerExitedError):
            waiter.read_stream_until_notification_message("thread/started", timeout=30)
    assert time.monotonic() - started < 10  # not at the 30 s timeouts


@real
def test_a_send_on_a_closed_websocket_is_a_one_line_exited_error(ws_app):
    conn = ws_app.new_connection()
    conn.initialize()
    ws_app.kill()
    ws_app._ws._primary.close()  # the process's own socket (through the transport) and a further connection's
    conn._socket.close()
    for client in (ws_app, conn):
        with pytest.raises(AppServerExitedError, match="cannot send: the WebSocket is closed"):
            client.write_raw_line('{"jsonrpc": "2.0", "method": "initialized"}')


@real
def test_failure_report_has_every_connection_transcript(ws_app):
    conn = ws_app.new_connection()
    conn.initialize()
    titles = dict(failure_sections([ws_app]))
    key = f"codex app-server pid {ws_app.pid}: connection 1 transcript"
    assert key in titles and '"method":"initialize"' in titles[key]
    assert f"codex app-server pid {ws_app.pid}: JSON-RPC transcript" in titles


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake-codex"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_no_listening_line_is_a_bounded_one_line_error(fake_home, tmp_path):
    silent = _script(tmp_path, "exec sleep 30")  # alive, never listening (a websocket server's stdin is /dev/null)
    started = time.monotonic()
    with pytest.raises(AppServerError, match="no 'listening on: ws://127.0.0.1:PORT' line on stderr within 0.5s"):
        AppServerProcess(fake_home, codex_bin=silent, transport="websocket", default_timeout=0.5)
    assert time.monotonic() - started < 8  # the wait is bounded and the process closed


def test_exit_before_listening_reports_exit_code_and_stderr(fake_home, tmp_path):
    fake = _script(tmp_path, "echo 'error: address in use' >&2; exit 4")
    with pytest.raises(AppServerExitedError) as info:
        AppServerProcess(fake_home, codex_bin=fake, transport="websocket")
    assert info.value.exit_code == 4
    assert "address in use" in info.value.stderr_tail


def test_stdio_has_no_further_connections(fake_home, fake_peer_bin):
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin) as app:
        assert app.connections == [] and app.websocket_url is None
        with pytest.raises(AppServerError, match="transport='websocket'"):
            app.new_connection()


def test_unknown_transport_is_refused(fake_home):
    with pytest.raises(ValueError, match="transport must be one of stdio, websocket, not 'grpc'"):
        AppServerProcess(fake_home, transport="grpc")

