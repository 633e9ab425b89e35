"""Fake codex releases for bisect/history/diff: the bundled binary behind tests/fake_release.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FAKE_RELEASE = Path(__file__).resolve().parents[1] / "fake_release.py"
# version -> flavour (see tests/fake_release.py): archive-just-started differs before 1.5.0
FAKE_RELEASES = {
    "1.0.0": "old", "1.1.0": "old", "1.2.0": "old", "1.3.0": "old", "1.3.1": "no-protocol", "1.4.0": "old",
    "1.5.0": "new", "1.6.0": "new", "1.7.0": "new", "1.8.0": "new",
    "1.5.0-beta.1": "new",  # a pre-release: never listed
}


def make_fake_releases(root: Path, real: Path, releases: dict[str, str] = FAKE_RELEASES) -> Path:
    """Write ``root/<version>/codex`` wrappers of ``real`` (a local release source) and return ``root``."""
    for version, flavour in releases.items():
        d = root / version
        d.mkdir(parents=True)
        exe = d / "codex"
        exe.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_RELEASE} {real} {version} {flavour} "$@"\n')
        exe.chmod(0o755)
    (root / "not-a-release").mkdir()
    return root


@pytest.fixture(scope="session")
def fake_releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of fake releases 1.0.0..1.8.0 wrapping the bundled binary (skips when there is none)."""
    from codex_fixtures.appserver.binary import codex_binary_info
    from codex_fixtures.errors import CodexFixturesError

    try:
        real = codex_binary_info().path
    except CodexFixturesError as exc:
        pytest.skip(f"no codex binary to wrap: {exc}")
    return make_fake_releases(tmp_path_factory.mktemp("releases"), real)
