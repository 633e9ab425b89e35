"""Probe answers shared by the processes of a session: once per binary file, never a failure, never a bad file.

The real binary is wrapped in a script that counts its runs; each "process" is a
real subprocess (the in-process caches would hide the shared one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from codex_fixtures.appserver import probe_cache
from codex_fixtures.appserver.binary import resolve_codex_bin
from codex_fixtures.appserver.child_env import ChildEnv
from codex_fixtures.appserver.probe_cache import PROBE_CACHE_ENV, cache_dir, remembered

ASK = """
import json, sys
from codex_fixtures.appserver.api_schema import catalog_for
from codex_fixtures.appserver.binary import codex_binary_info, resume_params_of
try:
    info = codex_binary_info(sys.argv[1])
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__}))
else:
    catalog = catalog_for(info, experimental=True)
    print(json.dumps({"version": info.version, "methods": sorted(info.methods), "resume": sorted(resume_params_of(info)),
                      "start": catalog.has("thread/start")}))
"""


@pytest.fixture
def counted(tmp_path: Path) -> tuple[Path, Path]:
    """A script that counts its runs, then runs the real binary: (script, count file)."""
    count = tmp_path / "count"
    script = tmp_path / "bin" / "codex"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$*" >> {count}\nexec {resolve_codex_bin()} "$@"\n')
    script.chmod(0o755)
    return script, count


def ask(binary: Path, cache: Path | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != PROBE_CACHE_ENV}
    if cache is not None:
        env[PROBE_CACHE_ENV] = str(cache)
    done = subprocess.run([sys.executable, "-c", ASK, str(binary)], capture_output=True, text=True, env=env, timeout=120,
                          check=True)
    return json.loads(done.stdout)


def runs(count: Path) -> int:
    return len(count.read_text().splitlines()) if count.exists() else 0


def _private_dir(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    return cache


@pytest.mark.codex_binary
def test_the_second_process_asks_the_cache_not_the_binary(counted, tmp_path):
    binary, count = counted
    cache = _private_dir(tmp_path)
    first = ask(binary, cache)
    probes = runs(count)
    assert probes >= 3 and first["version"] and first["start"] is True  # --version, the schema, the experimental one
    # one --experimental schema serves the params check's catalog and resume_params_of
    assert sum("--experimental" in line for line in count.read_text().splitlines()) == 1
    assert ask(binary, cache) == first and runs(count) == probes  # the same answer, no run of the binary
    assert ask(binary, None) == first and runs(count) == 2 * probes  # without the cache: every probe again
    os.utime(binary)  # a binary touched (or replaced) is another key
    assert ask(binary, cache) == first and runs(count) == 3 * probes


@pytest.mark.codex_binary
def test_a_failed_probe_is_not_kept(tmp_path):
    count = tmp_path / "count"
    binary = tmp_path / "codex"
    binary.write_text(f'#!/bin/sh\necho run >> {count}\necho "not codex"\nexit 3\n')
    binary.chmod(0o755)
    cache = _private_dir(tmp_path)
    assert ask(binary, cache) == {"error": "BinaryNotFoundError"}
    assert ask(binary, cache) == {"error": "BinaryNotFoundError"} and runs(count) == 2
    kept = [json.loads(p.read_text())["key"] for p in cache.iterdir()]
    assert [key for key in kept if key[1] == os.path.realpath(binary)] == []  # (the OS probe's answer may be kept)


@pytest.mark.parametrize("bad", [b"", b"{not json", b"[1, 2]", b'{"key": ["other"], "value": "1.0"}', b'{"key": null}',
                                 b"[" * 100000, "the right key, a wrong shape"])
def test_a_bad_cache_file_is_a_miss_and_is_replaced(tmp_path, monkeypatch, bad):
    cache = _private_dir(tmp_path)
    monkeypatch.setenv(PROBE_CACHE_ENV, str(cache))
    binary = tmp_path / "codex"
    binary.write_text("#!/bin/sh\n")
    asked = []

    def probe() -> str:
        asked.append(1)
        return "1.0"

    def load(value: object) -> str:
        if not isinstance(value, str):
            raise TypeError("not a version")
        return value

    assert remembered("version", binary, probe, load=load) == "1.0" and len(asked) == 1
    (path,) = cache.iterdir()
    if bad == "the right key, a wrong shape":
        doc = json.loads(path.read_bytes())
        path.write_text(json.dumps({"key": doc["key"], "value": 42}))
    else:
        path.write_bytes(bad)
    assert remembered("version", binary, probe, load=load) == "1.0" and len(asked) == 2  # asked again
    assert json.loads(path.read_bytes())["value"] == "1.0"  # and written again
    assert remembered("version", binary, probe, load=load) == "1.0" and len(asked) == 2


def test_only_a_private_directory_of_ours_is_used(tmp_path, monkeypatch):
    cache = _private_dir(tmp_path)
    monkeypatch.setenv(PROBE_CACHE_ENV, str(cache))
    assert cache_dir() == cache
    cache.chmod(0o777)
    assert cache_dir() is None  # others may write there
    cache.chmod(0o700)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(cache).st_uid + 1)
    assert cache_dir() is None  # not ours
    monkeypatch.undo()
    for value in ("off", "relative/dir", str(tmp_path / "missing"), str(tmp_path / "count")):
        monkeypatch.setenv(PROBE_CACHE_ENV, value)
        assert cache_dir() is None, value


def test_share_names_one_directory_and_no_codex_child_sees_it(tmp_path, monkeypatch):
    monkeypatch.delenv(PROBE_CACHE_ENV, raising=False)
    monkeypatch.setattr(probe_cache, "_shared", None)
    outer, inner = object(), object()  # two sessions in one process (pytester's in-process runs)
    directory = probe_cache.share(outer)
    try:
        assert directory is not None and os.environ[PROBE_CACHE_ENV] == str(directory) and cache_dir() == directory
        assert probe_cache.share(inner) is None and os.environ[PROBE_CACHE_ENV] == str(directory)  # one per session
        probe_cache.unshare(inner)  # the inner session never unnames the outer one's directory
        assert os.environ[PROBE_CACHE_ENV] == str(directory)
        with ChildEnv(tmp_path) as child:
            assert PROBE_CACHE_ENV not in child.env  # not on the hermetic allow-list
    finally:
        probe_cache.unshare(outer)
    assert PROBE_CACHE_ENV not in os.environ
    monkeypatch.setenv(PROBE_CACHE_ENV, str(tmp_path))
    probe_cache.unshare(outer)  # not ours to take back
    assert os.environ[PROBE_CACHE_ENV] == str(tmp_path)


@pytest.mark.codex_binary
def test_the_workers_of_a_session_share_the_first_processs_directory(pytester, monkeypatch):
    monkeypatch.delenv(PROBE_CACHE_ENV, raising=False)  # this session's own: the inner one must make its own
    pytester.makepyfile(
        """
        import os
        import pytest
        from pathlib import Path
        from codex_fixtures.appserver.probe_cache import PROBE_CACHE_ENV, cache_dir

        @pytest.mark.parametrize("n", range(4))
        def test_dir(n, codex_binary):
            assert cache_dir() is not None and len(os.listdir(cache_dir())) >= 1  # the session's answers are there
            Path(f"seen-{n}").write_text(os.environ[PROBE_CACHE_ENV] + " " + os.environ["PYTEST_XDIST_WORKER"])
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)
    seen = [(pytester.path / f"seen-{n}").read_text().split() for n in range(4)]
    assert len({d for d, _ in seen}) == 1 and len({w for _, w in seen}) == 2, seen  # one directory, both workers
    assert not Path(seen[0][0]).exists()  # gone with the session
