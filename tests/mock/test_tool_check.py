"""No silent tool mismatch: a scripted call to a tool the request did not offer is a problem."""

from __future__ import annotations

import json

import pytest
from codex_fixtures import (
    ScriptedReply,
    create_exec_command_sse_response,
    create_shell_command_sse_response,
    ev_apply_patch_custom_tool_call,
    ev_completed,
    ev_function_call,
    ev_local_shell_call,
    ev_response_created,
)
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.mock.captured import CapturedRequest
from codex_fixtures.mock.script import ResponsesScript
from codex_fixtures.mock.tool_calls import ev_custom_tool_call
from codex_fixtures.mock.tool_check import offered_tool_kinds, offered_tools, scripted_calls, tool_mismatch_problems

TOOLS = [
    {"type": "function", "name": "exec_command", "parameters": {}},
    {"type": "function", "name": "write_stdin", "parameters": {}},
    {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "spawn_agent"}]},
    {"type": "web_search"},
]


def request(body: object) -> CapturedRequest:
    return CapturedRequest("POST", "/v1/responses", {}, json.dumps(body).encode(), 0.0, index=1)


def codex_request(tools: list | None = TOOLS, **extra: object) -> CapturedRequest:
    body: dict = {"model": "mock-model", "input": [], **extra}
    if tools is not None:
        body["tools"] = tools
    return request(body)


def test_offered_tools_reads_namespaces_hosted_tools_and_additional_tools() -> None:
    assert offered_tools(codex_request()) == ["exec_command", "write_stdin", "multi_agent_v1.spawn_agent", "web_search"]
    extra = {"type": "additional_tools", "role": "developer", "tools": [{"type": "namespace", "name": "functions", "tools": [{"name": "exec"}]}]}
    assert offered_tools(codex_request(None, input=[extra])) == ["functions.exec"]
    assert offered_tools(codex_request(None)) is None  # says nothing about tools: nothing to check
    assert offered_tools(codex_request([{"type": "local_shell"}])) == ["local_shell"]


def test_tool_names_is_the_list_the_check_compares_with() -> None:
    extra = {"type": "additional_tools", "tools": [{"type": "function", "name": "late_tool"}]}
    for req in (codex_request(), codex_request([{"type": "local_shell"}]), codex_request(TOOLS, input=[extra])):
        assert req.tool_names() == offered_tools(req)  # web_search, local_shell, additional tools: listed by both
    assert codex_request(None).tool_names() == []


def test_a_call_to_a_tool_not_offered_names_the_tool_and_what_was_offered() -> None:
    reply = ScriptedReply(body=create_shell_command_sse_response(["echo", "hi"]))
    assert scripted_calls(reply) == [("function_call", "shell_command")]
    assert tool_mismatch_problems(reply, codex_request()) == [
        "scripted call to 'shell_command', but this request offered: exec_command, write_stdin, multi_agent_v1.spawn_agent, web_search"
    ]
    assert tool_mismatch_problems(ScriptedReply(body=create_exec_command_sse_response("ls")), codex_request()) == []


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ev_apply_patch_custom_tool_call("p", "*** Begin Patch\n*** End Patch\n"), "scripted call to 'apply_patch' (custom_tool_call)"),
        (ev_local_shell_call("l", "completed", ["ls"]), "scripted call to 'local_shell' (local_shell_call)"),
        ({"type": "response.output_item.done", "item": {"type": "function_call", "call_id": "n", "namespace": "multi_agent_v1",
                                                        "name": "close_agent", "arguments": "{}"}}, "scripted call to 'multi_agent_v1.close_agent',"),
    ],
)
def test_custom_local_shell_and_namespaced_calls_are_checked(event: dict, expected: str) -> None:
    reply = ScriptedReply(events=(ev_response_created("r"), event, ev_completed("r")))
    (problem,) = tool_mismatch_problems(reply, codex_request())
    assert problem.startswith(expected)


