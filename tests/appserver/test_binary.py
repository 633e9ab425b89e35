"""Binary resolution order, clear errors, and capability detection on the real binary."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from codex_fixtures import BinaryNotFoundError, codex_binary_info, resolve_codex_bin
from codex_fixtures.appserver import binary as binary_mod


def executable(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_order_explicit_then_option_then_env_then_bundled(tmp_path, monkeypatch):
    a = executable(tmp_path / "a", "#!/bin/sh\n")
    b = executable(tmp_path / "b", "#!/bin/sh\n")
    c = executable(tmp_path / "c", "#!/bin/sh\n")
    monkeypatch.setenv("CODEX_BIN", str(c))
    assert resolve_codex_bin(a, option=b) == a.resolve()
    assert resolve_codex_bin(None, option=b) == b.resolve()
    assert resolve_codex_bin() == c.resolve()
    monkeypatch.delenv("CODEX_BIN")
    bundled = resolve_codex_bin()
    assert bundled.name == "codex" and "codex_cli_bin" in str(bundled)


def test_nothing_found_lists_what_was_tried(monkeypatch):
    monkeypatch.delenv("CODEX_BIN", raising=False)
    monkeypatch.setattr(binary_mod, "_bundled", lambda: None)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BinaryNotFoundError) as info:
        resolve_codex_bin()
    text = str(info.value)
    assert text.startswith("no codex binary found; tried:")
    for part in ("$CODEX_BIN: not set", "openai-codex-cli-bin: not installed", "PATH: no 'codex'"):
        assert part in text


def test_bad_explicit_paths(tmp_path):
    with pytest.raises(BinaryNotFoundError, match="from argument does not exist"):
        resolve_codex_bin(tmp_path / "missing")
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(BinaryNotFoundError, match="is not an executable file"):
        resolve_codex_bin(plain)
    with pytest.raises(BinaryNotFoundError, match="is not an executable file"):
        resolve_codex_bin(tmp_path)


def test_a_binary_that_is_not_codex(tmp_path):
    impostor = executable(tmp_path / "impostor", "#!/bin/sh\necho 'Python 3.11.7'\n")
    with pytest.raises(BinaryNotFoundError, match=r"is not a codex binary \('--version' printed: Python 3.11.7\)"):
        codex_binary_info(impostor)


@pytest.mark.codex_binary
def test_bundled_binary_capabilities():
    info = codex_binary_info()
    assert info.version_tuple >= (0, 163, 0)
    assert info.has_method("thread/archive") and info.has_method("thread/revert")
    assert not info.has_method("thread/rollback")
    assert info.rollback_method == "thread/revert"
    assert "threadId" in info.resume_params
    assert codex_binary_info() is info  # cached per file
    assert info.describe().startswith(f"codex {info.version} (")
