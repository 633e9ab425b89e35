"""Driver error paths against a fake stdio peer: EOF, crash, malformed line, silence."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerError,
    AppServerExitedError,
    AppServerProcess,
    AppServerTimeoutError,
    JSONRPCNotification,
    JSONRPCRemoteError,
    JSONRPCRequest,
    ProtocolError,
)


def peer(fake_home: Path, fake_peer_bin: Path, mode: str) -> AppServerProcess:
    app = AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": mode})
    app.initialize(timeout=5)
    return app


def test_request_ids_count_from_zero_and_params_round_trip(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "ok") as app:
        rid = app.send_thread_archive_request({"threadId": "x"})
        assert rid == 1  # initialize took id 0
        resp = app.read_stream_until_response_message(rid, timeout=5)
        assert resp.result == {"method": "thread/archive", "params": {"threadId": "x"}}


def test_eof_raises_exited_with_exit_code_at_once(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "eof") as app:
        rid = app.send_request("thread/list", {})
        started = time.monotonic()
        with pytest.raises(AppServerExitedError) as info:
            app.read_stream_until_response_message(rid, timeout=30)
        assert time.monotonic() - started < 5  # not at the timeout
        assert info.value.exit_code == 0
        assert "thread/list" in str(info.value)


def test_crash_mid_wait_reports_exit_code_and_stderr_tail(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "crash") as app:
        rid = app.send_request("thread/start", {})
        with pytest.raises(AppServerExitedError) as info:
            app.read_stream_until_response_message(rid, timeout=30)
        assert info.value.exit_code == 3
        assert "panicked at 'boom'" in info.value.stderr_tail
        assert "panicked at 'boom'" in str(info.value)
        with pytest.raises(AppServerExitedError):
            app.send_request("thread/start", {})
            app.read_stream_until_response_message(rid + 1, timeout=5)


def test_malformed_line_raises_protocol_error(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "malformed") as app:
        rid = app.send_request("thread/list", {})
        with pytest.raises(ProtocolError, match="malformed line from app-server.*this is not json"):
            app.read_stream_until_response_message(rid, timeout=5)


def test_silence_times_out_listing_what_was_buffered(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "silent") as app:
        rid = app.send_request("thread/list", {})
        started = time.monotonic()
        with pytest.raises(AppServerTimeoutError) as info:
            app.read_stream_until_response_message(rid, timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 3
        assert "timed out after 0.3s waiting for the answer to request 1 (thread/list)" in str(info.value)
        assert "nothing was buffered" in str(info.value)


def test_partial_line_times_out(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "partial") as app:
        rid = app.send_request("thread/list", {})
        with pytest.raises(AppServerTimeoutError):
            app.read_stream_until_response_message(rid, timeout=0.3)
    assert app.returncode is not None  # close() killed the hung peer


def test_error_answer_raises_with_code_and_message(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "error") as app:
        rid = app.send_thread_resume_request({"threadId": "t"})
        with pytest.raises(JSONRPCRemoteError) as info:
            app.read_stream_until_response_message(rid, timeout=5)
        assert (info.value.code, info.value.rpc_message) == (-32600, "nope: thread/resume")
        assert str(info.value).startswith("thread/resume: JSON-RPC error -32600: nope: thread/resume")
        rid = app.send_thread_fork_request({"threadId": "t"})
        err = app.read_stream_until_error_message(rid, timeout=5)
        assert err.code == -32600


def test_buffering_keeps_notifications_and_does_not_match_server_requests(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "notify") as app:
        rid = app.send_request("thread/read", {"threadId": "t"})
        resp = app.read_stream_until_response_message(rid, timeout=5)
        assert resp.result["method"] == "thread/read"
        # the server request with the same id was not taken for the response ...
        req = app.read_stream_until_request_message(timeout=5)
        assert isinstance(req, JSONRPCRequest) and req.id == rid
        # ... and the notification that came first is still there
        assert app.pending_notification_methods() == ["thread/started"]
        note = app.read_stream_until_notification_message("thread/started", timeout=5)
        assert isinstance(note, JSONRPCNotification) and note.params == {"n": rid}
        assert app.clear_message_buffer() == []


def test_close_is_idempotent_and_leaves_no_process(fake_home, fake_peer_bin):
    app = peer(fake_home, fake_peer_bin, "silent")
    cwd = app.cwd
    assert app.is_alive()
    app.close()
    app.close()
    assert not app.is_alive()
    assert not cwd.exists()
    with pytest.raises(Exception, match="closed"):
        app.send_request("thread/list", {})


def test_transcript_records_both_directions(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "ok") as app:
        app.request("thread/list", {"limit": 1}, timeout=5)
        lines = app.transcript
        assert lines[0].startswith('-> {"id":0,"method":"initialize"')
        assert any(line.startswith("<- ") and "thread/list" in line for line in lines)


def test_missing_codex_home_is_a_clear_error(tmp_path, fake_peer_bin):
    with pytest.raises(Exception, match="CODEX_HOME is not a directory"):
        AppServerProcess(tmp_path / "nope", codex_bin=fake_peer_bin)


def test_interpreter_exit_closes_unclosed_processes(tmp_path, fake_home, fake_peer_bin):
    """A script that forgets close() leaves no process behind (atexit)."""
    import subprocess
    import sys

    pid_file = tmp_path / "pid"
    code = (
        "from codex_fixtures import AppServerProcess\n"
        f"app = AppServerProcess({str(fake_home)!r}, codex_bin={str(fake_peer_bin)!r}, env={{'FAKE_PEER_MODE': 'partial'}})\n"
        "app.initialize(timeout=5)\n"
        "app.send_request('thread/list', {})  # the peer now hangs, ignoring stdin EOF\n"
        f"open({str(pid_file)!r}, 'w').write(str(app.pid))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


def test_cwd_is_an_empty_dir_outside_any_git_repo(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "ok") as app:
        assert list(app.cwd.iterdir()) == []
        for parent in [app.cwd, *app.cwd.parents]:
            assert not (parent / ".git").exists()


def _close_in_thread(app: AppServerProcess, bound: float) -> tuple[bool, list[object]]:
    """Run ``app.close()`` on a thread; (returned within ``bound`` s, [exit code or exception])."""
    import threading

    out: list[object] = []

    def run() -> None:
        try:
            out.append(app.close())
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            out.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=bound)
    return not worker.is_alive(), out


def test_close_kills_a_server_that_ignores_stdin_eof_and_sigterm(fake_home, fake_peer_bin):
    app = peer(fake_home, fake_peer_bin, "stubborn")
    returned, out = _close_in_thread(app, bound=20)
    assert returned, "close() hung on a server ignoring EOF and SIGTERM"
    assert out == [-9]  # SIGKILL after SIGTERM was ignored
    assert not app.is_alive()


def test_close_returns_and_the_escaped_grandchild_is_gone(tmp_path, fake_home, fake_peer_bin):
    import os
    import signal

    from codex_fixtures.appserver.supervisor import process_start_time

    pid_file = tmp_path / "grandchild.pid"
    app = AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "orphan", "FAKE_PEER_PIDFILE": str(pid_file)})
    grandchild = None
    try:
        rid = app.send_request("initialize", {"clientInfo": {"name": "t", "version": "0"}})
        app.read_stream_until_response_message(rid, timeout=5)
        assert pid_file.exists(), "the fake peer did not start its grandchild"
        grandchild = int(pid_file.read_text())
        # the grandchild left the peer's session with its stdout open, and the peer exits:
        # close() returns at once, and the supervisor has killed the grandchild (on main it ran on for 120 s)
        returned, out = _close_in_thread(app, bound=20)
        assert returned, "close() blocked on a stdout pipe kept open by a grandchild"
        assert out == [0]
        state = process_start_time(grandchild)
        assert state is None, f"the grandchild {grandchild} outlived its app-server"
    finally:
        if grandchild is not None and process_start_time(grandchild) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(grandchild, signal.SIGKILL)
        app.close()


def test_two_threads_wait_on_different_ids_and_each_gets_its_own(fake_home, fake_peer_bin):
    import threading

    with peer(fake_home, fake_peer_bin, "delayed") as app:
        got: dict[str, object] = {}

        def wait(name: str, rid: int) -> None:
            try:
                got[name] = app.read_stream_until_response_message(rid, timeout=10).result
            except Exception as exc:  # noqa: BLE001 - asserted below
                got[name] = exc

        first = app.send_request("thread/read", {})
        waiter_a = threading.Thread(target=wait, args=("a", first), daemon=True)
        waiter_a.start()
        second = app.send_request("thread/list", {})  # the peer now answers second, then first
        waiter_b = threading.Thread(target=wait, args=("b", second), daemon=True)
        waiter_b.start()
        waiter_a.join(timeout=15)
        waiter_b.join(timeout=15)
        assert got == {"a": {"n": first}, "b": {"n": second}}
        assert app.clear_message_buffer() == []


def test_codex_home_object_is_accepted(fake_peer_bin):
    from codex_fixtures import CodexHome

    with CodexHome() as home, AppServerProcess(home, codex_bin=fake_peer_bin) as app:
        assert app.codex_home == home.path
        app.initialize(timeout=5)


def test_bad_codex_home_type_is_a_one_line_type_error(fake_peer_bin):
    with pytest.raises(TypeError, match="^codex_home must be a path or a CodexHome, not int$"):
        AppServerProcess(5, codex_bin=fake_peer_bin)  # type: ignore[arg-type]


def test_params_that_are_not_json_name_the_method(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "ok") as app:
        with pytest.raises(TypeError, match=r"^thread/start: params are not JSON-serialisable \(Object of type PosixPath"):
            app.send_thread_start_request({"cwd": Path("/tmp")})
        with pytest.raises(TypeError, match="params must be a dict .* not int"):
            app.send_request("thread/list", 5)
        # a Mapping that is not a dict is sent as an object; the process still works
        import types

        rid = app.send_request("thread/list", types.MappingProxyType({"limit": 1}))
        assert app.read_stream_until_response_message(rid, timeout=5).result["params"] == {"limit": 1}


def test_initialize_sends_empty_capabilities_when_asked(fake_home, fake_peer_bin):
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "ok"}) as app:
        app.initialize(capabilities={}, timeout=5)
        assert '"capabilities":{}' in app.transcript[0]


def test_waiting_after_close_says_closed(fake_home, fake_peer_bin):
    app = peer(fake_home, fake_peer_bin, "silent")
    rid = app.send_request("thread/list", {})
    app.close()
    with pytest.raises(AppServerExitedError, match="^AppServerProcess was closed; nothing more will arrive for the answer to request 1"):
        app.read_stream_until_response_message(rid, timeout=5)


def test_spawn_reports_a_binary_that_stays_text_file_busy(fake_home, fake_peer_bin):
    # a real "Text file busy": the binary is still open for writing through every retry
    with open(fake_peer_bin, "r+b"), pytest.raises(
            AppServerError, match=r"^cannot start .*fake-codex: \[Errno 26\] Text file busy$"):
        AppServerProcess(fake_home, codex_bin=fake_peer_bin)


def test_fallback_spawn_retries_text_file_busy_then_reports_it(fake_home, fake_peer_bin, monkeypatch):
    # without the fork server (CODEX_THREADKIT_FORKSERVER=0) every spawn runs its own supervisor through Popen
    import errno
    import subprocess

    monkeypatch.setenv("CODEX_THREADKIT_FORKSERVER", "0")
    real_popen = subprocess.Popen
    calls: list[int] = []

    def busy_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.ETXTBSY, "Text file busy")
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", busy_once)
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin) as app:
        app.initialize(timeout=5)
    assert len(calls) == 2

    def always_busy(*args, **kwargs):
        raise OSError(errno.ETXTBSY, "Text file busy")

    monkeypatch.setattr(subprocess, "Popen", always_busy)
    with pytest.raises(AppServerError, match=r"^cannot start .*fake-codex: \[Errno 26\] Text file busy$"):
        AppServerProcess(fake_home, codex_bin=fake_peer_bin)


def test_assert_no_message_keeps_what_it_finds(fake_home, fake_peer_bin):
    with peer(fake_home, fake_peer_bin, "notify") as app:
        app.request("thread/read", {}, timeout=5)
        is_started = lambda m: isinstance(m, JSONRPCNotification) and m.method == "thread/started"  # noqa: E731
        with pytest.raises(AssertionError, match="unexpected thread/started"):
            app.assert_no_message(is_started, within=0.1, what="thread/started")
        assert app.read_stream_until_notification_message("thread/started", timeout=5).method == "thread/started"
        app.assert_no_message(is_started, within=0.05)  # now there is none


def test_concurrent_senders_put_ids_on_the_wire_in_order(fake_home, fake_peer_bin):
    import threading

    with peer(fake_home, fake_peer_bin, "ok") as app:
        ids: list[int] = []
        lock = threading.Lock()

        def send_many() -> None:
            for _ in range(25):
                rid = app.send_request("thread/list", {})
                with lock:
                    ids.append(rid)

        import sys

        threads = [threading.Thread(target=send_many) for _ in range(8)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible, to expose a race
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=10)
        finally:
            sys.setswitchinterval(interval)
        for rid in ids:
            app.read_stream_until_response_message(rid, timeout=5)
        import json

        sent = [json.loads(line[3:])["id"] for line in app.transcript if line.startswith("-> ") and '"method":"thread/list"' in line]
        assert sorted(ids) == sent and len(sent) == 200


def test_assert_no_message_since_counts_only_later_arrivals(fake_home, fake_peer_bin):
    # fails on main (no since= / mark()): "wait for this, then assert silence" saw what came before
    with peer(fake_home, fake_peer_bin, "notify") as app:
        before = app.mark()
        answer = app.read_stream_until_response_message(app.send_request("thread/read", {}), timeout=5)
        is_started = lambda m: isinstance(m, JSONRPCNotification) and m.method == "thread/started"  # noqa: E731
        with pytest.raises(AssertionError, match="thread/started"):  # it arrived after the mark
            app.assert_no_message(is_started, within=0.05, since=before)
        app.assert_no_message(is_started, within=0.05, since=answer)  # but before the answer
        app.assert_no_message(is_started, within=0.05, since=app.mark())
        with pytest.raises(ValueError, match="since must be a mark"):
            app.assert_no_message(is_started, within=0.05, since=-1)
        with pytest.raises(ValueError, match="not a message this client received"):
            app.assert_no_message(is_started, within=0.05, since=JSONRPCNotification("x", {}))


def test_interrupt_returns_a_buffered_completion_when_the_interrupt_is_not_answered(fake_home, fake_peer_bin):
    # on main the fallback polled with timeout 0, which the wait refuses (ValueError): it could never return
    app = peer(fake_home, fake_peer_bin, "silent")
    try:
        done = {"threadId": "th", "turn": {"id": "tu", "status": "completed"}}
        app._deliver(json.dumps({"jsonrpc": "2.0", "method": "turn/completed", "params": done}))
        got = app.interrupt_turn_and_wait_for_aborted("th", "tu", timeout=0.5)
        assert got.method == "turn/completed" and got.params == done
        with pytest.raises(AppServerTimeoutError):  # nothing buffered for another turn: the interrupt's timeout
            app.interrupt_turn_and_wait_for_aborted("th", "other", timeout=0.3)
    finally:
        app.close()
