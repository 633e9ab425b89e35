"""Release lists (stable only, injectable), the slim npm fetch, and ``codex-repro cache list|prune``."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest
from codex_fixtures.appserver import fetch as fetch_mod
from codex_fixtures.appserver import releases as rel
from codex_fixtures.appserver.releases import (
    LocalReleases,
    RegistryReleases,
    ReleaseError,
    cache_entries,
    prune_cache,
    releases_between,
)
from codex_fixtures.homebuild.cache import CACHE_ENV, HomeCache
from codex_fixtures.repro.cli import main


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


class ListSource:
    name = "a test list"

    def __init__(self, versions):
        self._versions = versions

    def versions(self):
        return self._versions

    def fetch(self, version, **kwargs):  # pragma: no cover - never fetched here
        raise AssertionError(version)


def test_releases_between_is_stable_only_inclusive_and_every_n_keeps_the_ends():
    src = ListSource(["0.9.0", "0.10.0", "0.10.1", "0.11.0", "0.12.0", "0.13.0"])
    assert releases_between(src, "0.10.0", "0.13.0") == ["0.10.0", "0.10.1", "0.11.0", "0.12.0", "0.13.0"]
    assert releases_between(src, "v0.13.0", "0.10.0") == ["0.10.0", "0.10.1", "0.11.0", "0.12.0", "0.13.0"]
    assert releases_between(src, "0.9.0", "0.13.0", every=2) == ["0.9.0", "0.10.1", "0.12.0", "0.13.0"]
    with pytest.raises(ReleaseError, match="codex 0.10.2 is not a release of a test list"):
        releases_between(src, "0.10.0", "0.10.2")
    with pytest.raises(ReleaseError, match="pre-release"):
        releases_between(src, "0.10.0", "0.11.0-alpha.1")


def test_registry_versions_from_npm_else_pip(monkeypatch):
    monkeypatch.setattr(rel, "_npm_versions", lambda timeout: ["0.2.0", "0.10.0", "0.3.0-alpha.1", "0.9.0-beta"])
    assert RegistryReleases().versions() == ["0.2.0", "0.10.0"]
    monkeypatch.setattr(rel, "_npm_versions", lambda timeout: None)
    monkeypatch.setattr(rel, "_pip_versions", lambda timeout: ["0.4.0", "0.131.0a8"])
    assert RegistryReleases().versions() == ["0.4.0"]
    monkeypatch.setattr(rel, "_pip_versions", lambda timeout: None)
    with pytest.raises(ReleaseError, match="cannot list codex releases"):
        RegistryReleases().versions()


def fake_client(tmp_path: Path, name: str, body: str) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / name
    exe.write_text(f"#!{sys.executable}\nimport json, os, sys\nargs = sys.argv[1:]\n{body}\n")
    exe.chmod(0o755)
    return bindir


def test_npm_version_list_is_parsed(tmp_path, monkeypatch):
    bindir = fake_client(tmp_path, "npm", "assert args[:3] == ['view', '@openai/codex', 'versions']\n"
                                          "print(json.dumps(['0.1.0', '0.2.0-alpha.1', '0.2.0']))")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert rel._npm_versions(10) == ["0.1.0", "0.2.0-alpha.1", "0.2.0"]


def _tarball(path: Path, triple: str) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in [("package/package.json", b"{}"), ("package/README.md", b"readme"),
                           (f"package/vendor/{triple}/codex/codex", b"#!/bin/sh\necho codex-cli 2.0.0\n"),
                           (f"package/vendor/{triple}/path/rg", b"rg"),
                           (f"package/vendor/{triple}/codex-resources/voice/bin/host", b"x" * 5000),
                           ("package/vendor/aarch64-apple-darwin/codex/codex", b"other platform")]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.skipif(fetch_mod.npm_platform() != "linux-x64", reason="the fake package is built for linux-x64")
def test_fetch_keeps_only_this_platforms_vendor_tree_and_says_the_size(tmp_path, monkeypatch):
    tgz = _tarball(tmp_path / "codex-2.0.0.tgz", "x86_64-unknown-linux-musl")
    # the platform package is missing (as for releases that bundle every platform): the whole package is packed
    body = (f"spec, dest = args[1], args[args.index('--pack-destination') + 1]\n"
            f"if spec.endswith('-linux-x64'):\n    sys.stderr.write('npm error 404 Not Found - ' + spec)\n    sys.exit(1)\n"
            f"import shutil; shutil.copy({str(tgz)!r}, os.path.join(dest, 'codex-2.0.0.tgz'))\nprint('[]')")
    bindir = fake_client(tmp_path, "npm", body)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    said = []
    path = fetch_mod.fetch_codex_version("2.0.0", cache_dir=tmp_path / "cache", on_fetched=said.append)
    root = tmp_path / "cache" / "2.0.0"
    assert path == root / "vendor" / "x86_64-unknown-linux-musl" / "codex" / "codex"
    kept = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert kept == ["codex-path.txt", "fetch.json", "vendor/x86_64-unknown-linux-musl/codex/codex",
                    "vendor/x86_64-unknown-linux-musl/path/rg"]  # no launcher, no voice host, no other platform
    record = json.loads((root / "fetch.json").read_text())
    assert record["downloaded_bytes"] == tgz.stat().st_size and record["source"] == "npm @openai/codex@2.0.0"
    (line,) = said
    assert line.startswith("codex 2.0.0: downloaded ") and "kept" in line
    assert os.access(path, os.X_OK)


def fake_cache(root: Path, versions: dict[str, int]) -> Path:
    for version, size in versions.items():
        d = root / "codex-threadkit" / "codex" / version
        (d / "bin").mkdir(parents=True)
        exe = d / "bin" / "codex"
        exe.write_bytes(b"#" * size)
        exe.chmod(0o755)
        (d / "codex-path.txt").write_text("bin/codex")
    (root / "codex-threadkit" / "codex" / ".0.9.0-tmp").mkdir()  # an unfinished fetch: not listed
    return root


def test_cache_list_and_prune(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(fake_cache(tmp_path, {"0.10.0": 3000, "0.9.0": 1000, "0.11.0": 2000})))
    monkeypatch.delenv(CACHE_ENV, raising=False)  # the built homes under XDG_CACHE_HOME, not the suite's own cache
    rc, out, _ = run_cli(capsys, "cache", "list")
    assert rc == 0
    rows = out.splitlines()
    assert rows[0].split() == ["version", "size", "path"]
    assert [r.split()[0] for r in rows[1:4]] == ["0.9.0", "0.10.0", "0.11.0"]  # by version number
    assert rows[1].split()[1:3] == ["1.0", "kB"] and rows[-2] == "3 release(s), 6.0 kB"
    assert rows[-1].startswith("built homes (build_home, replay): 0, 0 B in ")
    rc, out, _ = run_cli(capsys, "cache", "list", "--json")
    assert [e["version"] for e in json.loads(out)] == ["0.9.0", "0.10.0", "0.11.0"]
    rc, out, _ = run_cli(capsys, "cache", "prune", "--keep", "2")
    assert rc == 0 and out.startswith("removed 0.9.0 (1.0 kB)") and "1 left" not in out and "2 left" in out
    rc, out, _ = run_cli(capsys, "cache", "prune", "0.11.0")
    assert rc == 0 and [e.version for e in cache_entries()] == ["0.10.0"]
    assert not (tmp_path / "codex-threadkit" / "codex" / "0.11.0").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["0.12.0"], "not in the cache: 0.12.0"),
    ([], "needs either --keep N or the versions"),
    (["--keep", "1", "0.10.0"], "needs either --keep N or the versions"),
    (["--keep", "-1"], "--keep must be 0 or more"),
    (["nope"], "is not a release number"),
])
def test_cache_prune_refusals_are_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.setenv("XDG_CACHE_HOME", str(fake_cache(tmp_path, {"0.10.0": 10})))
    rc, out, err = run_cli(capsys, "cache", "prune", *argv)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err
    assert [e.version for e in cache_entries()] == ["0.10.0"]


def test_local_releases_serve_a_directory(tmp_path):
    fake_cache(tmp_path, {"1.0.0": 1})  # a dir without <version>/codex is not a release
    (tmp_path / "2.0.0").mkdir()
    (tmp_path / "2.0.0" / "codex").write_text("#!/bin/sh\n")
    (tmp_path / "2.0.0" / "codex").chmod(0o755)
    (tmp_path / "2.1.0-rc.1").mkdir()
    (tmp_path / "2.1.0-rc.1" / "codex").write_text("#!/bin/sh\n")
    src = LocalReleases(tmp_path)
    assert src.versions() == ["2.0.0"]
    assert src.fetch("v2.0.0") == tmp_path / "2.0.0" / "codex"
    with pytest.raises(fetch_mod.FetchError, match="codex 3.0.0: not in"):
        src.fetch("3.0.0")
    with pytest.raises(ReleaseError, match="release directory not found"):
        LocalReleases(tmp_path / "nope")
    assert prune_cache(keep=5, cache_dir=tmp_path / "codex-threadkit" / "codex") == []


def test_cache_prune_homes_removes_the_built_homes_only(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(fake_cache(tmp_path, {"0.10.0": 10})))
    monkeypatch.delenv(CACHE_ENV, raising=False)
    homes = HomeCache()
    assert homes.root == tmp_path / "codex-threadkit" / "homes"
    for key in ("k1", "k2"):
        homes.get_or_build(key, lambda home: (home / "config.toml").write_text("x = 1\n")
                           and {"home": str(home), "ids": [], "turn_ids": []})  # a manifest of the shape a build reads
    rc, out, _ = run_cli(capsys, "cache", "list")
    assert rc == 0 and out.splitlines()[-1].startswith("built homes (build_home, replay): 2, ")
    rc, out, _ = run_cli(capsys, "cache", "prune", "--homes")
    assert rc == 0 and out.startswith("2 built home(s) removed") and homes.entries() == []
    assert [e.version for e in cache_entries()] == ["0.10.0"]  # releases stay
