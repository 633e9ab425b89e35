"""A fetch killed with SIGKILL leaves its staging dir; the next fetch, ``cache list`` and ``cache prune`` sweep it (issue 18, 9).

Only dead owners' dirs go: a live fetch's staging dir, another user's, or an
unowned one touched within the grace are kept.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from codex_fixtures.appserver import fetch as fetch_mod
from codex_fixtures.home.tempdirs import OWNER_FILE, write_owner
from codex_fixtures.repro.cli import main

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="owners are judged through /proc")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(30)
    return proc.pid


def test_a_fetch_killed_with_sigkill_leaves_a_staging_dir_that_cache_list_sweeps(tmp_path, capsys, monkeypatch):
    cache = tmp_path / "xdg"
    root = cache / "codex-threadkit" / "codex"
    fifo = tmp_path / "ready"
    os.mkfifo(fifo)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    npm = bindir / "npm"  # writes 1 MB into the staging dir, says so, then hangs until killed
    npm.write_text(f"#!{sys.executable}\nimport os, sys, time\nargs = sys.argv[1:]\n"
                   "dest = args[args.index('--pack-destination') + 1]\n"
                   "open(os.path.join(dest, 'partial.tgz'), 'wb').write(b'x' * 1000000)\n"
                   f"with open({str(fifo)!r}, 'w') as fh:\n    fh.write('ready\\n')\n"
                   "time.sleep(120)\n")
    npm.chmod(0o755)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    script = textwrap.dedent('''
        from codex_fixtures.appserver.fetch import fetch_codex_version
        fetch_codex_version("2.0.0")
    ''')
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    child = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([rfd], [], [], 60)
        assert ready, "the fake npm never started"
        staging = [p for p in root.iterdir() if p.name.startswith(".2.0.0-")]
        assert len(staging) == 1 and (staging[0] / OWNER_FILE).is_file()
        assert fetch_mod.sweep_staging_dirs(root) == []  # its fetch is alive: kept
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the fetch and its npm, without any unwinding
        child.wait(30)
        os.close(rfd)
    assert staging[0].is_dir()  # what SIGKILL leaves
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert main(["cache", "list"]) == 0
    out, err = capsys.readouterr()
    assert "(no cached release)" in out
    assert f"removed 1 staging dir(s) of fetches that died (1.0 MB): {staging[0].name}" in err
    assert not staging[0].exists()


def test_only_dead_owners_and_stale_unowned_dirs_are_swept(tmp_path):
    root = tmp_path
    live = root / ".1.0.0-live1234"
    dead = root / ".1.0.0-dead1234"
    old_unowned = root / ".1.0.0-oldabcd"
    new_unowned = root / ".1.0.0-newabcd"
    trash_dead = root / f".1.0.0-pruned-{dead_pid()}"
    trash_live = root / f".1.0.0-pruned-{os.getpid()}"
    release = root / "1.0.0"
    other = root / ".cache-of-something-else"
    for d in (live, dead, old_unowned, new_unowned, trash_dead, trash_live, release, other):
        d.mkdir()
        (d / "payload").write_bytes(b"x" * 10)
    write_owner(live)
    (dead / OWNER_FILE).write_text(f"{dead_pid()} 12345 - -\n")
    past = time.time() - fetch_mod.UNOWNED_GRACE_S - 60
    os.utime(old_unowned, (past, past))
    os.utime(other, (past, past))
    swept = fetch_mod.sweep_staging_dirs(root)
    assert sorted(p.name for p, _ in swept) == sorted([dead.name, old_unowned.name, trash_dead.name])
    assert all(size >= 10 for _, size in swept)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [live.name, new_unowned.name, trash_live.name, release.name, other.name])


def test_a_finished_fetch_leaves_no_owner_file_in_the_release(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "npm").write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('npm error 404 Not Found')\n"
                                "sys.exit(1)\n")
    (bindir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(fetch_mod, "_via_pip", lambda version, work, timeout: (None, "PyPI: not here"))
    with pytest.raises(fetch_mod.FetchError, match="not available"):
        fetch_mod.fetch_codex_version("2.0.0", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # a failed fetch removes its staging dir (owner and all)


def test_a_marker_or_record_that_is_huge_or_not_a_file_is_no_cache_entry(tmp_path):
    dest = tmp_path / "1.0.0"
    (dest / "bin").mkdir(parents=True)
    (dest / "bin" / "codex").write_text("#!/bin/sh\n")
    (dest / "bin" / "codex").chmod(0o755)
    (dest / fetch_mod.MARKER).write_text("bin/codex")
    assert fetch_mod.cached_binary(dest) == dest / "bin" / "codex"
    os.truncate(dest / fetch_mod.MARKER, 2 << 20)  # sparse: never read whole
    assert fetch_mod.cached_binary(dest) is None
    (dest / fetch_mod.MARKER).unlink()
    os.mkfifo(dest / fetch_mod.MARKER)  # never opened for a blocking read
    assert fetch_mod.cached_binary(dest) is None
    os.mkfifo(dest / "fetch.json")
    assert fetch_mod.fetch_record(dest) == {}
