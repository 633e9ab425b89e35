"""%codex in a REAL ipykernel (jupyter_client), driven cell by cell over ZMQ.

On-disk state is checked from this process against the kernel's CODEX_HOME.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from codex_fixtures import (
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
)
from magics_helpers import pid_running

pytestmark = [pytest.mark.kernel, pytest.mark.codex_binary]


@dataclass
class Run:
    status: str
    ename: str | None
    evalue: str | None
    traceback: list[str]
    msgs: list[dict[str, Any]] = field(default_factory=list)

    def of(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.msgs if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stderr")

    @property
    def texts(self) -> list[str]:
        """text/plain of every display_data / update_display_data / execute_result, in order."""
        return [m["content"]["data"].get("text/plain", "") for m in self.of("display_data", "update_display_data", "execute_result")]


class Kernel:
    def __init__(self, cwd: Path) -> None:
        self.km = jupyter_client.KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.pid = self.km.provisioner.process.pid  # type: ignore[union-attr]

    def send(self, code: str) -> str:
        return self.kc.execute(code, store_history=True)

    def collect(self, msg_id: str, timeout: float = 30.0, until: Any = None) -> Run:
        """iopub messages of ``msg_id`` until idle (or until ``until(msg)`` is true), then the reply."""
        msgs: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no idle within {timeout}s; got {[m['msg_type'] for m in msgs]}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            msgs.append(msg)
            if until is not None and until(msg):
                return Run("partial", None, None, [], msgs)
        while True:
            reply = self.kc.get_shell_msg(timeout=10)
            if reply["parent_header"].get("msg_id") == msg_id:
                c = reply["content"]
                return Run(c["status"], c.get("ename"), c.get("evalue"), c.get("traceback", []), msgs)

    def run(self, code: str, timeout: float = 30.0) -> Run:
        return self.collect(self.send(code), timeout)

    def ok(self, code: str, timeout: float = 30.0) -> Run:
        r = self.run(code, timeout)
        assert r.status == "ok", f"{code!r}: {r.ename}: {r.evalue}\n{r.stderr}"
        return r

    def usage_error(self, code: str) -> str:
        r = self.run(code)
        assert r.status == "error" and r.ename == "UsageError", (code, r.ename, r.evalue)
        assert "\n" not in r.evalue.strip() and not any("Traceback" in t for t in r.traceback), r.traceback
        return r.evalue

    def value(self, expr: str) -> Any:
        r = self.ok(f"import json as _j; print(_j.dumps({expr}, default=str))")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def codex(self, line: str, expr: str = "_v") -> Any:
        """``_v = %codex LINE`` in the kernel, then the JSON value of ``expr``."""
        self.ok(f"_v = %codex {line}")
        return self.value(expr)

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_running(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module", name="kernel")
def kernel_fixture(tmp_path_factory):
    k = Kernel(tmp_path_factory.mktemp("kernel-cwd"))
    k.ok("%load_ext codex_magics")
    yield k
    k.shutdown()


def _sandbox(kernel: Kernel) -> tuple[Path, int]:
    kernel.ok("_status = %codex sandbox")
    home, pid = kernel.value("[_status.codex_home, _status.app_server_pid]")
    return Path(home), pid


def test_thread_story_with_disk_checks(kernel):
    home, _ = _sandbox(kernel)
    tid = kernel.codex("start", "_v.id")
    assert find_thread_path_by_id_str(home, tid) is None and find_archived_thread_path_by_id_str(home, tid) is None
    assert kernel.codex("rollout", "_v.state") == "not yet written"

    turn = kernel.ok("%%codex -o first\nSay hello to the kernel test.")
    updates = turn.of("update_display_data")
    assert len(turn.of("display_data")) == 1 and len(updates) >= 3, [m["msg_type"] for m in turn.msgs]
    partial = [u["content"]["data"]["text/plain"] for u in updates]
    assert any("▌" in p and "Hello from the Codex sandbox" in p for p in partial)  # a live, partial state
    assert "streamed word by word" in partial[-1] and "completed" in partial[-1] and "▌" not in partial[-1]
    [out] = turn.of("execute_result")  # the value has an Out[n]: the live display's final state, byte for byte
    assert turn.of("clear_output") and out["content"]["data"]["text/plain"] == partial[-1]
    assert kernel.value("[first.status, first.turn_id is not None]") == ["completed", True]
    active = find_thread_path_by_id_str(home, tid)
    assert active is not None and len(active.read_text().splitlines()) > 1
    assert kernel.codex("rollout", "_v.lines") == len(active.read_text().splitlines())

    kernel.ok("%codex archive")
    assert find_thread_path_by_id_str(home, tid) is None
    archived = find_archived_thread_path_by_id_str(home, tid)
    assert archived is not None and kernel.codex("rollout", "_v.path") == str(archived)
    assert tid in kernel.ok("%codex threads --archived").texts[-1]
    assert kernel.codex("threads --archived", "_v.ids") == [tid]

    kernel.ok(f"%codex unarchive {tid[:13]}")
    assert find_archived_thread_path_by_id_str(home, tid) is None and find_thread_path_by_id_str(home, tid) == active
    kernel.ok(f"%codex resume {tid}")
    kernel.ok("%%codex\nSecond turn, after the round trip.")
    assert kernel.codex("read --turns", "len(_v)") == 2

    fork_id = kernel.codex("fork " + tid + "", "_v.id")
    assert fork_id != tid and kernel.codex("status", "_v.current_thread") == fork_id
    assert {r.thread_id for r in list_rollouts(home)} >= {tid}

    kernel.ok(f"%codex use {tid}")
    assert kernel.codex("rollback --turns 1", "_v.turns_removed") == 1
    segments = [r for r in list_rollouts(home) if r.thread_id == tid and r.is_segment]
    assert len(segments) == 1
    assert find_thread_path_by_id_str(home, tid) == active  # the base file is left alone
    assert kernel.codex("rollout", "_v.segments") == 1
    assert kernel.codex("read --turns", "len(_v)") == 1


def test_interrupt_held_turn(kernel):
    _sandbox(kernel)
    kernel.ok(
        "from codex_fixtures import Gate, ev_assistant_message, ev_completed, ev_response_created\n"
        "_gate = Gate(after=6)\n"
        "_events = [ev_response_created('r'), *ev_assistant_message('m', 'partial words then a long wait', streamed=True), ev_completed('r')]\n"
        "_status.session.server.enqueue(_events, gate=_gate)\n"
        "%codex start"
    )
    msg_id = kernel.send("%%codex -o held\nThis turn will be interrupted.")
    kernel.collect(msg_id, until=lambda m: m["msg_type"] == "update_display_data" and "partial words" in m["content"]["data"]["text/plain"])
    kernel.km.interrupt_kernel()
    rest = kernel.collect(msg_id, timeout=20)
    assert rest.status == "ok", (rest.ename, rest.evalue, rest.traceback)
    final = rest.texts[-1]
    assert "interrupted" in final and "partial words" in final, final
    assert kernel.value("[held.status, held.interrupted]") == ["interrupted", True]
    kernel.ok("_gate.release()")
    after = kernel.ok("%%codex -o after\nAnd now a normal turn.")
    assert "completed" in after.texts[-1]
    assert kernel.value("after.status") == "completed"


def test_bad_input_and_dead_app_server(kernel):
    _, pid = _sandbox(kernel)
    kernel.ok("%codex start")
    assert "unknown subcommand 'frok'" in kernel.usage_error("%codex frok")
    assert "did you mean 'fork'" in kernel.usage_error("%codex frok")
    assert "malformed thread id" in kernel.usage_error("%codex use not-a-uuid")
    assert "thread not loaded" in kernel.usage_error("%codex read 01a20000-0000-7000-8000-000000000000")
    assert "unknown thread" in kernel.usage_error("%codex archive 0000ffff")
    assert "no turns yet" in kernel.usage_error("%codex rollback --turns 1")
    assert "required" in kernel.usage_error("%codex rollback")
    failed = kernel.run("%%codex 01a20000-0000-7000-8000-000000000000\nhello")
    assert failed.ename == "UsageError" and "thread not found" in failed.evalue
    assert not failed.of("display_data")  # a turn that never started leaves no live display behind
    assert "cell is empty" in kernel.usage_error("%%codex\n\n")
    os.kill(pid, signal.SIGKILL)
    assert _wait_gone(pid)
    err = kernel.usage_error("%codex start")
    assert "exited" in err and len(err) < 300
    assert kernel.codex("status", "_v.state") == "error"
    assert kernel.value("6 * 7") == 42
    _, pid2 = _sandbox(kernel)  # the kernel stays usable: a new sandbox works
    assert pid2 != pid and kernel.codex("start", "_v.status") == "idle"


def test_unload_reload_shutdown_leave_no_app_server(tmp_path):
    k = Kernel(tmp_path)
    try:
        k.ok("%load_ext codex_magics")
        _, pid1 = _sandbox(k)
        k.ok("%unload_ext codex_magics")
        assert _wait_gone(pid1)
        r = k.run("%codex status")
        assert r.status == "error" and "not found" in r.evalue
        k.ok("%load_ext codex_magics")
        k.ok("%load_ext codex_magics")  # twice: still one
        assert k.value("sum(type(c).__name__ == 'CodexMagics' for c in get_ipython().configurables)") == 1
        _, pid2 = _sandbox(k)
        k.ok("%reload_ext codex_magics")
        assert _wait_gone(pid2)
        assert "no session" in k.usage_error("%codex status")
        _, pid3 = _sandbox(k)
        assert pid_running(pid3)
    finally:
        k.shutdown()
    assert _wait_gone(pid3), "codex app-server survived the kernel shutdown"
