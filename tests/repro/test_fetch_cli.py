"""``codex-repro fetch VERSION...``: cached releases skipped, digests checked against the lock file (issue 24.5).

No network: the release cache is a temp dir; a "download" is a fake that writes a binary there.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from codex_fixtures.repro import fetch_cli
from codex_fixtures.repro.cli import main


def _install(cache: Path, version: str, content: bytes) -> Path:
    dest = cache / "codex-threadkit" / "codex" / version
    (dest / "bin").mkdir(parents=True)
    binary = dest / "bin" / "codex"
    binary.write_bytes(content)
    binary.chmod(0o755)
    (dest / "codex-path.txt").write_text("bin/codex")
    return binary


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "xdg"


def test_a_cached_release_is_not_downloaded_and_its_digest_goes_to_the_lock(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    binary = _install(cache, "0.101.0", b"old codex")
    downloads: list[str] = []

    def fake_fetch(version, *, on_download=None, on_fetched=None, **_):
        cached = cache / "codex-threadkit" / "codex" / version / "bin" / "codex"
        if cached.exists():
            return cached
        if version != "0.101.0":
            downloads.append(version)
            if on_download:
                on_download(version)
            path = _install(cache, version, b"new codex")
            if on_fetched:
                on_fetched(f"codex {version}: downloaded 9 B (fake), kept 9 B in {path.parent.parent}")
            return path
        return binary

    monkeypatch.setattr(fetch_cli, "fetch_codex_version", fake_fetch)
    assert main(["fetch", "0.101.0", "v0.171.0"]) == 0
    out, err = capsys.readouterr()
    assert downloads == ["0.171.0"]
    lines = out.splitlines()
    assert lines[0].startswith("0.101.0  cached  sha256:" + hashlib.sha256(b"old codex").hexdigest())
    assert lines[1].startswith("0.171.0  fetched  sha256:" + hashlib.sha256(b"new codex").hexdigest())
    assert "fetching codex 0.171.0" in err and "downloaded 9 B (fake)" in err
    lock = json.loads(Path("codex-releases.lock.json").read_text())
    assert lock["schema_version"] == 1 and list(lock["releases"]) == ["0.101.0", "0.171.0"]
    assert main(["fetch", "0.171.0", "0.101.0", "-q", "--frozen"]) == 0  # both in the lock, both cached now
    out, err = capsys.readouterr()
    assert err == "" and downloads == ["0.171.0"] and "0.171.0  cached" in out


def test_a_digest_that_differs_from_the_lock_is_one_line_exit_2(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = _install(cache, "0.101.0", b"codex")
    Path("codex-releases.lock.json").write_text(json.dumps(
        {"schema_version": 1, "releases": {"0.101.0": {"sha256": "0" * 64}}}))
    assert main(["fetch", "0.101.0"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and f"codex 0.101.0: {binary} has sha256 " in err
    assert "the lock file codex-releases.lock.json says 000" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["fetch", "latest"], "is not a release number"),
    (["fetch", "0.101.0", "--frozen"], "not in the lock file"),
    (["fetch", "0.101.0", "--lock", "bad.json"], "not a codex-repro lock file"),
])
def test_bad_input_is_one_line_exit_2_before_any_fetch(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], argv, message) -> None:
    Path("bad.json").write_text('{"releases": []}')
    monkeypatch.setattr(fetch_cli, "fetch_codex_version", lambda *a, **k: pytest.fail("fetched"))
    assert main(argv) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and message in err
    assert not os.path.exists("codex-releases.lock.json")
