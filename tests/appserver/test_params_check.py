"""Params checked against the binary's own schema; the factory's cwd=; config.toml checked by the binary in use; the wait hint."""

from __future__ import annotations

import pytest
from codex_fixtures import AppServerFactory, AppServerProcess, AppServerTimeoutError, CodexHome, MockResponsesServer
from codex_fixtures.appserver.api_schema import ParamsSchemaError
from codex_fixtures.appserver.config_check import config_overrides, config_problem
from codex_fixtures.appserver.websocket import supports_websocket_auth
from codex_fixtures.errors import ConfigError
from codex_fixtures.mock.tool_calls import create_request_user_input_sse_response
from conftest import cached_codex

pytestmark = pytest.mark.codex_binary

PLAN = {"mode": "plan", "settings": {"model": "mock-model", "reasoning_effort": None, "developer_instructions": None}}


def text(prompt: str, **extra: object) -> list[dict]:
    return [{"type": "text", "text": prompt, **extra}]


def test_the_fixtures_check_params_against_the_binary_schema(codex_app_server):
    app = codex_app_server
    thread = app.start_thread()
    with pytest.raises(ParamsSchemaError) as info:  # upstream's wire name is text_elements: the binary would ignore this one
        app.send_turn_start_request({"threadId": thread["id"], "input": text("hi", textElements=[])})
    assert str(info.value) == ("turn/start: unknown param 'input.0.textElements' (input.0, a TextUserInput, takes: text, text_elements, "
                               "type); to send it anyway (a test of the server's own validation): send_raw_request() or check_params=False")
    with pytest.raises(ParamsSchemaError, match=r"^turn/start: input.0.text must be a string, got 3; to send it anyway"):
        app.send_turn_start_request({"threadId": thread["id"], "input": [{"type": "text", "text": 3}]})
    with pytest.raises(ParamsSchemaError, match=r"^thread/start: unknown param 'modle' \(params: .*model.*\); to send it anyway .*: send_raw_request\(\) or check_params=False$"):
        app.start_thread({"modle": "mock-model"})
    # experimental fields (the driver opts into the experimental API) and the right names pass
    rid = app.send_turn_start_request({"threadId": thread["id"], "input": text("hi", text_elements=[]), "collaborationMode": PLAN})
    assert app.read_stream_until_response_message(rid).result["turn"]["id"]
    app.read_stream_until_notification_message("turn/completed")


@pytest.mark.parametrize("version", ["bundled", "0.101.0", "0.171.0"])
def test_the_default_initialize_params_are_valid_on_each_binary(version):
    """initialize() sends its own default params unchecked: they must be what each binary's schema accepts."""
    from codex_fixtures.appserver.params_check import ParamsCheck
    from codex_fixtures.appserver.thread_api import DEFAULT_CLIENT_INFO

    binary = None if version == "bundled" else cached_codex(version)
    if version != "bundled" and binary is None:
        pytest.skip(f"codex {version} is not in the fetch cache")
    from codex_fixtures import resolve_codex_bin

    ParamsCheck(binary or resolve_codex_bin())("initialize", {"clientInfo": DEFAULT_CLIENT_INFO, "capabilities": {"experimentalApi": True}})


