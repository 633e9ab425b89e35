"""Methods and params schemas read from the real binary; options, coercion and one-line validation errors."""

from __future__ import annotations

import pytest
from codex_fixtures import codex_binary_info
from codex_magics.errors import CodexUsageError
from codex_magics.schema import MethodCatalog, catalog_of, describe

pytestmark = pytest.mark.codex_binary


@pytest.fixture(scope="module")
def catalog() -> MethodCatalog:
    return catalog_of(codex_binary_info())


def test_the_binary_lists_its_thread_and_turn_methods(catalog):
    binary = codex_binary_info()
    assert catalog.version == binary.version
    assert set(catalog.methods) == set(binary.methods)  # the same schema the driver reads
    assert {"thread/items/list", "thread/turns/list", "turn/steer", "thread/goal/set"} <= set(catalog.api_methods)
    assert all(m.startswith(("thread/", "turn/")) for m in catalog.api_methods)
    assert catalog_of(binary) is catalog  # generated once per binary file


def test_params_have_kinds_and_words(catalog):
    params = {p.name: p for p in catalog.params("thread/goal/set")}
    assert params["threadId"].required and params["threadId"].kind == "string"
    assert params["status"].kind == "choice" and "paused" in params["status"].choices
    assert params["tokenBudget"].kind == "integer" and params["tokenBudget"].what == "an integer (int64) or null"
    assert {p.name: p.kind for p in catalog.params("turn/steer")}["input"] == "json"
    assert params["tokenBudget"].coerce("12", "m") == 12
    with pytest.raises(CodexUsageError, match=r"^m: --tokenBudget must be an integer \(int64\) or null, got 'x'$"):
        params["tokenBudget"].coerce("x", "m")
    assert describe({"type": ["string", "null"]}, {}) == "a string or null"
    assert describe(True, {}) == "any JSON value"  # a schema of `true`


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("thread/goal/set", {}, "thread/goal/set: missing required param 'threadId' (a string)"),
        ("thread/goal/set", {"threadId": "t", "status": "x"}, "thread/goal/set: status must be one of active, paused, blocked, "
         "usageLimited, budgetLimited, complete or null, got \"x\""),
        ("thread/turns/list", {"threadId": "t", "limit": -1}, "thread/turns/list: limit must be an integer (uint32) or null, got -1"),
        ("thread/metadata/update", {"threadId": "t", "gitInfo": {"branch": 3}},
         "thread/metadata/update: gitInfo.branch must be a string or null, got 3"),
        ("turn/steer", {"threadId": "t", "expectedTurnId": "u", "input": [{"type": "text"}]},
         "turn/steer: missing required param 'input.0.text' (a string)"),
        ("thread/read", {"threadId": "t", "includeTurn": True}, "thread/read: unknown param 'includeTurn' (params: threadId, includeTurns)"),
    ],
)
def test_validation_is_one_line_naming_the_field(catalog, method, params, message):
    with pytest.raises(CodexUsageError) as info:
        catalog.validate(method, params)
    assert str(info.value) == message


def test_valid_params_pass(catalog):
    catalog.validate("thread/goal/set", {"threadId": "t", "status": "paused", "tokenBudget": None})
    catalog.validate("turn/steer", {"threadId": "t", "expectedTurnId": "u", "input": [{"type": "text", "text": "hi"}]})