def test_offered_namespaced_call_and_calls_seen_twice() -> None:
    call = {"type": "function_call", "call_id": "n", "namespace": "multi_agent_v1", "name": "spawn_agent", "arguments": "{}"}
    added = {"type": "response.output_item.added", "item": call}
    done = {"type": "response.output_item.done", "item": call}
    assert tool_mismatch_problems(ScriptedReply(events=(added, done)), codex_request()) == []
    shell = ev_function_call("s", "shell", "{}")
    assert len(tool_mismatch_problems(ScriptedReply(events=({**shell, "type": "response.output_item.added"}, shell)), codex_request())) == 1


def test_requests_without_tools_and_error_replies_are_not_checked() -> None:
    body = create_shell_command_sse_response(["ls"])
    assert tool_mismatch_problems(ScriptedReply(body=body), codex_request(None)) == []
    assert tool_mismatch_problems(ScriptedReply(status=500), codex_request()) == []
    assert tool_mismatch_problems(ScriptedReply(body=body), codex_request([])) == [
        "scripted call to 'shell_command', but this request offered: no tools"
    ]


def test_the_script_records_the_mismatch_and_still_serves_the_reply() -> None:
    script = ResponsesScript()
    script.enqueue(create_shell_command_sse_response(["echo", "hi"]))
    reply = script.handle("POST", "/v1/responses", {}, json.dumps({"input": [], "tools": TOOLS[:2]}).encode())
    assert reply.status == 200 and b"shell_command" in reply.read_all()
    with pytest.raises(MockResponsesCheckError) as info:
        script.check()
    assert info.value.problems == [
        "request #1 POST /v1/responses: scripted call to 'shell_command', but this request offered: exec_command, write_stdin"
    ]


def test_offered_tool_kinds_keeps_each_tools_type() -> None:
    extra = {"type": "additional_tools", "tools": [{"type": "custom", "name": "apply_patch"}]}
    assert offered_tool_kinds(codex_request(TOOLS, input=[extra])) == {
        "exec_command": "function", "write_stdin": "function", "multi_agent_v1.spawn_agent": "function",
        "web_search": "web_search", "apply_patch": "custom",
    }
    assert offered_tool_kinds(codex_request([{"type": "local_shell"}])) == {"local_shell": "local_shell"}
    assert offered_tool_kinds(codex_request(None)) is None


@pytest.mark.parametrize(
    ("event", "tools", "expected"),
    [  # each passed on main: only names were compared (issue 25, item 3)
        (ev_custom_tool_call("c", "exec_command", "ls"), TOOLS,
         "scripted custom_tool_call to 'exec_command', but this request offered 'exec_command' as a function tool (called by a function_call)"),
        (ev_function_call("f", "apply_patch", "{}"), [{"type": "custom", "name": "apply_patch"}],
         "scripted function_call to 'apply_patch', but this request offered 'apply_patch' as a custom tool (called by a custom_tool_call)"),
        (ev_function_call("w", "web_search", "{}"), TOOLS,
         "scripted function_call to 'web_search', but this request offered 'web_search' as a web_search tool (called by no scripted call"),
    ],
)
def test_a_call_of_the_wrong_kind_names_both_kinds(event: dict, tools: list, expected: str) -> None:
    reply = ScriptedReply(events=(ev_response_created("r"), event, ev_completed("r")))
    (problem,) = tool_mismatch_problems(reply, codex_request(tools))
    assert problem.startswith(expected) and "\n" not in problem


def test_calls_of_the_right_kind_pass() -> None:
    tools = [*TOOLS, {"type": "custom", "name": "apply_patch"}, {"type": "local_shell"}]
    events = (ev_response_created("r"), ev_custom_tool_call("a", "apply_patch", "*** Begin Patch\n*** End Patch\n"),
              ev_local_shell_call("l", "completed", ["ls"]), ev_function_call("e", "exec_command", "{}"), ev_completed("r"))
    assert tool_mismatch_problems(ScriptedReply(events=events), codex_request(tools)) == []
