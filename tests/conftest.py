"""Shared test helpers: the fake stdio peer and the real-binary gate."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def fake_peer_bin(tmp_path: Path) -> Path:
    """An executable that runs tests/fake_app_server.py (mode via FAKE_PEER_MODE)."""
    script = tmp_path / "fake-codex"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'fake_app_server.py'}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def pytest_report_header(config: pytest.Config) -> str:
    try:
        from codex_fixtures import codex_binary_info

        info = codex_binary_info(config.getoption("--codex-bin") or os.environ.get("CODEX_BIN") or None)
        return f"codex binary: {info.describe()}"
    except Exception as exc:  # noqa: BLE001
        return f"codex binary: unavailable ({exc})"
