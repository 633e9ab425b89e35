"""config.toml writer: hermetic defaults, round trip through tomllib, bad options."""

from __future__ import annotations

import tomllib

import pytest
from codex_fixtures import ConfigError, config_contents, config_dict, write_config_toml


def test_defaults_are_hermetic_and_match_upstream_baseline():
    doc = tomllib.loads(config_contents("http://127.0.0.1:1234"))
    assert doc["model"] == "mock-model"
    assert doc["approval_policy"] == "never"
    assert doc["sandbox_mode"] == "read-only"
    assert doc["model_provider"] == "mock_provider"
    assert doc["features"] == {"plugins": False, "shell_snapshot": False}
    assert doc["model_providers"]["mock_provider"] == {
        "name": "Mock provider for test",
        "base_url": "http://127.0.0.1:1234/v1",
        "wire_api": "responses",
        "request_max_retries": 0,
        "stream_max_retries": 0,
    }


def test_overrides_features_and_extra_tables_round_trip(tmp_path):
    path = write_config_toml(
        tmp_path / "home",
        "http://127.0.0.1:9",
        model="gpt-test",
        model_provider="other",
        request_max_retries=2,
        env_key="MOCK_KEY",
        features={"personality": True, "plugins": True},
        extra={"skills": {"include_instructions": False}, "features": {"goals": True}},
    )
    doc = tomllib.loads(path.read_text())
    assert doc["model"] == "gpt-test"
    assert doc["model_provider"] == "other"
    assert doc["model_providers"]["other"]["request_max_retries"] == 2
    assert doc["model_providers"]["other"]["env_key"] == "MOCK_KEY"
    assert doc["features"] == {"plugins": True, "shell_snapshot": False, "personality": True, "goals": True}
    assert doc["skills"] == {"include_instructions": False}
    assert config_dict("http://127.0.0.1:9", hermetic=False).get("features") is None


def test_the_hermetic_config_keeps_the_real_tmp_out_of_the_sandboxs_writable_roots():
    assert config_dict("http://127.0.0.1:9")["sandbox_workspace_write"] == {"exclude_slash_tmp": True}
    assert "sandbox_workspace_write" not in config_dict("http://127.0.0.1:9", hermetic=False)
    roots = config_dict("http://127.0.0.1:9", extra={"sandbox_workspace_write": {"writable_roots": ["/w"]}})
    assert roots["sandbox_workspace_write"] == {"exclude_slash_tmp": True, "writable_roots": ["/w"]}  # merged, not replaced


def test_accepts_a_server_object_with_uri():
    class Server:
        uri = "http://127.0.0.1:5555"

    assert "http://127.0.0.1:5555/v1" in config_contents(Server())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"modle": "x"}, "unknown config option 'modle' (did you mean 'model'?)"),
        ({"request_max_retries": "3"}, "'request_max_retries' must be int, got str '3'"),
        ({"request_max_retries": True}, "'request_max_retries' must be int, got bool"),
        ({"request_max_retries": -1}, "must be >= 0"),
        ({"wire_api": "chat"}, "unknown wire_api 'chat'; supported: responses"),
        ({"approval_policy": "sometimes"}, "unknown approval_policy 'sometimes'"),
        ({"sandbox_mode": "yolo"}, "unknown sandbox_mode 'yolo'"),
        ({"base_url": "ftp://example/v1"}, "base_url must be an http(s) URL, got 'ftp://example/v1'"),
        ({"features": {"plugins": "no"}}, "feature 'plugins' must be true or false"),
        ({"model": ""}, "must not be empty"),
        ({"extra": {1: 2}}, "config keys must be strings"),
        ({"stream_max_retries": 2**64}, "config value model_providers.mock_provider.stream_max_retries = 18446744073709551616 does not fit"),
        ({"extra": {"t": {"xs": [1, -(2**63) - 1]}}}, "config value t.xs[1]"),
        ({"extra": {"x": {1: 2}}}, "config cannot be written as TOML"),
    ],
)
def test_bad_options_give_one_line_value_errors(options, message):
    with pytest.raises(ConfigError) as info:
        config_contents("http://127.0.0.1:1", **options)
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_server_uri():
    with pytest.raises(ValueError, match="server_uri must be an http"):
        config_contents("127.0.0.1:80")
    with pytest.raises(ValueError, match="either server_uri or base_url"):
        config_contents(None)


def test_unserializable_extra_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot be written as TOML"):
        config_contents("http://127.0.0.1:1", extra={"x": object()})


@pytest.mark.parametrize(("extra", "named"), [
    ({"x": "\ud800"}, "config value x holds"),
    ({"t": {"xs": ["ok", "a\udcff"]}}, "config value t.xs[1] holds"),
    ({"\ud800": 1}, "config key '\\ud800' in (top level)"),
    ({"t": {"k\udc80": 1}}, "config key 'k\\udc80' in t"),
])
def test_a_string_that_is_not_utf8_is_a_config_error_naming_the_key(extra, named, tmp_path, monkeypatch):
    """A lone surrogate used to escape as a bare UnicodeEncodeError from the file write (issue 18, 8)."""
    with pytest.raises(ConfigError) as info:
        config_contents("http://127.0.0.1:1", extra=extra)
    assert named in str(info.value) and "not UTF-8" in str(info.value) and "\n" not in str(info.value)
    str(info.value).encode("utf-8")  # the message itself can be printed
    import tempfile

    from codex_fixtures import CodexHome
    from codex_fixtures.home.tempdirs import temp_root

    temp_root()  # the process's root stays where it is; only keep=True homes go to tmp_path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for keep in (False, True):  # a home whose config cannot be written is removed, kept or not
        with pytest.raises(ConfigError):
            CodexHome("http://127.0.0.1:1", keep=keep, extra=extra)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("codex-home-")]


def test_the_builtin_provider_is_pointed_at_the_mock_with_openai_base_url_and_no_table():
    # fails on main: it wrote [model_providers.openai], which both binaries refuse ("reserved built-in provider IDs")
    doc = config_dict("http://127.0.0.1:1/s", model_provider="openai", requires_openai_auth=True)
    assert doc["openai_base_url"] == "http://127.0.0.1:1/s/v1" and "model_providers" not in doc
    with pytest.raises(ConfigError, match="built-in provider 'openai' takes no provider table, so not request_max_retries"):
        config_dict("http://127.0.0.1:1/s", model_provider="openai", request_max_retries=1)


@pytest.mark.parametrize(("transport", "supports"), [("http", False), ("websocket", True), ("both", True)])
def test_transport_sets_supports_websockets(transport, supports):
    doc = config_dict("http://127.0.0.1:1/s", transport=transport)
    assert doc["model_providers"]["mock_provider"]["supports_websockets"] is supports
    assert "supports_websockets" not in config_dict("http://127.0.0.1:1/s")["model_providers"]["mock_provider"]
    with pytest.raises(ConfigError, match="unknown transport 'ws'"):
        config_dict("http://127.0.0.1:1/s", transport="ws")
