"""The home cache: a second build of one key is a copy; concurrent builds build once; a failed build leaves nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from codex_fixtures import HomeSpec, build_home
from codex_fixtures.homebuild.cache import HomeCache


def test_a_build_that_fails_half_way_leaves_no_entry_and_no_scratch(tmp_path: Path) -> None:
    cache = HomeCache(tmp_path / "cache")

    def half(home: Path) -> dict:
        (home / "sessions").mkdir()
        (home / "sessions" / "partial.jsonl").write_text("{}\n")
        raise RuntimeError("the binary died")

    with pytest.raises(RuntimeError, match="the binary died"):
        cache.get_or_build("k1", half)
    assert cache.entries() == []
    assert [p.name for p in cache.root.iterdir() if not p.name.endswith(".lock")] == []
    entry, manifest, built = cache.get_or_build("k1", lambda home: {"home": str(home), "ids": [], "turn_ids": []})
    assert built and cache.entries() == ["k1"] and manifest["ids"] == []
    assert cache.get_or_build("k1", lambda home: pytest.fail("built twice"))[2] is False


_WORKER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from codex_fixtures import HomeSpec, build_home
    from codex_fixtures.homebuild.cache import HomeCache
    spec = HomeSpec()
    spec.thread(turns=[("hi", "hello")], name="shared")
    built = build_home(spec, Path(sys.argv[2]), codex_bin=sys.argv[3] or None, cache=HomeCache(Path(sys.argv[1])))
    print(json.dumps({"from_cache": built.from_cache, "ids": list(built.thread_ids)}))
""")


@pytest.mark.codex_binary
def test_concurrent_builds_of_one_key_build_once_and_the_next_is_a_copy(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    codex_bin = request.config.getoption("--codex-bin") or ""
    cache = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(cache), str(tmp_path / f"home{i}"), codex_bin],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["from_cache"] for r in results) == [False, True, True]  # one build, two copies
    assert len({tuple(r["ids"]) for r in results}) == 1
    assert len(HomeCache(cache).entries()) == 1
    spec = HomeSpec()
    spec.thread(turns=[("hi", "hello")], name="shared")
    again = build_home(spec, tmp_path / "again", codex_bin=codex_bin or None, cache=HomeCache(cache))
    assert again.from_cache and again.thread_ids == tuple(results[0]["ids"])
    for i in range(3):  # every copy says its own path
        state = (tmp_path / f"home{i}" / "state_5.sqlite")
        if state.exists():
            import sqlite3

            with sqlite3.connect(state) as con:
                paths = [r[0] for r in con.execute("SELECT rollout_path FROM threads")]
            assert paths and all(p.startswith(str(tmp_path / f"home{i}")) for p in paths)


def test_build_home_refuses_a_non_empty_target_and_a_non_spec(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(ValueError, match="is not an empty directory"):
        build_home(HomeSpec(), tmp_path / "full", cache=HomeCache(tmp_path / "cache"))
    with pytest.raises(ValueError, match="build_home takes a HomeSpec, not dict"):
        build_home({}, cache=HomeCache(tmp_path / "cache"))  # type: ignore[arg-type]


@pytest.mark.codex_binary
def test_a_real_build_that_fails_half_way_leaves_nothing_and_names_the_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                              request: pytest.FixtureRequest) -> None:
    from codex_fixtures.homebuild import drive
    from codex_fixtures.homebuild.drive import HomeBuildError

    real_run_turn = drive._run_turn

    def second_thread_fails(app, server, thread, thread_id, n, turn):  # the binary has written thread 0 by now
        if thread.index == 1:
            raise HomeBuildError(f"{thread.label}: turn {n} ended 'failed': injected")
        return real_run_turn(app, server, thread, thread_id, n, turn)

    monkeypatch.setattr(drive, "_run_turn", second_thread_fails)
    spec = HomeSpec()
    spec.thread(turns=[("hi", "hello")])
    spec.thread(turns=[("second", "never")], name="second")
    cache = HomeCache(tmp_path / "cache")
    with pytest.raises(HomeBuildError, match=r"^thread 1 'second': turn 0 ended 'failed': injected$"):
        build_home(spec, tmp_path / "home", codex_bin=request.config.getoption("--codex-bin") or None, cache=cache)
    assert cache.entries() == []
    assert [p.name for p in cache.root.iterdir() if not p.name.endswith(".lock")] == []
    assert not (tmp_path / "home").exists()


def test_a_cwd_that_is_not_a_directory_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from codex_fixtures.homebuild.drive import HomeBuildError

    spec = HomeSpec()
    spec.thread(turns=[("hi", "hello")], cwd=str(tmp_path / "missing"), name="work")
    with pytest.raises(HomeBuildError, match=r"^thread 0 'work': cwd .*missing is not a directory$"):
        build_home(spec, cache=HomeCache(tmp_path / "cache"))
    assert not (tmp_path / "cache").exists()


def test_a_ref_declared_after_the_build_is_refused(tmp_path: Path) -> None:
    from codex_fixtures import BuiltHome
    from codex_fixtures.homebuild.spec import HomeSpecError

    spec = HomeSpec()
    first = spec.thread()
    built = BuiltHome(path=tmp_path, spec=spec, codex_bin=tmp_path, thread_ids=("t0",), turn_ids=((),), from_cache=False,
                      build_s=0.0, copy_s=0.0)
    later = spec.thread()
    assert built.id(first) == "t0"
    with pytest.raises(HomeSpecError, match="thread 1: declared after this home was built"):
        built.id(later)
    with pytest.raises(HomeSpecError, match="not a thread of this HomeSpec"):
        built.id(HomeSpec().thread())


def test_no_copy_shares_a_file_with_the_cache_or_another_copy(tmp_path: Path) -> None:
    """Issue 18.6 for built homes: a skill edited in one home changes neither the cache entry nor the next copy."""
    from codex_fixtures.homebuild.cache import copy_home

    src = tmp_path / "entry"
    (src / "skills" / ".system" / "imagegen").mkdir(parents=True)
    skill = src / "skills" / ".system" / "imagegen" / "SKILL.md"
    skill.write_text("# imagegen\n")
    (src / "sessions").mkdir()
    rollout = src / "sessions" / "rollout.jsonl"
    rollout.write_text("{}\n")
    import os

    os.utime(rollout, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    (src / "installation_id").write_text("11111111-1111-4111-8111-111111111111")
    copy_home(src, tmp_path / "one")
    copy_home(src, tmp_path / "two")
    edited = tmp_path / "one" / "skills" / ".system" / "imagegen" / "SKILL.md"
    edited.write_text("# changed by one home\n")
    assert skill.read_text() == "# imagegen\n"
    assert (tmp_path / "two" / "skills" / ".system" / "imagegen" / "SKILL.md").read_text() == "# imagegen\n"
    for home in ("one", "two"):
        files = [p for p in (tmp_path / home).rglob("*") if p.is_file()]
        assert files and all(p.stat().st_nlink == 1 for p in files)
        assert (tmp_path / home / "sessions" / "rollout.jsonl").stat().st_mtime_ns == 1_700_000_000_000_000_000
    ids = {(tmp_path / h / "installation_id").read_text() for h in ("one", "two")} | {(src / "installation_id").read_text()}
    assert len(ids) == 3
