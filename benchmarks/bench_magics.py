"""``%codex threads`` over 2,000 rollouts vs the same driver call (goal <= 1.2).

A CODEX_HOME gets 2,000 fake rollouts (``create_fake_rollout``) and a hermetic
config; an in-process IPython shell loads ``codex_magics`` and connects to it
(``%codex connect --home``). Ours: ``%codex threads --limit N`` plus rendering
the returned table as HTML (what a notebook shows). Baseline: ``thread/list``
with the same params through the session's own ``AppServerProcess``. Both run
against the same app-server, interleaved, after a warm-up listing.
"""

from __future__ import annotations

import os
import time

from codex_fixtures import CodexHome, MockResponsesServer, create_fake_rollout

from benchmarks._common import BenchResult, interleaved

ROLLOUTS = int(os.environ.get("BENCH_MAGICS_ROLLOUTS", "2000"))
REPEAT = int(os.environ.get("BENCH_MAGICS_REPEAT", "9"))


def bench() -> list[BenchResult]:
    import codex_magics  # noqa: F401 - skip this module cleanly when the extension is missing
    from IPython.core.interactiveshell import InteractiveShell

    with MockResponsesServer() as server, CodexHome(server) as home:
        t0 = time.perf_counter()
        base = time.time() - ROLLOUTS * 60
        for i in range(ROLLOUTS):
            create_fake_rollout(home.path, created_at=base + i * 60, preview=f"rollout {i}")
        made = time.perf_counter() - t0
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "codex_magics")
        try:
            ip.run_line_magic("codex", f"connect --home {home.path}")
            magics = ip.magics_manager.registry["CodexMagics"]
            app = magics.session.app
            params = {"archived": False, "limit": ROLLOUTS}
            first = app.request("thread/list", params, timeout=120)  # warm-up (state DB backfill)
            listed = len(first.get("data", []))
            table = ip.run_line_magic("codex", f"threads --limit {ROLLOUTS}")
            assert len(table) == listed, (len(table), listed)

            def ours() -> None:
                t = ip.run_line_magic("codex", f"threads --limit {ROLLOUTS}")
                t._repr_html_()

            def baseline() -> None:
                app.request("thread/list", params, timeout=120)

            a, b = interleaved(ours, baseline, REPEAT)
            bare_magic, _ = interleaved(lambda: ip.run_line_magic("codex", f"threads --limit {ROLLOUTS}"), lambda: None, 3)
        finally:
            ip.run_line_magic("codex", "stop")
            ip.run_line_magic("unload_ext", "codex_magics")
            InteractiveShell.clear_instance()
    return [
        BenchResult(f"6 %codex threads over {ROLLOUTS} rollouts vs the same thread/list driver call", a * 1000, b * 1000, "ms", 1.2,
                    note=f"median of {REPEAT}; {listed} threads listed; ours includes the HTML table "
                         f"({bare_magic * 1000:.0f} ms without it); {ROLLOUTS} rollouts written in {made:.1f} s"),
    ]


if __name__ == "__main__":
    for r in bench():
        print(r.line())
