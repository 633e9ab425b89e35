"""The displayed form of a shell command (upstream's ``format_with_current_shell_display``), without a binary.

The expectations are what 0.163.0 and 0.171.0 showed (``tests/appserver/test_shell_display_real_binary.py``);
:func:`shlex.join` would show a word with a single quote differently, which is why the module exists.
"""

from __future__ import annotations

import shlex

import pytest
from codex_fixtures import join_shell_words, shell_command_argv, shell_command_display
from codex_fixtures.appserver.shell_display import default_user_shell


@pytest.mark.parametrize(
    ("words", "joined"),
    [
        (["echo", "hi"], "echo hi"),
        (["echo hi"], "'echo hi'"),
        ([""], "''"),
        (["printf '%s\\n' it's"], "\"printf '%s\\\\n' it's\""),  # shown by the binary; shlex.join differs
        (['echo "x$y"'], "'echo \"x$y\"'"),
        (["it's $HOME"], "\"it's \"'$HOME'"),  # ' forces double quotes, $ then single ones
        (["echo !bang"], "'echo !bang'"),
        (["^caret"], "'^caret'"),
        (["a^b"], "a'^b'"),
        (["café"], "'café'"),
        (["a,b=c"], "'a,b=c'"),
    ],
)
def test_words_are_quoted_like_the_rust_shlex_crate(words, joined):
    assert join_shell_words(words) == joined


def test_it_is_not_python_shlex_join():
    word = "printf '%s\\n' it's"
    assert join_shell_words([word]) != shlex.join([word])
    assert shlex.split(join_shell_words([word])) == [word]  # and still splits back to the word


def test_display_login_and_non_login():
    assert shell_command_display("echo hi", shell="/bin/bash") == "/bin/bash -lc 'echo hi'"
    assert shell_command_display("echo hi", login=False, shell="/bin/zsh") == "/bin/zsh -c 'echo hi'"
    assert shell_command_argv("ls", shell="/bin/sh") == ["/bin/sh", "-lc", "ls"]


def test_default_shell_follows_the_login_shell_kind(tmp_path):
    assert default_user_shell(login_shell="/usr/local/bin/zsh") == "/usr/local/bin/zsh"  # taken as the passwd says
    assert default_user_shell(login_shell="/bin/bash") == "/bin/bash"
    fake_bash = tmp_path / "bash"
    fake_bash.write_text("#!/bin/sh\n")
    fake_bash.chmod(0o755)
    # fish is not a shell the binary runs commands with: bash on PATH instead
    assert default_user_shell(login_shell="/usr/bin/fish", search_path=str(tmp_path)) == str(fake_bash)


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="one shell string"):
        shell_command_display(["echo", "hi"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of words"):
        join_shell_words("echo hi")
    with pytest.raises(ValueError, match="NUL"):
        shell_command_display("echo \0", shell="/bin/bash")
