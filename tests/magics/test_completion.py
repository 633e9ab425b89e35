"""Tab after %codex / %%codex: subcommands, options, call's methods and params, threads and variables holding them."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from codex_magics.completion import thread_variables
from codex_magics.display import Result, TurnResult
from magics_helpers import complete, ip_fixture  # noqa: F401 - a fixture


def test_options_of_subcommands_and_cells(ip):
    assert "--archived" in complete(ip, "%codex threads --ar") and "--limit" in complete(ip, "%codex threads --")
    assert complete(ip, "%codex sandbox --stream") == ["--stream-delay"]
    assert {"--no-wait", "--steer", "--out"} <= set(complete(ip, "%%codex --"))
    assert {"name", "steer", "call", "turns"} <= set(complete(ip, "%codex "))


def test_thread_variables_not_builtins(ip):
    ip.user_ns["t"] = Result("thread", {"id": "01a20000-0000-7000-8000-000000000000", "status": "idle"})
    ip.user_ns["turn1"] = TurnResult(thread_id="01a2", prompt="p")
    ip.user_ns["other"] = 5
    try:
        got = complete(ip, "%codex archive ")
        assert "t" in got and "turn1" in got and "other" not in got and "abs" not in got and "print" not in got
        assert complete(ip, "%codex archive tu") == ["turn1"]
        assert complete(ip, "%codex threads --limit ") in ([], [""])  # an option's value: nothing offered (no Python names)
        assert complete(ip, "%codex threads --limit 1") in ([], ["1"])
        assert thread_variables({"t": ip.user_ns["t"], "_hidden": ip.user_ns["t"], "x": 1}) == ["t"]
    finally:
        for name in ("t", "turn1", "other"):
            ip.user_ns.pop(name, None)


@pytest.mark.codex_binary
def test_call_completes_methods_and_params(ip):
    ip.run_cell("%codex sandbox")
    try:
        methods = complete(ip, "%codex call thread/go")
        assert methods == ["thread/goal/clear", "thread/goal/get", "thread/goal/set"]
        assert {"--objective", "--status", "--tokenBudget"} <= set(complete(ip, "%codex call thread/goal/set --"))
    finally:
        ip.run_cell("%codex stop")
