"""codex-repro catalog wall time on one binary (the bundled one).

Two ratios, both measured in this run:

* ``scenarios.catalog_vs_bare_seed``: the whole catalog through
  ``run_scenarios`` (parallel, every step snapshotted) against the bare seed
  scenario (spawn ``codex app-server``, ``initialize``, ``thread/start``,
  ``thread/archive``, file confirmed in ``archived_sessions/``) written as raw
  subprocess JSON-RPC with no library, run once per catalog scenario,
  sequentially. The scenarios do far more (turns, several processes, 10
  concurrent archives), so ``<= 1.5`` says the parallel runner pays for that.
* ``scenarios.catalog_vs_5s_goal``: the same wall time against the issue's
  absolute budget of 5 s (the baseline is the constant 5 s, goal ``<= 1``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from codex_fixtures import codex_binary_info, write_config_toml
from codex_fixtures.repro.scenarios import SCENARIOS, run_scenarios

from benchmarks._common import BenchResult, interleaved

GOAL_S = 5.0
REPEAT = 3


def bare_seed(codex: Path) -> None:
    """The seed scenario in raw JSON-RPC over a subprocess pipe."""
    home = Path(tempfile.mkdtemp(prefix="bench-seed-"))
    cwd = Path(tempfile.mkdtemp(prefix="bench-cwd-"))
    try:
        write_config_toml(home, "http://127.0.0.1:9")
        env = {**os.environ, "CODEX_HOME": str(home), "RUST_LOG": "warn"}
        proc = subprocess.Popen([str(codex), "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, cwd=cwd, text=True, bufsize=1)
        assert proc.stdin and proc.stdout

        def request(rid: int, method: str, params: dict) -> dict:
            proc.stdin.write(json.dumps({"id": rid, "method": method, "params": params}) + "\n")
            proc.stdin.flush()
            for line in proc.stdout:
                msg = json.loads(line)
                if msg.get("id") == rid and "method" not in msg:
                    return msg
            raise RuntimeError("app-server exited")

        request(0, "initialize", {"clientInfo": {"name": "bench", "version": "0"}})
        proc.stdin.write('{"method":"initialized"}\n')
        thread = request(1, "thread/start", {"model": "mock-model"})["result"]["thread"]
        request(2, "thread/archive", {"threadId": thread["id"]})
        assert any((home / "archived_sessions").glob(f"*{thread['id']}.jsonl"))
        proc.stdin.close()
        proc.wait(timeout=10)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)


def bench() -> list[BenchResult]:
    binary = codex_binary_info()
    n = len(SCENARIOS)
    run_scenarios(binaries=[binary])  # warm-up: schema caches, page cache

    def ours() -> None:
        report = run_scenarios(binaries=[binary])
        assert report.summary["error"] == 0, report.to_text()

    def baseline() -> None:
        for _ in range(n):
            bare_seed(binary.path)

    ours_s, base_s = interleaved(ours, baseline, REPEAT)
    where = f"codex {binary.version}, {n} scenarios, 4 jobs, median of {REPEAT} interleaved runs"
    return [
        BenchResult("scenarios.catalog_vs_bare_seed", ours_s, base_s, "s", 1.5,
                    note=f"catalog wall vs {n} x bare seed scenario (raw subprocess JSON-RPC, sequential); {where}"),
        BenchResult("scenarios.catalog_vs_5s_goal", ours_s, GOAL_S, "s", 1.0,
                    note=f"catalog wall vs the 5 s budget of issue 4 (constant baseline); {where}"),
    ]


if __name__ == "__main__":  # pragma: no cover
    for result in bench():
        print(result.line())
