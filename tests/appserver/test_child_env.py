"""The environment of codex children: hermetic by default, the user's own on request, overrides win."""

from __future__ import annotations

from pathlib import Path

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
