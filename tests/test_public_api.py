"""The public names of DESIGN.md are a contract: pinned here."""

from __future__ import annotations

import subprocess
import sys

import codex_fixtures

DESIGN_NAMES = {
    "sse", "ev_response_created", "ev_completed", "ev_assistant_message", "ev_output_text_delta",
    "ev_function_call", "ev_failed", "create_final_assistant_message_sse_response",
    "create_shell_command_sse_response", "MockResponsesServer",
    "create_mock_responses_server_repeating_assistant", "create_mock_responses_server_sequence",
    "create_mock_responses_server_sequence_unchecked", "SESSIONS_SUBDIR", "ARCHIVED_SESSIONS_SUBDIR",
    "find_thread_path_by_id_str", "find_archived_thread_path_by_id_str", "read_rollout",
    "write_config_toml", "config_contents", "AppServerProcess", "to_response", "JSONRPCResponse",
    "JSONRPCError", "JSONRPCNotification", "JSONRPCRequest",
    "WebSocketConnection", "CodexLaunch",
    # rollouts in the binary's own format (issue 10)
    "create_fake_rollout", "FakeTurn", "token_count_record", "turn_aborted_record",
    "agent_message_item_record", "user_message_item_record", "rollout_record_kinds",
}
DOWNSTREAM_NAMES = {  # issue 11: factory, routes, auth, state
    "AppServerFactory", "Route", "add_chatgpt_backend_routes", "write_chatgpt_auth", "write_api_key_auth",
    "chatgpt_config_options", "CodexState",
}
DESIGN_NAMES |= {"LaunchedProcess", "CodexShared"}  # issue 19: every client, any launcher
DESIGN_NAMES |= {  # issue 10: tool calls the binary offers, approvals
    "ev_exec_command_call", "create_exec_command_sse_response", "ev_write_stdin_call", "ev_request_user_input_call",
    "create_request_user_input_sse_response", "ev_update_plan_call", "ev_custom_tool_call", "ev_apply_patch_custom_tool_call",
    "ServerRequestRecord",
}
DESIGN_NAMES |= {"HomeSpec", "SpecTurn", "build_home", "BuiltHome"}  # issue 17: homes the binary wrote
DESIGN_NAMES |= {"merge_specs"}  # issue 24: several specs (rollouts, homes) into one
DESIGN_NAMES |= {"SpecCommand", "SpecUsage"}  # issue 24: token usage and justifications a spec gives

DOWNSTREAM_NAMES |= {"machine_codex_config", "machine_config_note"}  # issue 18: /etc/codex detection
DESIGN_NAMES |= {"analytics_events", "wait_for_analytics_event", "set_thread_updated_at"}  # issue 27: upstream's helpers
DESIGN_NAMES |= {"shell_command_display", "shell_command_argv", "join_shell_words"}  # issue 27: the displayed shell command
DESIGN_NAMES |= {"mcp_tool_call_end_record", "image_generation_end_record", "generated_image_path", "stdio_mcp_server_config"}
DESIGN_NAMES |= {"ev_mcp_tool_call", "ev_imagegen_call", "ev_image_generation_call", "images_generation_body"}  # issue 27: the calls  # issue 27: a record builder calibrated on a real MCP call


def test_all_is_unique_and_importable():
    names = codex_fixtures.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(codex_fixtures, name), name


def test_design_contract_names_are_exported():
    assert DESIGN_NAMES <= set(codex_fixtures.__all__), DESIGN_NAMES - set(codex_fixtures.__all__)
    assert DOWNSTREAM_NAMES <= set(codex_fixtures.__all__), DOWNSTREAM_NAMES - set(codex_fixtures.__all__)


def test_library_does_not_import_pytest_or_ipython():
    code = (
        "import sys, codex_fixtures, codex_fixtures._plugin_support; "
        "bad = [m for m in ('pytest', '_pytest', 'IPython') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_thread_and_turn_method_has_a_sender():
    from codex_fixtures.appserver.driver import iter_senders

    methods = dict(iter_senders()).values()
    for wanted in ("thread/start", "thread/resume", "thread/fork", "thread/archive", "thread/unarchive",
                   "thread/read", "thread/list", "thread/revert", "thread/rollback", "thread/name/set",
                   "turn/start", "turn/interrupt"):
        assert wanted in methods
    assert callable(codex_fixtures.AppServerProcess.send_thread_revert_request)


RELIABILITY_NAMES = {"BinaryProbeError", "FileWriteError"}  # issue #12: one-line errors for broken binaries, full disks


def test_reliability_error_names_are_exported():
    assert RELIABILITY_NAMES <= set(codex_fixtures.__all__), RELIABILITY_NAMES - set(codex_fixtures.__all__)
    assert issubclass(codex_fixtures.BinaryProbeError, codex_fixtures.BinaryNotFoundError)
    assert issubclass(codex_fixtures.FileWriteError, OSError)


PARITY_NAMES = {  # issue 19: replies matched by content, params checked against the binary's schema
    "Matcher", "MatchedReply", "when", "body_contains", "body_matches", "prompt_contains", "header_is", "ParamsSchemaError",
}


def test_parity_names_are_exported():
    assert PARITY_NAMES <= set(codex_fixtures.__all__), PARITY_NAMES - set(codex_fixtures.__all__)
    assert issubclass(codex_fixtures.ParamsSchemaError, (codex_fixtures.CodexFixturesError, ValueError))


HOME_STATE_NAMES = {"CodexState", "StateEditError", "create_state_database", "project_history"}  # issue 17: the state's write path


def test_home_state_names_are_exported():
    assert HOME_STATE_NAMES <= set(codex_fixtures.__all__), HOME_STATE_NAMES - set(codex_fixtures.__all__)
    assert issubclass(codex_fixtures.StateEditError, (codex_fixtures.CodexFixturesError, ValueError))


def test_importing_the_package_or_the_plugin_loads_only_what_is_used():
    """Names are imported on first use (PEP 562): a pytest process pays for the wings its tests use (issue 26)."""
    code = (
        "import sys\n"
        "import codex_fixtures\n"
        "print(sorted(m for m in sys.modules if m.startswith('codex_fixtures.')))\n"
        "import codex_fixtures.plugin\n"
        "heavy = ('websockets', 'jsonschema', 'respx', 'pyfakefs', 'codex_fixtures.homebuild.build')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "from codex_fixtures import AppServerProcess, CodexHome, create_mock_responses_server_repeating_assistant\n"
        "with create_mock_responses_server_repeating_assistant('ok') as mock, CodexHome(mock.uri) as home, AppServerProcess(home.path) as app:\n"
        "    app.initialize()\n"
        "    thread = app.start_thread()\n"
        "    print(app.run_turn(thread['id'], 'hi')['status'], [m for m in ('websockets', 'jsonschema') if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    package, plugin, turn = proc.stdout.splitlines()
    assert package == "['codex_fixtures.errors']" or package == "[]", package
    assert plugin == "[]", plugin
    assert turn == "completed []", turn  # a stdio server and an HTTP turn load no WebSocket code


def test_the_lazy_map_is_the_type_checking_imports():
    """``_LAZY`` (what runs) and the TYPE_CHECKING imports (what readers and type checkers see) name the same things."""
    import ast

    tree = ast.parse(open(codex_fixtures.__file__, encoding="utf-8").read())
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    seen = {alias.name: "." * node.level + node.module for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}
    assert seen == codex_fixtures._LAZY
    assert set(codex_fixtures.__all__) - set(seen) == {"__version__", "mount_responses_respx", "RespxMount"}
