"""Driver overhead on the real binary, each ratio against a bare stdlib client.

1. spawn + ``initialize`` (+ close) through :class:`AppServerProcess` vs a bare
   ``subprocess`` JSON-RPC client on the same binary and CODEX_HOME (goal <= 1.10);
1b. spawn + ``initialize`` + ``thread/start`` + ``thread/archive`` + close, the same two
   clients on the same warm home: the driver's own overhead (goal <= 1.05, issue 26);
2. the seed scenario (mock server, CODEX_HOME with config, spawn, initialize,
   ``thread/start``, ``thread/archive``, archived file checked, teardown)
   through the fixture objects vs a bare stdlib script doing the same
   (stdlib ``http.server`` mock, hand-written config.toml) (goal <= 1.15);
4b. what the ``codex_app_server`` fixture does (marker options, started mock,
   hermetic home, spawn + initialize, teardown with the strict check) vs a bare
   spawn + initialize on a fresh hand-written home (goal <= 1.15). Every test
   needs a fresh home, and the binary's first initialize in an empty home costs
   far more than a later one (SQLite databases, bundled skills extracted), so
   the baseline gets a fresh home too; the warm-home time is printed for scale.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from codex_fixtures import AppServerProcess, CodexHome, find_archived_thread_path_by_id_str, resolve_codex_bin
from codex_fixtures import _plugin_support as support

from benchmarks._common import BenchResult, LineClient, interleaved

REPEAT = int(os.environ.get("BENCH_DRIVER_REPEAT", "15"))
_INIT = {"clientInfo": {"name": "bench", "title": None, "version": "0"}, "capabilities": {"experimentalApi": True}}


def _BareClient(codex_bin: str, home: str, cwd: str) -> LineClient:  # noqa: N802 - what someone would write with the stdlib only
    return LineClient([codex_bin, "app-server"], dict(os.environ, CODEX_HOME=home, RUST_LOG="warn"), cwd)


def _bare_init(codex_bin: str, home: str, cwd: str) -> None:
    client = _BareClient(codex_bin, home, cwd)
    client.request("initialize", _INIT)
    client.notify("initialized")
    client.close()


class _Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _bare_config(home: str, port: int) -> None:
    Path(home, "config.toml").write_text(
        'model = "mock-model"\napproval_policy = "never"\nsandbox_mode = "read-only"\nmodel_provider = "mock_provider"\n'
        "[features]\nplugins = false\nshell_snapshot = false\n"
        f'[model_providers.mock_provider]\nname = "mock"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
        'wire_api = "responses"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
    )


def _bare_fresh_init(codex_bin: str) -> None:
    """Bare spawn + initialize on a fresh hand-written home (no mock: nothing calls the model)."""
    home, cwd = tempfile.mkdtemp(), tempfile.mkdtemp()
    try:
        _bare_config(home, 9)
        _bare_init(codex_bin, home, cwd)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)


def _bare_seed(codex_bin: str) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    home, cwd = tempfile.mkdtemp(), tempfile.mkdtemp()
    try:
        _bare_config(home, httpd.server_port)
        client = _BareClient(codex_bin, home, cwd)
        client.request("initialize", _INIT)
        client.notify("initialized")
        thread_id = client.request("thread/start", {"model": "mock-model"})["thread"]["id"]
        client.request("thread/archive", {"threadId": thread_id})
        assert glob.glob(os.path.join(home, "archived_sessions", f"*{thread_id}.jsonl"))
        client.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)


def _ours_init(codex_bin: str, home: str) -> None:
    with AppServerProcess(home, codex_bin=codex_bin) as app:
        app.initialize()


def _bare_lifecycle(codex_bin: str, home: str, cwd: str) -> None:
    client = _BareClient(codex_bin, home, cwd)
    client.request("initialize", _INIT)
    client.notify("initialized")
    thread_id = client.request("thread/start", {"model": "mock-model"})["thread"]["id"]
    client.request("thread/archive", {"threadId": thread_id})
    client.close()


def _ours_lifecycle(codex_bin: str, home: str) -> None:
    with AppServerProcess(home, codex_bin=codex_bin) as app:
        app.initialize()
        thread_id = app.start_thread({"model": "mock-model"})["id"]
        app.request("thread/archive", {"threadId": thread_id})


def _ours_seed(codex_bin: str) -> None:
    with support.make_server(support.MarkerOptions()) as server, CodexHome(server, fresh=True) as home:
        with AppServerProcess(home.path, codex_bin=codex_bin) as app:
            app.initialize()
            thread_id = app.start_thread({"model": "mock-model"})["id"]
            app.request("thread/archive", {"threadId": thread_id})
            assert find_archived_thread_path_by_id_str(home.path, thread_id) is not None


def _ours_fixture(codex_bin: str) -> None:
    # the codex_responses -> codex_home -> codex_app_server chain, set up and torn down
    options = support.marker_options(None)
    server = support.make_server(options)
    try:
        home = CodexHome(server, fresh=True, **options.config)  # like for like: bench_templates T1 has the template
        try:
            with AppServerProcess(home.path, codex_bin=codex_bin) as app:
                app.initialize()
        finally:
            home.cleanup()
        server.check()
    finally:
        server.close()


def bench() -> list[BenchResult]:
    codex_bin = str(resolve_codex_bin())
    with CodexHome("http://127.0.0.1:9") as home:
        cwd = tempfile.mkdtemp(prefix="bench-cwd-")
        try:
            _bare_init(codex_bin, str(home.path), cwd)  # warm the home (sqlite files, bundled skills)
            ours1, base1 = interleaved(lambda: _ours_init(codex_bin, str(home.path)),
                                       lambda: _bare_init(codex_bin, str(home.path), cwd), REPEAT)
            ours1b, base1b = interleaved(lambda: _ours_lifecycle(codex_bin, str(home.path)),
                                         lambda: _bare_lifecycle(codex_bin, str(home.path), cwd), REPEAT)
            warm4, _ = interleaved(lambda: _bare_init(codex_bin, str(home.path), cwd), lambda: None, REPEAT)
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
    ours4, base4 = interleaved(lambda: _ours_fixture(codex_bin), lambda: _bare_fresh_init(codex_bin), REPEAT)
    ours2, base2 = interleaved(lambda: _ours_seed(codex_bin), lambda: _bare_seed(codex_bin), REPEAT)
    ms = 1000.0
    return [
        BenchResult("1 spawn+initialize: AppServerProcess vs bare stdlib client", ours1 * ms, base1 * ms, "ms", 1.10,
                    note=f"median of {REPEAT}, interleaved, same warm CODEX_HOME"),
        BenchResult("1b spawn+initialize+thread/start+thread/archive+close: AppServerProcess vs bare stdlib client",
                    ours1b * ms, base1b * ms, "ms", 1.05,
                    note=f"median of {REPEAT}, interleaved, same warm CODEX_HOME; the driver's own overhead (issue 26)"),
        BenchResult("2 seed scenario: fixture objects vs bare stdlib script", ours2 * ms, base2 * ms, "ms", 1.15,
                    note=f"median of {REPEAT}; fresh home + mock each run on both sides"),
        BenchResult("4b codex_app_server-like setup+teardown vs bare spawn+initialize", ours4 * ms, base4 * ms, "ms", 1.15,
                    note=f"median of {REPEAT}; both on a fresh home each run (ours adds the mock and the strict check); "
                         f"for scale, bare spawn+initialize on a warm home: {warm4 * ms:.1f} ms"),
    ]


if __name__ == "__main__":
    for r in bench():
        print(r.line())
