"""A tiny scripted stdio JSON-RPC peer standing in for ``codex app-server``.

Used by the driver's error-path tests (the real binary cannot be made to send
malformed lines or crash on cue). The behaviour is chosen with the
``FAKE_PEER_MODE`` environment variable:

* ``ok``        - answers ``initialize`` and echoes every request's params as its result
* ``eof``       - answers ``initialize``, then closes stdout and exits 0 on the next request
* ``crash``     - answers ``initialize``, then writes to stderr and exits 3 on the next request
* ``malformed`` - answers ``initialize``, then sends a non-JSON line for the next request
* ``silent``    - answers ``initialize``, then never answers anything
* ``partial``   - answers ``initialize``, then writes half a line and hangs
* ``error``     - answers every request after ``initialize`` with a JSON-RPC error -32600
* ``notify``    - before each answer, sends a notification and a server request with the same id
* ``stubborn``  - answers ``initialize``, then ignores SIGTERM and stdin EOF and hangs
* ``orphan``    - answers ``initialize``, starts a grandchild in its own session that keeps
  stdout open (its pid goes to ``$FAKE_PEER_PIDFILE``), then exits 0
* ``delayed``   - answers request ``n`` only after request ``n + 1`` arrived (answers come
  in reverse order of the requests; for concurrent-wait tests)
* ``flood``     - before each answer, writes ``$FAKE_PEER_FLOOD_BYTES`` (default 80 MiB) without a
  newline, then the newline and the answer
* ``stderr-flood`` - like ``flood``, but the bytes without a newline go to stderr, then
  ``after-the-flood`` and a newline (stdout stays clean)
* ``approvals`` - on ``fake/serverRequests`` sends the server requests named in its params
  (``{"methods": [...]}``, ids ``s0``, ``s1``, ...) before answering it; ``fake/answers``
  returns every answer the client sent to those requests (``{"s0": {"result": ...}, ...}``)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    mode = os.environ.get("FAKE_PEER_MODE", "ok")
    held: list[int] = []
    answers: dict = {}
    for line in sys.stdin:
        msg = json.loads(line)
        if mode == "approvals" and "method" not in msg:
            answers[msg["id"]] = {k: v for k, v in msg.items() if k != "id"}
            continue
        if mode == "approvals" and msg.get("method") == "fake/serverRequests":
            for n, name in enumerate(msg["params"]["methods"]):
                send({"id": f"s{n}", "method": name, "params": {"callId": f"call-{n}", "n": n}})
            send({"id": msg["id"], "result": {}})
            continue
        if mode == "approvals" and msg.get("method") == "fake/answers":
            send({"id": msg["id"], "result": answers})
            continue
        if "id" not in msg:
            continue  # notifications (initialized)
        rid, method = msg["id"], msg.get("method")
        if method == "initialize":
            if mode == "orphan":  # the pid file exists before the handshake completes
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
                with open(os.environ["FAKE_PEER_PIDFILE"], "w") as fh:
                    fh.write(str(child.pid))
            send({"id": rid, "result": {"userAgent": "fake/0.0.0"}})
            if mode == "stubborn":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                while True:
                    time.sleep(3600)
            if mode == "orphan":
                os._exit(0)
            continue
        if mode == "delayed":
            held.append(rid)
            if len(held) == 2:
                for old in reversed(held):
                    send({"id": old, "result": {"n": old}})
                held.clear()
            continue
        if mode == "eof":
            sys.stdout.close()
            return 0
        if mode == "crash":
            sys.stderr.write("fake peer: panicked at 'boom'\n")
            sys.stderr.flush()
            os._exit(3)
        if mode == "malformed":
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        if mode == "silent":
            continue
        if mode == "partial":
            sys.stdout.write('{"id": %d, "res' % rid)
            sys.stdout.flush()
            time.sleep(3600)
        if mode == "error":
            send({"id": rid, "error": {"code": -32600, "message": f"nope: {method}"}})
            continue
        if mode == "flood":
            left = int(os.environ.get("FAKE_PEER_FLOOD_BYTES", 80 * 1024 * 1024))
            block = b"x" * (1 << 20)
            while left > 0:
                sys.stdout.buffer.write(block[:left])
                left -= len(block)
            sys.stdout.buffer.write(b"\n")
            sys.stdout.flush()
        if mode == "stderr-flood":
            left = int(os.environ.get("FAKE_PEER_FLOOD_BYTES", 80 * 1024 * 1024))
            block = b"e" * (1 << 20)
            while left > 0:
                sys.stderr.buffer.write(block[:left])
                left -= len(block)
            sys.stderr.buffer.write(b"\nafter-the-flood\n")
            sys.stderr.flush()
        if mode == "notify":
            send({"method": "thread/started", "params": {"n": rid}})
            send({"id": rid, "method": "item/commandExecution/requestApproval", "params": {}})
        send({"id": rid, "result": {"method": method, "params": msg.get("params")}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
