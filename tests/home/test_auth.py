"""auth.json writers: file shape, mode, atomicity, and what the real binary makes of them."""

from __future__ import annotations

import base64
import json
import stat

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    MockResponsesServer,
    add_chatgpt_backend_routes,
    chatgpt_config_options,
    create_final_assistant_message_sse_response,
    write_api_key_auth,
    write_chatgpt_auth,
)


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_chatgpt_auth_file(tmp_path):
    path = write_chatgpt_auth(tmp_path, account_id="acct-7", email="a@example.com", plan_type="pro", user_id="u-7")
    assert path == tmp_path / "auth.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["auth_mode"] == "chatgpt" and doc["OPENAI_API_KEY"] is None
    assert doc["tokens"]["account_id"] == "acct-7"
    auth_claims = claims(doc["tokens"]["id_token"])
    assert auth_claims["email"] == "a@example.com"
    assert auth_claims["https://api.openai.com/auth"] == {
        "chatgpt_plan_type": "pro", "chatgpt_user_id": "u-7", "chatgpt_account_id": "acct-7",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["auth.json"]  # no temp file left


def test_api_key_auth_file_replaces_atomically(tmp_path):
    write_chatgpt_auth(tmp_path)
    path = write_api_key_auth(tmp_path, "sk-1")
    assert json.loads(path.read_text()) == {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-1"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["auth.json"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda home: write_api_key_auth(home, ""), "api_key must be a non-empty string"),
        (lambda home: write_chatgpt_auth(home, plan_type="gold"), "plan_type must be one of"),
        (lambda home: write_chatgpt_auth(home, email=""), "email must be a non-empty string"),
        (lambda home: write_chatgpt_auth(home / "missing"), "CODEX_HOME is not a directory"),
    ],
)
def test_bad_input_is_one_line(tmp_path, call, message):
    with pytest.raises(ValueError, match=message) as info:
        call(tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.codex_binary
def test_account_read_reports_the_fake_chatgpt_login(real_codex):
    with MockResponsesServer() as server, CodexHome(server, **chatgpt_config_options(server)) as home:
        routes = add_chatgpt_backend_routes(server, account_id="acct-42")
        write_chatgpt_auth(home.path, account_id="acct-42", email="dev@example.com", plan_type="team")
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            app.initialize()
            result = app.request("account/read", {"refreshToken": False})
        assert result["account"]["type"] == "chatgpt"
        assert (result["account"]["email"], result["account"]["planType"]) == ("dev@example.com", "team")
        assert result["requiresOpenaiAuth"] is True
        assert result["workspaceRouting"]["chatgptAccountId"] == "acct-42"
        check = routes["GET /backend-api/wham/accounts/check"].calls
        assert check and check[0].header("authorization") == "Bearer fake-access-token"
        assert check[0].header("chatgpt-account-id") == "acct-42"
        server.check()  # everything the binary asked the backend for was routed


@pytest.mark.codex_binary
def test_api_key_login_is_sent_to_a_provider_requiring_openai_auth(real_codex):
    with MockResponsesServer() as server, CodexHome(server, requires_openai_auth=True) as home:
        write_api_key_auth(home.path, "sk-test-42")
        server.enqueue(create_final_assistant_message_sse_response("hi"))
        with AppServerProcess(home.path, codex_bin=real_codex) as app:
            app.initialize()
            assert app.request("account/read", {"refreshToken": False})["account"] == {"type": "apiKey"}
            thread = app.start_thread()
            assert app.run_turn(thread["id"], "hello")["status"] == "completed"
        assert server.requests[0].header("authorization") == "Bearer sk-test-42"
        server.check()


def test_chatgpt_login_refused_in_a_home_that_would_reach_chatgpt_com(tmp_path):
    with MockResponsesServer() as server, CodexHome(server) as home:
        with pytest.raises(ValueError, match="chatgpt_base_url is None, not the mock") as info:
            write_chatgpt_auth(home.path)
        assert "\n" not in str(info.value) and not (home.path / "auth.json").exists()
        write_chatgpt_auth(home.path, check_config=False)  # on purpose
    with MockResponsesServer() as server, CodexHome(server, **chatgpt_config_options(server)) as home:
        write_chatgpt_auth(home.path)
    (tmp_path / "config.toml").write_text('chatgpt_base_url = "https://chatgpt.com/backend-api/"\n')
    with pytest.raises(ValueError, match="'https://chatgpt.com/backend-api/', not the mock"):
        write_chatgpt_auth(tmp_path)


@pytest.mark.codex_binary
@pytest.mark.codex(auth="chatgpt")
def test_a_token_refresh_goes_to_the_mock_not_auth_openai_com(codex_app_server, codex_responses, codex_home):
    # account/read with refreshToken=true (like a stale last_refresh or a 401) makes the binary refresh the login;
    # unpointed, it would POST to https://auth.openai.com/oauth/token
    (route,) = [r for r in codex_responses.script.routes.routes if (r.method, r.path) == ("POST", "/oauth/token")]
    account = codex_app_server.request("account/read", {"refreshToken": True})["account"]
    assert account["type"] == "chatgpt"
    (call,) = route.calls
    assert call.body_json["grant_type"] == "refresh_token" and call.body_json["refresh_token"] == "fake-refresh-token"
    assert json.loads((codex_home / "auth.json").read_text())["tokens"]["access_token"] == "fake-access-token"


def test_launch_and_app_server_children_point_the_refresh_at_loopback(tmp_path):
    from codex_fixtures import CodexLaunch
    from codex_fixtures.appserver.child_env import REFRESH_TOKEN_URL_ENV, UNREACHABLE_REFRESH_URL

    with CodexLaunch(tmp_path, codex_bin="/bin/true") as launch:
        assert launch.env[REFRESH_TOKEN_URL_ENV] == UNREACHABLE_REFRESH_URL
