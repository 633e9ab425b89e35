"""The thread API subcommands and ``%codex call`` in a REAL ipykernel, on the real binary, checked on disk.

Every subcommand runs against the bundled codex; the 0.101.0 test (a binary
that lacks most of them) skips where that binary is not in the fetch cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from codex_fixtures import find_thread_path_by_id_str
from codex_fixtures.appserver.fetch import cached_binary, codex_cache_dir
from test_kernel import _sandbox, kernel_fixture  # noqa: F401 - kernel_fixture: the module's kernel

pytestmark = [pytest.mark.kernel, pytest.mark.codex_binary]


def _binary_0_101() -> Path:
    root = codex_cache_dir() / "0.101.0"
    binary = cached_binary(root)  # the fetch cache's own lookup (its layout changed once and a glob here skipped for good)
    if binary is None:
        pytest.skip(f"codex 0.101.0 is not in the fetch cache ({root}): codex-repro run --codex-version 0.101.0 fetches it")
    return binary


def test_named_subcommands_on_the_bundled_binary(kernel):
    home, _ = _sandbox(kernel)
    tid = kernel.codex("start", "_v.id")
    kernel.ok("%%codex\nThe first turn.")
    assert kernel.codex("name 'my thread'", "_v.name") == "my thread"
    assert kernel.value("_status.session.call('thread/read', {'threadId': %r})['thread']['name']" % tid) == "my thread"
    assert kernel.codex("turns", "[len(_v), _v[0]['status'], _v[0]['prompt']]") == [1, "completed", "The first turn."]
    assert tid in kernel.codex("loaded", "_v.ids")
    assert kernel.codex("goal", "_v.title") == "no goal"
    # paused: an active goal makes codex 0.163.0 start a continuation turn on its own
    assert kernel.codex("goal set --objective 'ship it' --status paused --token-budget 500",
                        "[_v.objective, _v.status, _v.tokenBudget]") == ["ship it", "paused", 500]
    assert kernel.codex("goal get", "_v.objective") == "ship it"
    assert kernel.codex("goal clear", "_v.cleared") is True
    assert kernel.codex("goal", "_v.title") == "no goal"
    assert kernel.codex("metadata --branch main --sha abc123", "[_v.branch, _v.sha]") == ["main", "abc123"]
    assert kernel.codex("metadata", "[_v.branch, _v.sha]") == ["main", "abc123"]  # read back with thread/read

    done = kernel.codex("compact", "[_v.status, _v.turn_id]")  # the compaction runs as a turn: followed to its end
    assert done[0] == "completed"
    assert kernel.codex("turns", "[r['id'] for r in _v]")[-1] == done[1]
    assert kernel.codex("unsubscribe", "_v.status") == "unsubscribed"

    other = kernel.codex("start", "_v.id")
    kernel.ok("%%codex\nA thread to delete.")
    path = find_thread_path_by_id_str(home, other)
    assert path is not None and path.exists()
    assert kernel.codex(f"delete {other}", "[_v.state, _v.exists]") == ["deleted", False]
    assert not path.exists() and find_thread_path_by_id_str(home, other) is None
    assert other not in kernel.codex("threads", "_v.ids")


def test_steer_and_interrupt_a_running_turn(kernel):
    _sandbox(kernel)
    kernel.ok(
        "from codex_fixtures import Gate, ev_assistant_message, ev_completed, ev_response_created\n"
        "def _held():\n"
        "    g = Gate(after=4)\n"
        "    ev = [ev_response_created('r'), *ev_assistant_message('m', 'held words then more', streamed=True), ev_completed('r')]\n"
        "    _status.session.server.enqueue(ev, gate=g)\n"
        "    return g\n"
        "_gate = _held()\n"
        "%codex start"
    )
    running = kernel.ok("%%codex --no-wait -o bg\nA turn that keeps running.")
    assert "in progress" in running.texts[-1]
    assert kernel.value("_gate.wait_reached(10)") is True  # the mock holds the stream: the turn is running
    assert kernel.codex("steer and also this, please", "_v.turn_id") == kernel.value("bg.turn_id")
    kernel.ok("_gate.release()")
    final = kernel.ok("_w = %codex wait")
    assert kernel.value("_w.status") == "completed"
    assert kernel.value("[r.message_input_texts('user')[-1] for r in _status.session.server.requests][-1]") == "and also this, please"
    assert "completed" in final.texts[-1]

    kernel.ok("_gate = _held()")
    kernel.ok("%%codex --no-wait\nA turn to interrupt.")
    assert kernel.value("_gate.wait_reached(10)") is True
    kernel.ok("%%codex --steer -o _c\nSteered by a cell.")
    assert kernel.value("[_c.title, _c.text]") == ["turn steered", "Steered by a cell."]
    assert kernel.codex("interrupt", "[_v.status, _v.interrupted]")[0] == "interrupted"
    kernel.ok("_gate.release()")
    assert "no running turn" in kernel.usage_error("%codex steer too late")
    assert "--no-wait starts a turn" in kernel.usage_error("%%codex --no-wait --steer\nboth")


def test_call_reaches_other_methods_and_checks_params(kernel):
    _sandbox(kernel)
    tid = kernel.codex("start", "_v.id")
    kernel.ok("%%codex\nItems, please.")
    kinds = kernel.codex("call thread/items/list --limit 5", "[i['item']['type'] for i in _v.result['data']]")
    assert kinds[:2] == ["userMessage", "agentMessage"]
    assert kernel.codex('call thread/items/list {"limit": 1}', "len(_v.result['data'])") == 1
    assert kernel.codex(f"call thread/read --threadId {tid[:13]}", "_v.result['thread']['id']") == tid
    listed = kernel.ok("%codex call").stdout
    assert "thread/items/list" in listed and "turn/steer" in listed and "(30)" in listed
    helped = kernel.ok("%codex call thread/goal/set --help").stdout
    assert "--tokenBudget" in helped and "one of active, paused" in helped

    assert kernel.usage_error("%codex call thread/turns/list --limit ten") == (
        "thread/turns/list: --limit must be an integer (uint32) or null, got 'ten'")
    assert kernel.usage_error("%codex call thread/goal/set --status done") == (
        'thread/goal/set: status must be one of active, paused, blocked, usageLimited, budgetLimited, complete or null, got "done"')
    assert kernel.usage_error("%codex call thread/name/set") == "thread/name/set: missing required param 'name' (a string)"
    assert "unknown param 'limt'" in kernel.usage_error('%codex call thread/items/list {"limt": 2}')
    assert "input.0.text" in kernel.usage_error('%codex call turn/steer --expectedTurnId x --input \'[{"type": "text"}]\'')
    assert "does not offer thread/nope" in kernel.usage_error("%codex call thread/nope")
    assert kernel.value("len(_status.session.server.requests)") == 1  # nothing invalid reached the app-server's model


def test_reply_text_is_shown_exactly(kernel):
    reply = "Use a List<String> & <b>x</b>, then `a<b>` & &amp; done"
    kernel.ok(f"_status = %codex sandbox --reply {reply!r}")
    kernel.ok("%codex start")
    turn = kernel.ok("%%codex\nShow me the text.")
    updates = [m["content"]["data"] for m in turn.of("update_display_data")]
    [out] = [m["content"]["data"] for m in turn.of("execute_result")]
    assert reply in out["text/plain"] and out["text/plain"] == updates[-1]["text/plain"]
    shown = out["text/html"]  # rendered from Markdown, sanitized: the text as typed, no tag of the reply's
    assert "List&lt;String&gt; &amp; &lt;b&gt;x&lt;/b&gt;, then <code>a&lt;b&gt;</code> &amp; &amp;amp; done" in shown
    assert "text/markdown" not in out and updates[-1]["text/html"] == shown
    table = kernel.ok("%codex turns").of("execute_result")[0]["content"]["data"]
    assert "List&lt;String&gt; &amp; &lt;b&gt;x&lt;/b&gt;" in table["text/html"] and reply in table["text/plain"]
    kernel.ok("%config CodexMagics.render = 'text'")
    try:
        plain = kernel.ok("%%codex\nAgain, as plain text.").of("execute_result")[0]["content"]["data"]
        assert reply in plain["text/plain"] and "text/html" not in plain and "text/markdown" not in plain
    finally:
        kernel.ok("%config CodexMagics.render = 'markdown'")


def test_subcommands_missing_on_0_101(kernel):
    binary = _binary_0_101()
    kernel.ok(f"_status = %codex sandbox --codex-bin {binary}")
    assert kernel.value("_status.version") == "0.101.0"
    kernel.ok("%codex start")
    for cmd, method in [("delete", "thread/delete"), ("turns", "thread/turns/list"), ("unsubscribe", "thread/unsubscribe"),
                        ("goal", "thread/goal/get"), ("metadata --branch x", "thread/metadata/update")]:
        assert kernel.usage_error(f"%codex {cmd}") == (
            f"%codex {cmd.split()[0] if cmd != 'goal' else 'goal get'}: codex 0.101.0 does not offer {method} (codex 0.163.0 has it)")
    assert kernel.usage_error("%codex call thread/items/list") == "codex 0.101.0 does not offer thread/items/list; codex 0.163.0 has it"
    assert "(14)" in kernel.ok("%codex call").stdout
    assert kernel.codex("name old-binary", "_v.name") == "old-binary"  # thread/name/set is there
    assert kernel.codex("loaded", "len(_v)") == 1
