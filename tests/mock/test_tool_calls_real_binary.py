"""Calibration: each tool-call builder's arguments fit the schema the binary in use sends in ``tools``.

One app-server captures the ``tools`` of a first request per model (``mock-model``
plus the model families that get ``apply_patch``: ``gpt-5.5`` on 0.163.0 / 0.171.0,
``gpt-5-codex`` on 0.101.0), then every builder's arguments are validated against
its tool's JSON schema (names, required fields, enums, no extra properties). A
builder whose tool the binary offers to none of these models skips, saying so.
Also here: the mismatch check against the real tool set, and an ``apply_patch``
call the binary applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexBinary,
    CodexHome,
    MockResponsesCheckError,
    MockResponsesServer,
    codex_binary_info,
    create_final_assistant_message_sse_response,
    create_shell_command_sse_response,
    ev_apply_patch_custom_tool_call,
    ev_exec_command_call,
    ev_request_user_input_call,
    ev_update_plan_call,
    ev_write_stdin_call,
    resolve_codex_bin,
)
from codex_fixtures.appserver.jsonschema_import import import_jsonschema
from codex_fixtures.mock.tool_calls import EXEC_COMMAND_ARGUMENTS, ev_custom_tool_call, tool_call_sse_response
from codex_fixtures.mock.tool_check import offered_tool_kinds

pytestmark = pytest.mark.codex_binary

T = 30.0
MODELS = ("mock-model", "gpt-5.5", "gpt-5-codex")
PATCH = "*** Begin Patch\n*** Add File: patched.txt\n+hello from the patch\n*** End Patch\n"
QUESTION = {"id": "go_on", "header": "Go on", "question": "Continue?", "options": ["Yes", {"label": "No", "description": "Stop here"}]}

CALLS: dict[str, list[dict[str, Any]]] = {
    "exec_command": [
        ev_exec_command_call("c", "ls"),
        ev_exec_command_call(
            "c", "ls -l", workdir="/tmp", sandbox_permissions="require_escalated", justification="why", yield_time_ms=500,
            max_output_tokens=100, tty=False, login=False, shell="/bin/bash", prefix_rule=["ls"],
        ),
    ],
    "write_stdin": [ev_write_stdin_call("c", 1), ev_write_stdin_call("c", 1, "y\n", yield_time_ms=100, max_output_tokens=10)],
    "request_user_input": [ev_request_user_input_call("c", [QUESTION])],
    "update_plan": [ev_update_plan_call("c", [("write", "completed"), ("test", "in_progress")], explanation="two steps")],
    "apply_patch": [ev_apply_patch_custom_tool_call("c", PATCH)],
}


class Capture:
    """The binary in use and the ``tools`` it sent for each model."""

    def __init__(self, binary: CodexBinary, tools: dict[str, list[dict[str, Any]]]) -> None:
        self.binary = binary
        self.tools = tools

    def find(self, name: str) -> tuple[str, dict[str, Any]] | None:
        for model, tools in self.tools.items():
            for tool in tools:
                if tool.get("name") == name:
                    return model, tool
        return None


def start(home: CodexHome, binary: Path, tmp: Path) -> AppServerProcess:
    tmp.mkdir(exist_ok=True)
    app = AppServerProcess(home.path, codex_bin=binary, env={"HOME": str(tmp)})
    app.initialize(timeout=T)
    return app


@pytest.fixture(scope="module")
def captured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    binary = codex_binary_info(resolve_codex_bin(option=request.config.getoption("--codex-bin") or None))
    tools: dict[str, list[dict[str, Any]]] = {}
    with MockResponsesServer() as server, CodexHome(server) as home:
        server.script.set_repeat(create_final_assistant_message_sse_response("ok"))
        with start(home, binary.path, tmp_path_factory.mktemp("home")) as app:
            for model in MODELS:
                thread = app.start_thread({"model": model}, timeout=T)
                app.run_turn(thread["id"], f"which tools for {model}?", timeout=T)
                tools[model] = server.requests[-1].body_json.get("tools") or []
        server.check()
    yield Capture(binary, tools)


def test_mock_model_gets_exec_command_with_the_arguments_the_builder_knows(captured: Capture) -> None:
    model, tool = captured.find("exec_command") or pytest.fail(f"codex {captured.binary.version} offers no exec_command")
    assert model == "mock-model"
    assert set(tool["parameters"]["properties"]) == EXEC_COMMAND_ARGUMENTS
    assert tool["parameters"]["required"] == ["cmd"] and tool["parameters"].get("additionalProperties") is False
    names = {t.get("name") for t in captured.tools["mock-model"]}
    assert not names & {"shell_command", "shell", "local_shell", "apply_patch"}, names


@pytest.mark.parametrize("tool_name", list(CALLS))
def test_builder_arguments_fit_the_binarys_schema(captured: Capture, tool_name: str) -> None:
    found = captured.find(tool_name)
    if found is None:
        pytest.skip(f"codex {captured.binary.version} offers {tool_name} to none of {', '.join(MODELS)}")
    model, tool = found
    for event in CALLS[tool_name]:
        item = event["item"]
        if tool["type"] == "custom":
            assert item["type"] == "custom_tool_call" and tool["format"]["syntax"] == "lark"
            assert '"*** Begin Patch"' in tool["format"]["definition"] and item["input"].startswith("*** Begin Patch\n")
            continue
        jsonschema = import_jsonschema()
        assert tool["type"] == "function" and item["type"] == "function_call"
        arguments = json.loads(item["arguments"])
        jsonschema.validate(arguments, tool["parameters"])  # names, required, enums, additionalProperties
        assert set(arguments) <= set(tool["parameters"]["properties"]), f"{model}: {sorted(arguments)}"


def test_apply_patch_call_is_applied_by_a_model_that_offers_it(captured: Capture, tmp_path: Path) -> None:
    found = captured.find("apply_patch")
    if found is None:
        pytest.skip(f"codex {captured.binary.version} offers apply_patch to none of {', '.join(MODELS)}")
    model, _ = found
    with MockResponsesServer() as server, CodexHome(server, sandbox_mode="workspace-write") as home:
        server.enqueue(tool_call_sse_response(ev_apply_patch_custom_tool_call("patch-1", PATCH)))
        server.enqueue(create_final_assistant_message_sse_response("patched"))
        with start(home, captured.binary.path, tmp_path / "home") as app:
            thread = app.start_thread({"model": model}, timeout=T)
            assert app.run_turn(thread["id"], "patch it", timeout=T)["status"] == "completed"
            assert (Path(thread["cwd"]) / "patched.txt").read_text() == "hello from the patch\n"
        output = [i for i in server.requests[1].input if i.get("call_id") == "patch-1" and i["type"] == "custom_tool_call_output"]
        assert output and "patched.txt" in output[0]["output"]
        server.check()


def test_a_scripted_shell_command_the_binary_does_not_offer_fails_check(tmp_path: Path, codex_binary: CodexBinary) -> None:
    with MockResponsesServer() as server, CodexHome(server) as home:
        server.enqueue(create_shell_command_sse_response(["echo", "hi"]))
        server.enqueue(create_final_assistant_message_sse_response("done"))
        with start(home, codex_binary.path, tmp_path / "home") as app:
            thread = app.start_thread({"model": "mock-model"}, timeout=T)
            assert app.run_turn(thread["id"], "run it", timeout=T)["status"] == "completed"  # silently, on every binary
        offered = server.requests[0].tool_names()
        if "shell_command" in offered:
            pytest.skip(f"codex {codex_binary.version} offers shell_command to mock-model")
        with pytest.raises(MockResponsesCheckError) as info:
            server.check()
    (problem,) = info.value.problems
    assert problem.startswith("request #1 POST /v1/responses: scripted call to 'shell_command', but this request offered: exec_command, ")


def test_a_custom_call_to_a_function_tool_is_a_recorded_problem(tmp_path: Path, codex_binary: CodexBinary) -> None:
    # issue 25, item 3 (fails on main: names matched, so check() passed while nothing ran)
    with MockResponsesServer() as server, CodexHome(server) as home:
        server.enqueue(tool_call_sse_response(ev_custom_tool_call("wrong-kind", "exec_command", "echo hi")))
        server.enqueue(create_final_assistant_message_sse_response("done"))
        with start(home, codex_binary.path, tmp_path / "home") as app:
            thread = app.start_thread({"model": "mock-model"}, timeout=T)
            assert app.run_turn(thread["id"], "run it", timeout=T)["status"] == "completed"  # silently, nothing ran
        kinds = offered_tool_kinds(server.requests[0])
        assert kinds is not None and kinds.get("exec_command") == "function"
        answer = [i for i in server.requests[1].input if i.get("call_id") == "wrong-kind" and i["type"].endswith("_output")]
        assert answer and "hi\\n" not in json.dumps(answer)  # the binary did not run it (0.163.0: "aborted")
        with pytest.raises(MockResponsesCheckError) as info:
            server.check()
    (problem,) = info.value.problems
    assert problem == ("request #1 POST /v1/responses: scripted custom_tool_call to 'exec_command', but this request offered "
                       "'exec_command' as a function tool (called by a function_call): the binary would not run it")
