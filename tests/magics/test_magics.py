"""%codex magics in an in-process IPython shell (fast; the sandbox runs the real binary)."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("IPython")

from codex_fixtures import (
    MockResponsesServer,
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_function_call,
    ev_response_created,
    find_archived_thread_path_by_id_str,
    find_thread_path_by_id_str,
    list_rollouts,
    write_config_toml,
)
from codex_fixtures.mock.script import repeating_assistant
from codex_magics.display import Result, Table, TextStream, TurnResult
from magics_helpers import complete, ip_fixture, ok, pid_running, sandbox_fixture, usage_error  # noqa: F401 - fixtures

pytestmark = pytest.mark.codex_binary


def test_import_does_not_pull_ipython():
    code = "import sys, codex_magics; assert 'IPython' not in sys.modules, 'IPython imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_twice_unload_reload(ip):
    ip.run_line_magic("load_ext", "codex_magics")
    ip.extension_manager.load_extension("codex_magics")
    mine = [c for c in ip.configurables if type(c).__name__ == "CodexMagics"]
    assert len(mine) == 1
    ip.run_line_magic("unload_ext", "codex_magics")
    assert "codex" not in ip.magics_manager.magics["line"] and "codex" not in ip.magics_manager.magics["cell"]
    assert not [c for c in ip.configurables if type(c).__name__ == "CodexMagics"]
    assert not [m for m in ip.Completer.custom_matchers if getattr(m, "__name__", "") == "codex_matcher"]
    ip.run_line_magic("load_ext", "codex_magics")
    assert "codex" in ip.magics_manager.magics["line"] and "codex" in ip.magics_manager.magics["cell"]


def test_config_traits(ip):
    ok(ip, "%config CodexMagics.stream_interval = 0.05")
    assert ip.magics_manager.registry["CodexMagics"].stream_interval == 0.05
    ok(ip, "%config CodexMagics.stream_interval = 0.1")


def test_help_and_usage_errors(ip, capsys):
    assert ok(ip, "%codex --help") is None
    assert ok(ip, "%codex rollback --help") is None
    out = capsys.readouterr().out
    assert "SUBCOMMAND" in out and "--before" in out
    assert "did you mean 'status'" in usage_error(ip, "%codex stats")
    assert "subcommands:" in usage_error(ip, "%codex xyzzy")
    assert "--limit: expected a whole number, got 'many'" in usage_error(ip, "%codex threads --limit many")
    assert "no session" in usage_error(ip, "%codex start")
    assert "nothing to stop" in usage_error(ip, "%codex stop")
    assert "no session" in usage_error(ip, "%codex start;")  # a trailing ';' silences the value, not errors
    assert usage_error(ip, "%codex read --bogus") == "%codex read: unrecognized arguments: --bogus"
    assert usage_error(ip, "%codex -x") == "%codex: unrecognized arguments: -x"
    assert "did you mean 'status'" in usage_error(ip, "%codex STATUS")
    assert "--limit: must be at least 1, got 0" in usage_error(ip, "%codex threads --limit 0")
    assert "--turns: must be at least 1, got -2" in usage_error(ip, "%codex rollback --turns -2")
    assert "-o needs a Python variable name, got '1x'" in usage_error(ip, "%%codex -o 1x\nhi")
    assert "-o needs a Python variable name" in usage_error(ip, "%%codex -o class\nhi")


def test_completion(ip, sandbox):
    assert "archive" in complete(ip, "%codex ar")
    assert "rollback" in complete(ip, "%codex ")
    t = ok(ip, "%codex start")
    assert t.id in complete(ip, "%codex read " + t.id[:10])
    assert t.id in complete(ip, "%%codex " + t.id[:10])


def test_start_turn_rollout_archive(ip, sandbox):
    home = Path(sandbox.codex_home)
    t = ok(ip, "t = %codex start\nt")
    assert isinstance(t, Result) and not t.rollout_exists and "id" in t._repr_html_()
    assert find_thread_path_by_id_str(home, t.id) is None
    r = ok(ip, "%codex rollout")
    assert r.state == "not yet written" and not r.exists
    listed = ok(ip, "%codex threads")
    assert t.id not in listed.ids and listed.note == "1 thread(s) of this session are not listed: no rollout written yet (1)"
    res = ok(ip, "%%codex -o answer\nhello {not_a_variable}")
    assert isinstance(res, TurnResult) and res.status == "completed" and "sandbox" in res.text
    assert ip.user_ns["answer"] is res
    assert res._skip_display is False  # Out[] skipped it once (shown live); later displays show it
    inner = ok(ip, "_r = get_ipython().run_cell_magic('codex', '', 'from code'); 1\n_r")
    assert inner.status == "completed" and inner._skip_display is False
    assert res.updates >= 3  # live updates were sent while streaming
    req = sandbox.session.server.requests[-1]
    assert "hello {not_a_variable}" in req.message_input_texts("user")  # no templating
    r = ok(ip, "%codex rollout")
    assert r.state == "active" and r.path == str(find_thread_path_by_id_str(home, t.id))
    assert r.lines == len(Path(r.path).read_text().splitlines())
    turns = ok(ip, "%codex read --turns")
    assert isinstance(turns, Table) and len(turns) == 2 and "sandbox" in str(turns)
    a = ok(ip, f"%codex archive {t.id[:13]}")
    assert a.state == "archived" and find_archived_thread_path_by_id_str(home, t.id) is not None
    listed = ok(ip, "%codex threads --archived")
    assert t.id in listed.ids
    ok(ip, "%codex unarchive")
    assert find_thread_path_by_id_str(home, t.id) is not None
    assert "thread not found" in usage_error(ip, "%%codex\nbefore resume")
    ok(ip, "%codex resume")
    assert ok(ip, "%%codex\nafter resume").status == "completed"


def test_rollback_and_fork(ip, sandbox):
    home = Path(sandbox.codex_home)
    t = ok(ip, "%codex start")
    assert "no turns yet" in usage_error(ip, "%codex rollback --turns 1")
    assert "required" in usage_error(ip, "%codex rollback")
    ok(ip, "%%codex\none")
    ok(ip, "%%codex\ntwo")
    assert "has 2" in usage_error(ip, "%codex rollback --turns 3")
    rb = ok(ip, "%codex rollback --turns 1")
    assert rb.turns_removed == 1
    assert [r for r in list_rollouts(home) if r.thread_id == t.id and r.is_segment]
    assert len(ok(ip, "%codex read --turns")) == 1
    f = ok(ip, f"%codex fork {t.id}")
    assert f.id != t.id and f.forked_from == t.id and f.current


def test_just_started_resume_fork_errors_and_ephemeral(ip, sandbox):
    ok(ip, "%codex start")
    assert "no rollout found" in usage_error(ip, "%codex resume")
    assert "no rollout found" in usage_error(ip, "%codex fork")
    e = ok(ip, "%codex start --ephemeral")
    assert e.ephemeral and ok(ip, "%codex rollout").state == "not yet written"
    assert "no rollout found" in usage_error(ip, "%codex archive")


def test_turn_shows_command_items(ip, sandbox, capsys):
    server = sandbox.session.server
    call = ev_function_call("call-1", "exec_command", json.dumps({"cmd": "echo hi-from-tool"}))
    server.enqueue([ev_response_created("r1"), call, ev_completed("r1")])
    server.enqueue(create_final_assistant_message_sse_response("done after the tool"))
    ok(ip, "%codex start")
    res = ok(ip, "%%codex\nrun the tool")
    assert res.text == "done after the tool"
    [item] = res.items
    assert item["type"] == "commandExecution" and "echo hi-from-tool" in item["summary"] and item["exit_code"] == 0
    assert "hi-from-tool" in item["output"] and "hi-from-tool" in res._repr_html_() and "exit 0" in str(res)
    # this shell cannot update a display in place (like a terminal): the turn was appended as text, once
    out = capsys.readouterr().out
    assert out.count("$ commandExecution:") == 2 and "hi-from-tool\n" in out.split("[completed, exit 0]\n", 1)[1], out
    assert out.count("done after the tool") == 1 and out.index("exit 0") < out.index("done after the tool")
    assert re.search(r"completed · \d+\.\d s · 0 tokens\]$", out.rstrip())  # Out[] of the cell: the footer line (with elapsed time)


def test_text_stream_appends_only():
    buf = io.StringIO()
    stream = TextStream(buf)
    res = TurnResult(thread_id="t", prompt="p", turn_id="u", status="inProgress")
    for delta in ("Hel", "lo ", "there"):
        res.text += delta
        stream(res, False)
        stream(res, False)  # nothing new: nothing written
    res.items.append({"id": "c", "type": "commandExecution", "summary": "ls", "status": "inProgress"})
    stream(res, False)
    res.items[0].update(status="completed", exit_code=0, output="a\nb")
    res.text += "\n\nMore."
    res.status, res.error = "failed", "boom"
    stream(res, True)
    assert buf.getvalue() == (
        "Hello there\n$ commandExecution: ls [inProgress]\n$ commandExecution: ls [completed, exit 0]\na\nb\n\n\nMore.\nerror: boom\n"
    )
    assert res.updates == 8


def test_thread_ids_errors(ip, sandbox):
    ok(ip, "%codex start")
    assert "malformed thread id 'not-a-uuid'" in usage_error(ip, "%codex use not-a-uuid")
    assert "unknown thread 'abc'" in usage_error(ip, "%codex read abc")
    assert "thread not loaded" in usage_error(ip, "%codex read 01a20000-0000-7000-8000-000000000000")
    assert "not valid JSON" in usage_error(ip, "%codex rpc thread/list {bad")
    assert "params must be a JSON object" in usage_error(ip, "%codex rpc thread/list 5")
    assert "params must be a JSON object" in usage_error(ip, "%codex rpc thread/list [1]")
    assert "unknown variant `nope/nope`" in usage_error(ip, "%codex rpc nope/nope")
    raw = ok(ip, '%codex rpc thread/list {"limit": 1}')
    assert "data" in raw.result


def test_dead_app_server(ip, sandbox):
    sandbox.session.app.kill()
    sandbox.session.app._proc.wait(5)
    msg = usage_error(ip, "%codex start")
    assert "exited" in msg and msg.endswith("; run %codex sandbox for a new one (a new, empty CODEX_HOME)")
    assert ok(ip, "%codex status").state == "error"
    ok(ip, "%codex sandbox")  # what the hint says works
    assert ok(ip, "%codex start").status == "idle"
    assert ok(ip, "1 + 1") == 2


def test_bad_codex_bin(ip, tmp_path):
    msg = usage_error(ip, f"%codex sandbox --codex-bin {tmp_path / 'nope'}")
    assert msg.startswith("cannot start the sandbox: ") and str(tmp_path / "nope") in msg and not msg.endswith(":"), msg


def test_connect_real_home(ip, tmp_path):
    assert "not a directory" in usage_error(ip, f"%codex connect --home {tmp_path / 'missing'}")
    assert "KEY=VALUE" in usage_error(ip, f"%codex connect --home {tmp_path} -c nonsense")
    with MockResponsesServer(repeating_assistant("from the connected home")) as server:
        write_config_toml(tmp_path, server)
        s = ok(ip, f'%codex connect --home {tmp_path} -c model="mock-model"')
        try:
            assert s.mode == "connect" and s.codex_home == str(tmp_path) and s.mock_server is None
            ok(ip, "%codex start")
            assert ok(ip, "%%codex\nhi").text == "from the connected home"
            assert ok(ip, "%codex rollout").state == "active"
        finally:
            ok(ip, "%codex stop")
    assert tmp_path.is_dir()  # a connected home is never removed


def test_repro(ip):
    assert "unknown scenario 'no-such-scenario'" in usage_error(ip, "%codex repro no-such-scenario")
    rep = ok(ip, "%codex repro start-is-lazy")
    assert [r.verdict for r in rep.results] == ["as-intended"]
    assert "start-is-lazy" in str(rep) and "start-is-lazy" in rep._repr_html_()


def test_renderers():
    t = Table("threads", ["id", "name"], [{"id": "a" * 36, "name": None}], note="n")
    assert "a" * 36 in str(t) and "<table " in t._repr_html_() and t.ids == ["a" * 36]
    assert "(none)" in str(Table("x", ["id"], []))
    r = Result("title", {"a": 1, "b": {"k": 2}})
    assert r.a == 1 and r["b"] == {"k": 2} and '{"k":2}' in str(r)
    with pytest.raises(AttributeError):
        _ = r.missing
    live = TurnResult(thread_id="t", prompt="p", text="partial", status="inProgress")
    assert "▌" in live._repr_html_()
    done = TurnResult(thread_id="t", prompt="p", turn_id="u", text="all", status="completed", usage={"totalTokens": 3})
    assert "3 tokens" in str(done) and "▌" not in str(done)


def test_threads_note_follows_the_disk(ip, sandbox):
    t = ok(ip, "%codex start")
    ok(ip, "%%codex\nhello")
    named = ok(ip, '%codex start --name "only a name"')  # a rollout with session_meta only: thread/list leaves it out
    assert named.rollout_exists and named.name == "only a name"
    listed = ok(ip, "%codex threads")
    assert listed.ids == [t.id] and listed.note == "1 thread(s) of this session are not listed: a rollout but no user turn (1)"
    ok(ip, f"%codex archive {t.id}")
    ok(ip, f"%codex archive {named.id}")
    listed = ok(ip, "%codex threads")
    assert listed.ids == [] and listed.note == ""  # archived threads are not "missing"
    assert ok(ip, "%codex threads --archived").note == ""


def test_trailing_semicolon_silences_the_value(ip, sandbox):
    assert ok(ip, "%codex start;") is None
    assert ok(ip, "%codex status").threads_known == 1  # the command ran


def test_failed_sandbox_or_connect_keeps_the_session(ip, sandbox, tmp_path):
    pid = sandbox.app_server_pid
    assert "cannot start the sandbox" in usage_error(ip, f"%codex sandbox --codex-bin {tmp_path / 'nope'}")
    assert "not a directory" in usage_error(ip, f"%codex connect --home {tmp_path / 'missing'}")
    now = ok(ip, "%codex status")
    assert now.state == "running" and now.app_server_pid == pid


def test_stop_and_replace_end_everything(ip):
    def parts(status):
        s = status.session
        return s.app, Path(s.codex_home), s.server, s.server._thread, s.app._owned_cwd

    first = parts(ok(ip, "%codex sandbox"))
    second = parts(ok(ip, "%codex sandbox"))  # a new sandbox replaces the old one
    ok(ip, "%codex stop")
    for app, home, server, thread, cwd in (first, second):
        app._proc.wait(10)  # bounded: the process was stopped, reap it
        assert not pid_running(app.pid) and not home.exists() and not cwd.exists()
        thread.join(10)
        assert not thread.is_alive()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_status_names_a_machine_wide_codex_set_up(ip, sandbox, tmp_path, monkeypatch):
    from codex_fixtures.appserver.machine_config import SYSTEM_CONFIG_DIR_ENV

    monkeypatch.setenv(SYSTEM_CONFIG_DIR_ENV, str(tmp_path / "absent"))
    assert "machine_config" not in ok(ip, "%codex status").fields
    (tmp_path / "etc-codex").mkdir()
    (tmp_path / "etc-codex" / "hooks.json").write_text("{}")
    monkeypatch.setenv(SYSTEM_CONFIG_DIR_ENV, str(tmp_path / "etc-codex"))
    status = ok(ip, "%codex status")
    assert "machine_config" in status.fields and "(hooks.json)" in status.data["machine_config"]
