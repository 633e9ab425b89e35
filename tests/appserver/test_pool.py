"""``WarmPool`` and ``pool_size`` without a binary: objects go only to the tag and key they were built for."""

from __future__ import annotations

import threading

import pytest
from codex_fixtures.appserver import pool as pool_mod
from codex_fixtures.appserver.pool import WarmPool, pool_size


class Thing:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()


def test_a_built_object_goes_to_its_tag_and_key_only() -> None:
    pool = WarmPool(1)
    made: list[Thing] = []
    assert pool.prepare("t1", ("k", 1), lambda: made.append(Thing("a")) or made[-1])
    assert not pool.prepare("t2", ("k", 1), lambda: Thing("b"))  # full: one ahead
    assert pool.take("t2", ("k", 1)) is None  # not built for t2
    got = pool.take("t1", ("k", 1))
    assert got is made[0] and not got.closed.is_set()
    assert pool.take("t1", ("k", 1)) is None  # taken once
    pool.shutdown()
    assert not got.closed.is_set()  # a taken object is the taker's to close


def test_a_key_mismatch_closes_the_object_and_returns_none() -> None:
    pool = WarmPool(1)
    thing = Thing("a")
    pool.prepare("t1", "marker A", lambda: thing)
    assert pool.take("t1", "marker B") is None
    pool.shutdown()
    assert thing.closed.is_set()
    assert pool.stats["missed"] == 1 and pool.stats["discarded"] == 1


def test_a_failed_build_is_a_miss() -> None:
    pool = WarmPool(1)

    def boom() -> Thing:
        raise RuntimeError("no binary")

    pool.prepare("t1", "k", boom)
    assert pool.take("t1", "k") is None
    assert isinstance(pool.last_error, RuntimeError)
    pool.shutdown()


def test_take_waits_for_a_build_in_flight() -> None:
    pool = WarmPool(1)
    release = threading.Event()
    thing = Thing("slow")

    def slow() -> Thing:
        release.wait(10)
        return thing

    pool.prepare("t1", "k", slow)
    threading.Timer(0.05, release.set).start()
    assert pool.take("t1", "k", timeout=10) is thing
    pool.shutdown()


def test_shutdown_closes_what_was_never_taken_and_discard_others_keeps_the_current() -> None:
    pool = WarmPool(1)
    kept, dropped = Thing("kept"), Thing("dropped")
    pool.prepare("t1", "k", lambda: kept)
    pool.discard_others(keep="t1")
    assert pool.take("t1", "k") is kept
    pool.prepare("t2", "k", lambda: dropped)
    pool.discard_others(keep="t3")  # t3 runs, not t2: t2's server goes
    pool.shutdown()
    assert dropped.closed.is_set() and not kept.closed.is_set()
    assert not pool.prepare("t4", "k", lambda: Thing("late"))  # shut: nothing more is built


def test_retire_runs_off_the_caller_thread_and_at_once_after_shutdown() -> None:
    pool = WarmPool(1)
    seen: list[tuple[str, str]] = []
    pool.retire(lambda: seen.append(("a", threading.current_thread().name)))
    pool.retire(lambda: seen.append(("b", threading.current_thread().name)))
    pool.shutdown()
    assert sorted(s[0] for s in seen) == ["a", "b"] and all(s[1] == "codex-pool-closer" for s in seen)
    pool.retire(lambda: seen.append(("c", threading.current_thread().name)))
    assert seen[-1] == ("c", threading.current_thread().name)


def test_a_long_backlog_closes_on_the_callers_path() -> None:
    pool = WarmPool(1)
    release = threading.Event()
    busy = [threading.Event(), threading.Event()]
    names: list[str] = []
    for started in busy:  # both closing threads held in a close
        pool.retire(lambda started=started: (started.set(), release.wait(10)))
    assert all(e.wait(10) for e in busy)
    for _ in range(pool_mod._BACKLOG):  # the backlog fills up
        pool.retire(lambda: names.append(threading.current_thread().name))
    pool.retire(lambda: names.append(threading.current_thread().name))
    assert names == [threading.current_thread().name]  # the next close ran on the caller's path
    release.set()
    pool.shutdown()
    assert len(names) == 1 + pool_mod._BACKLOG


def test_size_zero_never_builds() -> None:
    pool = WarmPool(0)
    assert not pool.prepare("t1", "k", lambda: Thing("x"))
    pool.shutdown()


@pytest.mark.parametrize(("setting", "cores", "size"), [
    ("auto", 2, 1), ("auto", 1, 0), (None, 4, 1), ("on", 1, 1), ("1", 1, 1), ("off", 8, 0), ("0", 8, 0), ("OFF", 2, 0),
])
def test_pool_size(monkeypatch: pytest.MonkeyPatch, setting: str | None, cores: int, size: int) -> None:
    monkeypatch.setattr(pool_mod, "usable_cores", lambda: cores)
    assert pool_size(setting) == size


def test_pool_size_refuses_other_words_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"^--codex-pool / \$CODEX_POOL: expected one of auto, on, off, got 'maybe'$"):
        pool_size("maybe")
