"""Tool-call builders: the argument names of each tool's schema, omitted Nones, one-line errors."""

from __future__ import annotations

import json

import pytest
from codex_fixtures import (
    create_exec_command_sse_response,
    create_request_user_input_sse_response,
    ev_apply_patch_custom_tool_call,
    ev_custom_tool_call,
    ev_exec_command_call,
    ev_request_user_input_call,
    ev_update_plan_call,
    ev_write_stdin_call,
    parse_sse,
)
from codex_fixtures.mock.tool_calls import tool_call_sse_response


def args_of(event: dict) -> dict:
    item = event["item"]
    assert (event["type"], item["type"]) == ("response.output_item.done", "function_call")
    return json.loads(item["arguments"])


def test_exec_command_call_omits_unset_arguments_and_takes_the_schemas_others() -> None:
    assert args_of(ev_exec_command_call("c1", "ls -l")) == {"cmd": "ls -l"}
    event = ev_exec_command_call(
        "c2", "touch x", workdir="/w", sandbox_permissions="require_escalated", justification="why", yield_time_ms=500, tty=True
    )
    assert event["item"]["name"] == "exec_command" and event["item"]["call_id"] == "c2"
    assert args_of(event) == {
        "cmd": "touch x", "workdir": "/w", "sandbox_permissions": "require_escalated", "justification": "why",
        "yield_time_ms": 500, "tty": True,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout_ms": 5}, r"exec_command has no argument 'timeout_ms'; its schema has: cmd, justification"),
        ({"sandbox_permissions": "escalate"}, r"sandbox_permissions must be one of use_default, require_escalated"),
    ],
)
def test_exec_command_call_rejects_what_the_schema_does_not_have(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ev_exec_command_call("c", "ls", **kwargs)


def test_exec_command_call_wants_a_shell_string() -> None:
    with pytest.raises(TypeError, match="shlex.join"):
        ev_exec_command_call("c", ["ls", "-l"])  # type: ignore[arg-type]


def test_create_exec_command_sse_response_escalates_on_request() -> None:
    events = parse_sse(create_exec_command_sse_response("touch marker.txt", escalate=True, justification="need it"))
    assert [e["type"] for e in events] == ["response.created", "response.output_item.done", "response.completed"]
    assert events[0]["response"]["id"] == "resp-call-1" and events[1]["item"]["call_id"] == "call-1"
    assert args_of(events[1]) == {"cmd": "touch marker.txt", "sandbox_permissions": "require_escalated", "justification": "need it"}
    plain = parse_sse(create_exec_command_sse_response("pwd", call_id="c7", workdir="/tmp"))
    assert plain[1]["item"]["call_id"] == "c7" and args_of(plain[1]) == {"cmd": "pwd", "workdir": "/tmp"}


def test_write_stdin_call() -> None:
    assert args_of(ev_write_stdin_call("c", 3, "y\n", yield_time_ms=100)) == {"session_id": 3, "chars": "y\n", "yield_time_ms": 100}
    assert args_of(ev_write_stdin_call("c", 3)) == {"session_id": 3}
    with pytest.raises(TypeError, match="session_id is a number"):
        ev_write_stdin_call("c", "3")  # type: ignore[arg-type]


def test_request_user_input_call_checks_each_question() -> None:
    question = {"id": "pick", "header": "Pick", "question": "Which one?", "options": ["A", {"label": "B", "description": "the b"}]}
    assert args_of(ev_request_user_input_call("c", [question])) == {
        "questions": [
            {"id": "pick", "header": "Pick", "question": "Which one?",
             "options": [{"label": "A", "description": "A"}, {"label": "B", "description": "the b"}]}
        ]
    }
    with pytest.raises(ValueError, match="question #0 lacks header, options"):
        ev_request_user_input_call("c", [{"id": "x", "question": "?"}])
    with pytest.raises(ValueError, match="option #0: needs exactly label and description"):
        ev_request_user_input_call("c", [{**question, "options": [{"label": "A"}]}])
    with pytest.raises(TypeError, match="wrap the single question in a list"):
        ev_request_user_input_call("c", question)
    events = parse_sse(create_request_user_input_sse_response("Go on?", call_id="ask-1"))
    assert args_of(events[1])["questions"][0]["options"] == [{"label": "Yes", "description": "Yes"}, {"label": "No", "description": "No"}]


def test_update_plan_call() -> None:
    event = ev_update_plan_call("c", [("write it", "in_progress"), {"step": "test it", "status": "pending"}], explanation="two steps")
    assert args_of(event) == {
        "plan": [{"step": "write it", "status": "in_progress"}, {"step": "test it", "status": "pending"}], "explanation": "two steps",
    }
    with pytest.raises(ValueError, match="status must be one of pending, in_progress, completed, got 'done'"):
        ev_update_plan_call("c", [("x", "done")])


def test_custom_tool_calls_carry_raw_input() -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"
    assert ev_apply_patch_custom_tool_call("p1", patch) == {
        "type": "response.output_item.done",
        "item": {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch", "input": patch},
    }
    assert ev_custom_tool_call("c", "js", "1+1")["item"]["name"] == "js"
    with pytest.raises(TypeError, match="custom tool input is a string"):
        ev_custom_tool_call("c", "js", {"code": 1})  # type: ignore[arg-type]
    body = parse_sse(tool_call_sse_response(ev_apply_patch_custom_tool_call("p1", patch)))
    assert body[0]["response"]["id"] == "resp-p1" and body[1]["item"]["input"] == patch
