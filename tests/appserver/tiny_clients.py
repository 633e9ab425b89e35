"""Tiny "client libraries" that start their own app-server, the way the libraries of issue 19 do.

* :class:`PathClient` spawns ``[codex_path, "app-server"]`` itself; ``merge_environ=True``
  passes ``{**os.environ, **env}`` (five of seven libraries), ``False`` passes ``env=None``
  (the child inherits ``os.environ``); ``cwd`` is optional.
* :class:`UrlClient` connects to a ``ws://`` URL (the libraries that talk to a running server).

They know nothing of codex_fixtures: a test hands them ``codex_launch.executable`` or a URL.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import threading
from typing import Any


class PathClient:
    """A JSON-RPC client over the stdio of an app-server it spawns by path."""

    def __init__(self, codex_path: str | os.PathLike[str], *, env: dict[str, str] | None = None,
                 merge_environ: bool = True, cwd: str | os.PathLike[str] | None = None) -> None:
        full_env = {**os.environ, **(env or {})} if merge_environ else None
        self.proc = subprocess.Popen([str(codex_path), "app-server"], env=full_env, cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid  # what a library knows as "codex"
        self._ids = itertools.count(1)
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # drain

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, b""):
            self._lines.put(line)
        self._lines.put(b"")

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Send a request and return its response message (raises on timeout or EOF)."""
        rid = next(self._ids)
        self.proc.stdin.write(json.dumps({"id": rid, "method": method, "params": params or {}}).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            line = self._lines.get(timeout=timeout)
            if not line:
                raise EOFError("app-server closed its stdout")
            message = json.loads(line)
            if message.get("id") == rid and "method" not in message:
                return message

    def initialize(self) -> dict[str, Any]:
        """The ``initialize`` handshake."""
        answer = self.request("initialize", {"clientInfo": {"name": "tiny_client", "version": "1"}})
        self.proc.stdin.write(b'{"method": "initialized"}\n')
        self.proc.stdin.flush()
        return answer

    def close(self, timeout: float = 10.0) -> int:
        """Close stdin, wait (bounded) for the exit; kill on timeout."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=timeout)


class UrlClient:
    """A JSON-RPC client of an app-server already listening on a ``ws://`` URL."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, additional_headers=headers, open_timeout=10, origin=None, proxy=None).__enter__()
        self._ids = itertools.count(1)

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Send a request and return its response message."""
        rid = next(self._ids)
        self.ws.send(json.dumps({"id": rid, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.ws.recv(timeout=timeout))
            if message.get("id") == rid and "method" not in message:
                return message

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()
