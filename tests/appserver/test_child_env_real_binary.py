"""What of the user's environment reaches a real hermetic ``codex app-server``, and where its traffic goes.

* ``CODEX_SQLITE_HOME`` / ``CODEX_EXEC_SERVER_URL`` in the parent: the child's
  ``/proc/PID/environ`` has neither, the sqlite files land in the temp CODEX_HOME,
  and nothing connects to the exec-server URL (a loopback listener we own);
* a proxy in ``HTTP(S)_PROXY``, in the parent or passed back with ``env=``: a mock on
  ``127.0.0.2`` or ``[::1]`` is reached directly, the proxy (a recording loopback
  listener) sees nothing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer
from codex_fixtures.mock.script import repeating_assistant

pytestmark = pytest.mark.codex_binary

PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


class RecordingListener:
    """A TCP listener on loopback that accepts, records and closes every connection (a stand-in proxy / exec server)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="recording-listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(peer[:2])
            conn.close()

    def close(self) -> None:
        """Stop accepting and close the socket (idempotent)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@contextlib.contextmanager
def recording_listener() -> Iterator[RecordingListener]:
    """A :class:`RecordingListener`, closed on exit."""
    listener = RecordingListener()
    try:
        yield listener
    finally:
        listener.close()


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def test_the_users_codex_variables_do_not_reach_a_hermetic_child(real_codex, tmp_path, monkeypatch):
    elsewhere = tmp_path / "users-sqlite-home"
    elsewhere.mkdir()
    with recording_listener() as exec_server:
        monkeypatch.setenv("CODEX_SQLITE_HOME", str(elsewhere))
        monkeypatch.setenv("CODEX_EXEC_SERVER_URL", f"ws://127.0.0.1:{exec_server.port}")
        monkeypatch.setenv("PYTHONPATH", "/users/python/path")
        with MockResponsesServer(repeating_assistant("hi")).start() as mock, CodexHome(mock) as home:
            with AppServerProcess(home.path, codex_bin=real_codex) as app:
                environ = _environ_of(app.pid)
                assert not {"CODEX_SQLITE_HOME", "CODEX_EXEC_SERVER_URL", "PYTHONPATH"} & set(environ)
                assert environ["CODEX_HOME"] == str(home.path) and environ["PATH"]
                app.initialize(timeout=30)
                thread = app.start_thread(timeout=30)
                assert app.run_turn(thread["id"], "hi", timeout=30)["status"] == "completed"
            assert sorted(p.name for p in elsewhere.iterdir()) == []
            assert (home.path / "state_5.sqlite").is_file() or list(home.path.glob("*.sqlite")), sorted(home.path.iterdir())
            assert len(mock.requests) == 1
    assert exec_server.connections == [], "the app-server connected to the user's CODEX_EXEC_SERVER_URL"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("host", ["127.0.0.2", "::1"])
@pytest.mark.parametrize("where", ["parent", "env="])
def test_a_proxy_never_gets_the_mocks_traffic_on_any_loopback_address(host, where, real_codex, monkeypatch):
    if host == "::1" and not _ipv6_loopback():
        pytest.skip("IPv6 loopback ::1 is not available on this machine")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with recording_listener() as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        overrides: dict[str, str | None] = {}
        for name in PROXY_VARS:
            if where == "parent":
                monkeypatch.setenv(name, url)
            else:
                overrides[name] = url  # passed back on purpose: NO_PROXY must still cover the mock
        with MockResponsesServer(repeating_assistant("hi"), host=host).start() as mock, CodexHome(mock) as home:
            with AppServerProcess(home.path, codex_bin=real_codex, env=overrides) as app:
                app.initialize(timeout=30)
                thread = app.start_thread(timeout=30)
                assert app.run_turn(thread["id"], "hi", timeout=30)["status"] == "completed"
            assert len(mock.requests) == 1
    assert proxy.connections == [], f"the proxy got the mock's traffic for {mock.uri}"