def test_initialize_checks_what_the_caller_gives_and_loads_no_schema_for_its_own_defaults(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from codex_fixtures import AppServerProcess, CodexHome\n"
        "from codex_fixtures.appserver.api_schema import ParamsSchemaError\n"
        "with CodexHome('http://127.0.0.1:9') as home, AppServerProcess(home.path, check_params=True) as app:\n"
        "    app.initialize()\n"
        "    print('jsonschema' in sys.modules)\n"
        "with CodexHome('http://127.0.0.1:9') as home, AppServerProcess(home.path, check_params=True) as app:\n"
        "    try:\n"
        "        app.initialize(capabilities={'experimentalApi': True, 'optOutNotificationMethodz': []})\n"
        "    except ParamsSchemaError as exc:\n"
        "        print(str(exc).split(';')[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "False", out.stdout  # its own defaults: neither the schema nor jsonschema loaded
    assert lines[1].startswith("initialize: unknown param 'capabilities.optOutNotificationMethodz' (capabilities takes: "), out.stdout


def test_send_raw_request_is_never_checked(codex_app_server):
    rid = codex_app_server.send_raw_request("thread/start", {"modle": "x"})  # the binary ignores the unknown field
    assert codex_app_server.read_stream_until_response_message(rid).result["thread"]["id"]


@pytest.mark.codex(check_params=False)
def test_the_marker_turns_the_check_off(codex_app_server):
    assert codex_app_server.params_check is None
    assert codex_app_server.start_thread({"modle": "ignored by the binary"})["id"]


def test_the_driver_does_not_check_unless_asked(tmp_path):
    with MockResponsesServer() as server, CodexHome(server) as home, AppServerProcess(home.path) as app:
        assert app.params_check is None
        app.initialize()
        assert app.start_thread({"modle": "x"})["id"]


def test_factory_cwd(codex_home, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with AppServerFactory(codex_home, cwd=work) as start:
        app = start()
        assert app.cwd == work and app.start_thread()["cwd"] == str(work)
        other = tmp_path / "other"
        other.mkdir()
        assert start(cwd=other).start_thread()["cwd"] == str(other)
        with pytest.raises(NotADirectoryError, match="cwd is not an existing directory"):
            start(cwd=tmp_path / "missing")
    assert work.is_dir()  # a cwd the test gave is never removed


@pytest.mark.codex(app_server={"cwd": "/"})
def test_marker_app_server_cwd(codex_app_server):
    assert codex_app_server.start_thread()["cwd"] == "/"


@pytest.mark.parametrize("version", ["bundled", "0.171.0", "0.101.0"])
def test_untrusted_approval_policy_is_refused_as_the_binary_refuses_it(version, tmp_path):
    binary = None if version == "bundled" else cached_codex(version)
    if version != "bundled" and binary is None:
        pytest.skip(f"codex {version} is not in the fetch cache")
    with MockResponsesServer() as server, CodexHome(server, approval_policy="untrusted") as home:
        with AppServerFactory(home.path, codex_bin=binary) as start:
            if version == "0.101.0":
                assert start().start_thread()["id"]  # 0.101.0 still accepts it
                return
            with pytest.raises(ConfigError) as info:
                start()
            assert not start.processes  # refused before anything started
    message = str(info.value)
    assert "\n" not in message and message.startswith("codex 0.1")
    assert message.endswith('config.toml: approval_policy = "untrusted" is no longer supported; remove this setting')


def test_config_problem_reads_app_server_overrides(codex_home):
    from codex_fixtures.appserver.binary import resolve_codex_bin

    assert config_overrides(["--listen", "x", "-c", "a=1", "--config=b=2"]) == ("-c", "a=1", "-c", "b=2")
    assert config_problem(resolve_codex_bin(), codex_home) is None
    assert "untrusted" in (config_problem(resolve_codex_bin(), codex_home, ["-c", 'approval_policy="untrusted"']) or "")


@pytest.mark.codex(config={"approval_policy": "untrusted"})
def test_the_marker_config_is_refused_in_one_line(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.codex(config={"approval_policy": "untrusted"})
        def test_it(codex_app_server):
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*@pytest.mark.codex(config=...): codex * refuses *config.toml: approval_policy = "untrusted" is no longer*'])


@pytest.mark.codex(responses=[create_request_user_input_sse_response("Proceed?")], strict=False)
def test_the_timeout_hint_does_not_offer_approvals_for_user_input(codex_app_server):
    app = codex_app_server
    thread = app.start_thread()
    app.send_turn_start_request({"threadId": thread["id"], "input": text("ask me"), "collaborationMode": PLAN})
    message = ""
    for _ in range(30):  # each wait times out after 0.5 s; the request is buffered, unanswered, once it came
        with pytest.raises(AppServerTimeoutError) as info:
            app.read_stream_until_notification_message("turn/completed", timeout=0.5)
        message = str(info.value).splitlines()[0]
        if "requestUserInput" in message:
            break
    assert "server request(s): item/tool/requestUserInput; answer with send_response() " in message
    assert "(approvals= answers only approval requests)" in message and "or pass approvals=" not in message


def test_further_websocket_clients_are_checked_too(codex_app_servers, codex_binary):
    if not supports_websocket_auth(codex_binary.path):
        pytest.skip(f"codex {codex_binary.version} has no --ws-auth (websocket tests of this module need the token)")
    app = codex_app_servers(transport="websocket")
    conn = app.new_connection()
    conn.initialize()
    with pytest.raises(ParamsSchemaError, match=r"^thread/start: unknown param 'modle'"):
        conn.send_request("thread/start", {"modle": "x"})
