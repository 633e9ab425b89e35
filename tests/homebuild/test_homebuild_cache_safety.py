"""The home cache never loses or trusts the wrong thing (issue 24, item 8).

Every test here fails on the code before issue 24: prune removed the whole root,
a manifest alone made an entry whole, a wrong-shape manifest was handed to the
build as it was, and the scratch of a killed build stayed forever.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from codex_fixtures.homebuild.cache import HomeCache

KEY = "0123456789abcdef0123456789abcdef"


def _manifest(home: Path) -> dict:
    return {"home": str(home), "ids": ["t0"], "turn_ids": [["u0"]], "build_s": 0.5}


def _build(home: Path) -> dict:
    (home / "sessions").mkdir()
    (home / "sessions" / "rollout.jsonl").write_text('{"type":"session_meta"}\n')
    (home / "state_5.sqlite").write_bytes(b"x" * 100)
    return _manifest(home)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid  # reaped: no process has this id now (reuse within the test is vanishingly unlikely)


def test_clear_removes_only_what_the_cache_wrote(tmp_path: Path) -> None:
    root = tmp_path / "homes"
    cache = HomeCache(root)
    cache.get_or_build(KEY, _build)
    (root / "notes.txt").write_text("mine")
    (root / "photos").mkdir()
    (root / "photos" / "a.jpg").write_bytes(b"jpg")
    cache.clear()
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt", "photos"]
    assert (root / "photos" / "a.jpg").read_bytes() == b"jpg"
    assert cache.entries() == []


def test_clear_of_a_cache_root_holding_only_entries_removes_the_root(tmp_path: Path) -> None:
    cache = HomeCache(tmp_path / "homes")
    cache.get_or_build(KEY, _build)
    cache.clear()
    assert not (tmp_path / "homes").exists()


def test_clear_leaves_a_live_build_alone(tmp_path: Path) -> None:
    from filelock import FileLock

    root = tmp_path / "homes"
    cache = HomeCache(root)
    cache.get_or_build(KEY, _build)
    other = "fedcba9876543210fedcba9876543210"
    live = root / f".build-{other}-{os.getpid()}-abc"  # this process, building `other` (its lock held)
    live.mkdir()
    with FileLock(str(root / f"{other}.lock")):
        cache.clear()
        assert live.is_dir() and (root / f"{other}.lock").exists()
    assert cache.entries() == []


@pytest.mark.parametrize("damage", ["home removed", "a file removed", "a file truncated", "mark removed"])
def test_an_entry_whose_home_is_not_whole_is_a_miss_and_rebuilt(tmp_path: Path, damage: str) -> None:
    cache = HomeCache(tmp_path / "homes")
    entry, _, built = cache.get_or_build(KEY, _build)
    assert built
    home = entry / "home"
    if damage == "home removed":
        import shutil

        shutil.rmtree(home)
    elif damage == "a file removed":
        (home / "sessions" / "rollout.jsonl").unlink()
    elif damage == "a file truncated":
        (home / "state_5.sqlite").write_bytes(b"x")
    else:
        next(p for p in entry.iterdir() if p.name not in ("home", "manifest.json")).unlink()
    assert cache.lookup(KEY) is None
    rebuilt = []
    entry, manifest, built = cache.get_or_build(KEY, lambda h: rebuilt.append(1) or _build(h))
    assert built and rebuilt == [1] and manifest["ids"] == ["t0"]
    assert (entry / "home" / "state_5.sqlite").stat().st_size == 100


@pytest.mark.parametrize("manifest", [[], "text", {"home": 1, "ids": ["t0"], "turn_ids": [[]]},
                                      {"home": "/x", "ids": "t0", "turn_ids": [[]]},
                                      {"home": "/x", "ids": ["t0"], "turn_ids": [3]},
                                      {"home": "/x", "ids": ["t0"]}])
def test_a_wrong_shape_manifest_is_a_miss(tmp_path: Path, manifest: object) -> None:
    cache = HomeCache(tmp_path / "homes")
    entry, _, _ = cache.get_or_build(KEY, _build)
    (entry / "manifest.json").write_text(json.dumps(manifest))
    assert cache.lookup(KEY) is None
    _, found, built = cache.get_or_build(KEY, _build)
    assert built and found["ids"] == ["t0"]


def test_scratch_of_a_dead_build_is_swept_by_the_next_build_and_by_listing(tmp_path: Path) -> None:
    root = tmp_path / "homes"
    cache = HomeCache(root)
    root.mkdir()
    dead = root / f".build-{KEY}-{_dead_pid()}-abc123"
    (dead / "home" / "sessions").mkdir(parents=True)
    (dead / "home" / "sessions" / "big.jsonl").write_text("x" * 1000)
    live = root / f".build-{KEY}-{os.getpid()}-def456"  # this process is alive: its scratch stays
    (live / "home").mkdir(parents=True)
    cache.get_or_build("fedcba9876543210fedcba9876543210", _build)
    assert not dead.exists() and live.exists()
    dead2 = root / f".build-{KEY}-{_dead_pid()}-zzz"
    dead2.mkdir()
    assert cache.sweep() == [dead2]
    assert not dead2.exists() and live.exists()


def test_a_killed_build_leaves_scratch_that_the_next_build_sweeps(tmp_path: Path) -> None:
    root = tmp_path / "homes"
    code = ("import os, sys, signal\nfrom pathlib import Path\nfrom codex_fixtures.homebuild.cache import HomeCache\n"
            "def build(home):\n    (home / 'x').write_text('half')\n    os.kill(os.getpid(), signal.SIGKILL)\n"
            f"HomeCache(Path(sys.argv[1])).get_or_build({KEY!r}, build)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(root)], timeout=60, check=False)
    assert proc.returncode == -9
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-")]
    HomeCache(root).get_or_build(KEY, _build)
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-")] == []


def test_cache_cli_prune_homes_keeps_foreign_files_and_list_sweeps_dead_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from codex_fixtures.homebuild.cache import CACHE_ENV
    from codex_fixtures.repro.cli import main

    root = tmp_path / "homes"
    monkeypatch.setenv(CACHE_ENV, str(root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    HomeCache(root).get_or_build(KEY, _build)
    dead = root / f".build-{KEY}-{_dead_pid()}-abc"
    dead.mkdir()
    (root / "keep.txt").write_text("not the cache's")
    assert main(["cache", "list"]) == 0
    out, err = capsys.readouterr()
    assert not dead.exists() and "removed 1 scratch dir(s) of home builds that died" in err
    assert "built homes (build_home, replay): 1," in out
    assert main(["cache", "prune", "--homes"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("1 built home(s) removed")
    assert sorted(p.name for p in root.iterdir()) == ["keep.txt"]
