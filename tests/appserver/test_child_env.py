"""The environment of codex children: hermetic by default, the user's own on request, overrides win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from codex_fixtures.appserver.child_env import ChildEnv
from codex_fixtures.home.tempdirs import in_temp_root


def test_hermetic_env_has_temp_home_and_tmpdir_and_no_user_shell_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.setenv("BASH_ENV", "/home/someone/.bashrc")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/someone/.config")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    with ChildEnv(tmp_path) as child:
        env = child.env
        assert env["CODEX_HOME"] == str(tmp_path) and env["RUST_LOG"] == "warn"
        home, tmp = Path(env["HOME"]), Path(env["TMPDIR"])
        assert home.is_dir() and tmp.is_dir() and list(home.iterdir()) == []
        assert in_temp_root(home) and in_temp_root(tmp)
        assert not {"BASH_ENV", "XDG_CONFIG_HOME", "OPENAI_API_KEY"} & set(env)
    assert not home.exists() and not tmp.exists()


def test_non_hermetic_env_keeps_the_users_home_and_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.setenv("BASH_ENV", "/home/someone/.bashrc")
    child = ChildEnv(tmp_path, hermetic=False, overrides={"OPENAI_API_KEY": "sk-back", "BASH_ENV": None})
    assert child.scratch is None
    assert child.env["HOME"] == "/home/someone" and child.env["OPENAI_API_KEY"] == "sk-back" and "BASH_ENV" not in child.env
    with ChildEnv(tmp_path, overrides={"HOME": "/elsewhere", "TMPDIR": "/t"}) as hermetic:
        assert hermetic.env["HOME"] == "/elsewhere" and hermetic.env["TMPDIR"] == "/t"


def test_without_a_codex_home_one_is_made_in_the_scratch_dir():
    with ChildEnv(None, hermetic=False) as child:
        home = Path(child.env["CODEX_HOME"])
        assert home.is_dir() and child.scratch is not None and home.parent == child.scratch
    assert not home.exists()


def test_hermetic_children_send_a_token_refresh_nowhere(tmp_path, monkeypatch):
    from codex_fixtures.appserver.child_env import REFRESH_TOKEN_URL_ENV, UNREACHABLE_REFRESH_URL

    monkeypatch.delenv(REFRESH_TOKEN_URL_ENV, raising=False)
    with ChildEnv(tmp_path) as child:
        assert child.env[REFRESH_TOKEN_URL_ENV] == UNREACHABLE_REFRESH_URL
        assert UNREACHABLE_REFRESH_URL.startswith("http://127.0.0.1:")
    with ChildEnv(tmp_path, overrides={REFRESH_TOKEN_URL_ENV: "http://127.0.0.1:1234/oauth/token"}) as child:
        assert child.env[REFRESH_TOKEN_URL_ENV] == "http://127.0.0.1:1234/oauth/token"
    assert REFRESH_TOKEN_URL_ENV not in ChildEnv(tmp_path, hermetic=False).env


def test_no_proxy_always_covers_loopback(tmp_path, monkeypatch):
    from codex_fixtures.appserver.child_env import loopback_no_proxy

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("no_proxy", "corp.example,localhost")
    for hermetic in (True, False):
        with ChildEnv(tmp_path, hermetic=hermetic) as child:
            assert child.env["NO_PROXY"] == child.env["no_proxy"] == "corp.example,localhost,127.0.0.1,::1,127.0.0.0/8"
    assert loopback_no_proxy({}) == "127.0.0.1,localhost,::1,127.0.0.0/8"
    assert loopback_no_proxy({"NO_PROXY": "127.0.0.1,localhost,::1,127.0.0.0/8"}) == "127.0.0.1,localhost,::1,127.0.0.0/8"


def test_no_proxy_covers_every_address_the_mock_accepts(tmp_path):
    import ipaddress

    from codex_fixtures.appserver.child_env import LOOPBACK_NO_PROXY
    from codex_fixtures.mock.loopback import _loopback

    entries = [ipaddress.ip_network(e) for e in LOOPBACK_NO_PROXY if e != "localhost"]
    for host in ("127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "localhost"):
        address = ipaddress.ip_address(_loopback(host)[0])  # what MockResponsesServer binds for it
        assert any(address in net for net in entries), host


def test_a_hermetic_child_gets_only_the_allow_list_and_ours(tmp_path, monkeypatch):
    from codex_fixtures.appserver.child_env import PASSED_ENV
    from codex_fixtures.appserver.os_probe import without_probe_dir

    keep = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_TIME": "C", "TZ": "UTC", "TERM": "xterm", "RUST_BACKTRACE": "1"}
    drop = {"CODEX_SQLITE_HOME": "/users/sqlite", "CODEX_EXEC_SERVER_URL": "ws://127.0.0.1:1", "PYTHONPATH": "/p",
            "HTTPS_PROXY": "http://proxy:8080", "SSL_CERT_FILE": "/c.pem", "LD_PRELOAD": "/x.so", "CODEX_CA_CERTIFICATE": "/c"}
    for key, value in {**keep, **drop}.items():
        monkeypatch.setenv(key, value)
    with ChildEnv(tmp_path, overrides={"CODEX_SQLITE_HOME": "/mine"}) as child:
        env = child.env
        assert {k: env[k] for k in keep} == {**keep, "PATH": env["PATH"]} and without_probe_dir(env["PATH"]) == keep["PATH"]
        assert not (set(drop) - {"CODEX_SQLITE_HOME"}) & set(env) and env["CODEX_SQLITE_HOME"] == "/mine"  # env= wins
        ours = {"CODEX_HOME", "RUST_LOG", "HOME", "TMPDIR", "NO_PROXY", "no_proxy", "CODEX_REFRESH_TOKEN_URL_OVERRIDE", "CODEX_SQLITE_HOME"}
        assert set(env) - ours <= {k for k in os.environ if k in PASSED_ENV or k.startswith("LC_")}
    non_hermetic = ChildEnv(tmp_path, hermetic=False).env  # %codex connect: the user's environment
    assert non_hermetic["CODEX_SQLITE_HOME"] == "/users/sqlite" and non_hermetic["PYTHONPATH"] == "/p"


@pytest.mark.codex_binary
def test_a_proxy_in_the_users_environment_does_not_take_the_mocks_traffic(tmp_path, monkeypatch):
    from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer
    from codex_fixtures.mock.script import repeating_assistant

    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens: through it no turn would complete
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with MockResponsesServer(repeating_assistant("hi")).start() as mock, CodexHome(mock) as home:
        with AppServerProcess(home.path) as app:
            app.initialize(timeout=20)
            thread = app.start_thread(timeout=20)
            assert app.run_turn(thread["id"], "hi", timeout=20)["status"] == "completed"
        assert len(mock.requests) == 1
