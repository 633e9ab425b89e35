"""Help: %codex? shows everything, --help has no raw backticks, the sandbox tells how to slow the stream."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from codex_magics.parsing import SUBCOMMANDS, full_help
from magics_helpers import ip_fixture  # noqa: F401 - a fixture


def test_magic_docstring_is_the_full_help(ip):
    doc = ip.find_line_magic("codex").__doc__
    assert doc == full_help()
    for name in SUBCOMMANDS:
        assert f"%codex {name}" in doc, name
    assert "--stream-delay" in doc and "--no-wait" in doc and "`" not in doc


def test_pinfo_shows_it(ip, capsys):
    ip.run_line_magic("pinfo", "%codex")
    out = capsys.readouterr().out
    assert "%codex steer" in out and "%codex call" in out


def test_help_without_backticks(ip, capsys):
    for line in ("--help", "sandbox --help", "call --help", "goal --help"):
        ip.run_line_magic("codex", line)
        out = capsys.readouterr().out
        assert out and "`" not in out, (line, out)
    ip.run_line_magic("codex", "sandbox --help")
    assert "--stream-delay SECONDS" in capsys.readouterr().out
    ip.run_line_magic("codex", "--help")
    assert "a %%codex --no-wait cell" in " ".join(capsys.readouterr().out.split())  # not %-formatted away
