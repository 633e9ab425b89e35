"""``%codex call`` lines: options then JSON, typed by the schema; --help built from it (real binary's schema)."""

from __future__ import annotations

import pytest
from codex_fixtures import codex_binary_info
from codex_magics.api_parsers import call_parser, methods_help, parse_call, split_call_line, unknown_method
from codex_magics.errors import CodexUsageError
from codex_magics.parsing import _Parser
from codex_magics.schema import catalog_of

pytestmark = pytest.mark.codex_binary


def test_split_call_line():
    assert split_call_line('--limit 2 {"cursor": null}') == ("--limit 2", '{"cursor": null}')
    assert split_call_line("--name a{b}") == ("--name a{b}", None)  # a brace inside a value is not the JSON
    assert split_call_line("") == ("", None)


def test_parse_call_types_values_by_the_schema():
    cat = catalog_of(codex_binary_info())
    params = parse_call(cat, "thread/turns/list", ["--limit", "3", "--sortDirection", "asc"], '{"cursor": "c"}', _Parser)
    assert params == {"cursor": "c", "limit": 3, "sortDirection": "asc"}
    assert parse_call(cat, "thread/list", ["--archived", "true"], None, _Parser) == {"archived": True}
    with pytest.raises(CodexUsageError, match="unrecognized arguments: --nope"):
        parse_call(cat, "thread/list", ["--nope", "1"], None, _Parser)
    with pytest.raises(CodexUsageError, match="params are not valid JSON"):
        parse_call(cat, "thread/list", [], "{bad", _Parser)
    helped = call_parser(cat, "thread/turns/list", _Parser).format_help()
    assert "--limit INTEGER" in helped and "one of asc, desc or null" in helped
    assert f"({len(cat.api_methods)})" in methods_help(cat)
    assert "codex 0.163.0 has it" in str(unknown_method(cat, "thread/delete")) or cat.has("thread/delete")
    assert "%codex rpc sends any" in str(unknown_method(cat, "config/nope"))
