"""``codex-repro diff``: the bundled binary against itself, a fake old release, and the real 0.101.0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from codex_fixtures.appserver.binary import codex_binary_info
from codex_fixtures.repro.cli import main
from codex_fixtures.repro.diff import diff_binaries, diff_fields
from codex_fixtures.repro.surface import schema_surface, type_name

OLD_CACHE = Path.home() / ".cache" / "codex-threadkit" / "codex" / "0.101.0"


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_type_names_and_field_diffs():
    assert type_name({"type": ["string", "null"]}) == "string|null"
    assert type_name({"anyOf": [{"$ref": "#/definitions/Thread"}, {"type": "null"}]}) == "Thread|null"
    assert type_name({"type": "array", "items": {"type": "integer"}}) == "array<integer>"
    assert type_name({"type": "object", "additionalProperties": {"type": "string"}}) == "map<string,string>"
    assert type_name({"type": "string", "enum": ["a", "b"]}) == "enum(a,b)"
    assert diff_fields({"a": "string", "b": "int"}, {"b": "string", "c": "bool"}) == {
        "added": {"c": "bool"}, "removed": {"a": "string"}, "changed": {"b": ["int", "string"]}}
    assert diff_fields({"a": "x"}, {"a": "x"}) == {}


def test_schema_surface_reads_methods_params_and_results(tmp_path):
    defs = {"FooParams": {"properties": {"id": {"type": "string"}}}}
    (tmp_path / "ClientRequest.json").write_text(json.dumps({"definitions": defs, "oneOf": [
        {"properties": {"method": {"enum": ["foo/do"]}, "params": {"$ref": "#/definitions/FooParams"}}},
        {"properties": {"method": {"enum": ["bar/none"]}}}]}))
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "FooResponse.json").write_text(json.dumps({"properties": {"ok": {"type": "boolean"}}}))
    (tmp_path / "ServerNotification.json").write_text(json.dumps({"oneOf": [
        {"properties": {"method": {"enum": ["thing/happened"]}}}]}))
    surface = schema_surface(tmp_path)
    assert surface["methods"] == {"foo/do": {"params": {"id": "string"}, "result": {"ok": "boolean"}},
                                  "bar/none": {"params": {}, "result": None}}
    assert surface["server_notifications"] == ["thing/happened"] and surface["server_requests"] == []


@pytest.mark.codex_binary
def test_diff_of_the_bundled_binary_with_itself_is_empty(capsys):
    path = str(codex_binary_info().path)
    rc, out, err = run_cli(capsys, "diff", path, path, "--no-scenarios", "--json", "-")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["tool"] == "codex-repro diff" and doc["exit_code"] == 0
    assert doc["methods"] == {"added": [], "removed": []} and doc["fields"] == {} and doc["tools"] == {}
    assert doc["rollout_kinds"] == {"added": [], "removed": []} and doc["scenarios"] == []
    assert "no difference" in err


@pytest.mark.codex_binary
def test_diff_against_a_fake_old_release(fake_releases, monkeypatch):
    # two scenarios, one that the fake changes and one it does not (the whole catalog on two releases is
    # test_scenarios' and the CLI tests' work; here it would only repeat it: 15 s)
    from codex_fixtures.repro import diff as diff_module

    real = diff_module.run_scenarios
    monkeypatch.setattr(diff_module, "run_scenarios",
                        lambda names, *args, **kw: real(["archive-just-started", "start-is-lazy"], *args, **kw))
    old, new = codex_binary_info(fake_releases / "1.0.0" / "codex"), codex_binary_info()
    d = diff_binaries(old, new)
    assert d.exit_code == 1 and old.version == "1.0.0"
    assert d.methods == {"added": ["thread/name/set"], "removed": []}
    assert d.fields["thread/start"] == {"params": {"removed": {"legacyFlag": "boolean|null"}}}
    assert d.tools == {} and d.rollout_kinds == {"added": [], "removed": []}  # same binary underneath
    assert [s["scenario"] for s in d.scenarios] == ["archive-just-started"]  # the unchanged one is not listed
    archive = d.scenarios[0]
    assert (archive["from"]["verdict"], archive["to"]["verdict"]) == ("differs", "as-intended")
    text = d.to_text()
    assert "methods: 1 added, 0 removed\n  + thread/name/set" in text
    assert "thread/start params: -legacyFlag" in text and "archive-just-started: differs -> as-intended" in text


@pytest.mark.codex_binary
@pytest.mark.skipif(not OLD_CACHE.is_dir(), reason="codex 0.101.0 is not cached (codex-repro run --codex-version 0.101.0)")
def test_diff_of_real_releases_calibrated_against_the_binaries(capsys):
    """0.101.0 -> bundled (0.163.0): what the binary probe saw (tools, rollout kinds, rollback method)."""
    if codex_binary_info().version != "0.163.0":
        pytest.skip("the bundled binary is not 0.163.0")
    rc, out, err = run_cli(capsys, "diff", "0.101.0", "0.163.0", "--no-scenarios", "--json", "-", "--quiet")
    assert rc == 1, err
    doc = json.loads(out)
    assert "thread/revert" in doc["methods"]["added"] and "thread/rollback" in doc["methods"]["removed"]
    assert {"update_plan", "read_mcp_resource"} <= set(doc["tools"]["removed"])
    assert {"get_goal", "multi_agent_v1.spawn_agent"} <= set(doc["tools"]["added"])
    assert {"world_state", "token_usage_record"} <= set(doc["rollout_kinds"]["added"])
    assert "event_msg:user_message" in doc["rollout_kinds"]["removed"]
    assert "approvalsReviewer" in doc["fields"]["thread/start"]["params"]["added"]


def test_diff_of_an_unknown_version_is_one_line_exit_2(capsys, tmp_path):
    rc, out, err = run_cli(capsys, "diff", "1.0.0", "9.9.9", "--releases", str(tmp_path), "--quiet")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "cannot diff codex 1.0.0: error: not in" in err
