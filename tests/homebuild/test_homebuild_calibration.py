"""Calibration: a home ``build_home`` wrote is, to the binary and file by file, the home a direct drive writes.

One spec: a named two-turn thread with token usage, a tool-call thread (on-request,
approved, with the model's justification and usage), a fork of the named thread
with a turn of its own, and a thread archived at a time. The same threads are
driven by hand (plain ``AppServerProcess`` calls, the same mock replies), and the
home is then built from the spec *with the direct drive's own times* (each step's
first moment the binary wrote: :func:`~codex_fixtures.homebuild.clock_home.first_writes`).
Compared:

* through the binary: ``thread/list`` (active and archived), ``thread/read
  {includeTurns}``, ``thread/turns/list``, resume + a new turn, names (ids and
  times masked), and the seconds it serves (``createdAt``, a turn's ``startedAt``);
* file by file: rollout names and date folders, record kinds, every record time a
  spec gives equal to the millisecond, every other record time on the same side
  of every given time, timestamps never decreasing, token records equal, reply ids
  unique; the state database's times and token counts.

On the bundled binary in the suite; ``--codex-bin=`` runs it on any other. On
today's main the built home's reply ids repeat (``msg-1``), its token counts are 0
and its times keep the build's sub-second part: these tests fail there.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexBinary,
    CodexHome,
    HomeSpec,
    MockResponsesServer,
    SpecCommand,
    SpecTurn,
    build_home,
    read_rollout,
)
from codex_fixtures.homebuild.cache import HomeCache
from codex_fixtures.homebuild.clock import Step, Timeline
from codex_fixtures.homebuild.clock_home import first_writes
from codex_fixtures.homebuild.drive import queue_turn, thread_params
from codex_fixtures.homebuild.spec import SpecThread
from homebuild_observe import answer, observe, rollout_of

pytestmark = pytest.mark.codex_binary

USAGE = {"input_tokens": 1200, "cached_input_tokens": 800, "output_tokens": 40, "reasoning_output_tokens": 8}


def calibration_spec(times: dict[tuple[int, int | None], datetime] | None = None,
                     archived_at: datetime | None = None) -> HomeSpec:
    """The spec; ``times``: (thread, turn or None for its start) -> time; ``archived_at``: thread 3's archive time."""
    t = times or {}
    spec = HomeSpec()
    notes = spec.thread(turns=[SpecTurn("hi", "hello", usage=USAGE, at=t.get((0, 0))),
                               SpecTurn("more", "sure", at=t.get((0, 1)))], name="notes", started_at=t.get((0, None)))
    spec.thread(turns=[SpecTurn("run it", "ran", commands=[SpecCommand("echo tool", "to show the tool")], usage=USAGE,
                                at=t.get((1, 0)))],
                approval_policy="on-request", sandbox="read-only", started_at=t.get((1, None)))
    spec.fork(notes, turns=[SpecTurn("in fork", "forked", at=t.get((2, 0)))], started_at=t.get((2, None)))
    spec.thread(turns=[SpecTurn("old one", "old", at=t.get((3, 0)))], archived=archived_at or True,
                started_at=t.get((3, None)))
    return spec


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def drive_directly(binary: CodexBinary, home: Path, server: MockResponsesServer,
                   cwd: str) -> tuple[list[str], Timeline, list]:
    """The spec's threads, driven by hand in ``cwd``; the ids, the steps (as the builder records them) and their keys."""
    spec = calibration_spec()
    timeline, keys, ids = Timeline(), [], []
    start = _now_ms()
    with AppServerProcess(home, codex_bin=binary.path, approvals="accept") as app:
        app.initialize()
        for thread in spec.threads:
            real = _now_ms()
            params = thread_params(thread, cwd)
            if thread.parent is None:
                tid = app.request("thread/start", params)["thread"]["id"]
            else:
                tid = app.request("thread/fork", {"threadId": ids[thread.parent], **params})["thread"]["id"]
                timeline.parents[tid] = (ids[thread.parent], real)
            ids.append(tid)
            timeline.add(Step(real, tid))
            keys.append((thread.index, None))
            for n, turn in enumerate(thread.turns):
                real, missing = _now_ms(), []
                queue_turn(server, thread, n, turn, missing)
                done = app.run_turn(tid, turn.prompt, 60)
                assert done["status"] == "completed" and not missing
                timeline.add(Step(real, tid, str(done["id"])))
                keys.append((thread.index, n))
            if thread.name:
                timeline.add(Step(_now_ms(), tid))
                keys.append((thread.index, "name"))
                app.request("thread/name/set", {"threadId": tid, "name": thread.name})
        archived: SpecThread = spec.threads[3]
        timeline.add(Step(_now_ms(), ids[3]))
        keys.append((archived.index, "archive"))
        app.request("thread/archive", {"threadId": ids[3]})
    timeline.window_ms = (start - 2000, _now_ms() + 2000)
    return ids, timeline, keys


def _ms(when: str) -> int:
    return int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() * 1000)


def served_seconds(binary: CodexBinary, home: Path, ids: list[str]) -> dict[str, Any]:
    """The seconds the binary serves: createdAt of each thread, startedAt of each turn."""
    with AppServerProcess(home, codex_bin=binary.path) as app:
        app.initialize()
        listed = app.request("thread/list", {})["data"] + app.request("thread/list", {"archived": True})["data"]
        created = {t["id"]: t["createdAt"] for t in listed}
        turns = []
        for tid in ids:
            read = answer(app, "thread/read", {"threadId": tid, "includeTurns": True}, "thread")
            turns.append([t.get("startedAt") for t in read["turns"]] if "turns" in read
                         else read["error"].replace(tid, "<id>"))  # what a binary refuses (0.101: an archived thread)
    return {"created": [created.get(tid) for tid in ids], "turn_starts": turns}


def stamped_second(served: dict[str, Any], key: tuple[int, int | str | None]) -> int | None:
    """The second the binary serves for step ``key`` (a thread's ``createdAt``, a turn's ``startedAt``), if it has one.

    The binary takes that second before it writes the step's first record: when a second
    ends in between, the first write is in the next one. The direct drive's time for the
    step is then the last millisecond of the served second (else the built home, whose
    whole seconds are those of its given times, would serve one second later).
    """
    thread, turn = key
    if turn is None:
        second = served["created"][thread]
    elif isinstance(turn, int):
        starts = served["turn_starts"][thread]  # a fork's list begins with its parent's turns
        own = len(calibration_spec().threads[thread].turns)
        second = starts[len(starts) - own + turn] if isinstance(starts, list) and len(starts) >= own else None
    else:
        return None
    return second if isinstance(second, int) else None


def state_rows(home: Path, ids: list[str]) -> list[dict[str, Any]]:
    dbs = sorted(home.glob("state_*.sqlite"))
    if not dbs:
        return []
    with sqlite3.connect(dbs[-1]) as con:
        con.row_factory = sqlite3.Row
        rows = {r["id"]: dict(r) for r in con.execute("SELECT * FROM threads")}
    keep = ("created_at", "archived", "archived_at", "tokens_used")
    return [{k: rows[tid].get(k) for k in keep if k in rows[tid]} for tid in ids]


@pytest.fixture(scope="module")
def calibrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from codex_fixtures import codex_binary_info, resolve_codex_bin

    binary = codex_binary_info(resolve_codex_bin(option=request.config.getoption("--codex-bin") or None))
    tmp = tmp_path_factory.mktemp("calibration")
    cwd = tmp / "cwd"
    cwd.mkdir(mode=0o700)
    with MockResponsesServer() as server, CodexHome(server, path=tmp / "direct", fresh=True) as home:
        direct_ids, timeline, keys = drive_directly(binary, home.path, server, str(cwd))
        firsts = first_writes(home.path, timeline)
        direct_seconds = served_seconds(binary, home.path, direct_ids)  # before observe() adds a turn
        given: dict[Any, datetime] = {}
        for k, key in enumerate(keys):
            ms = firsts.get(k, timeline.steps[k].real_ms)
            second = stamped_second(direct_seconds, key)
            if second is not None:  # the binary stamped the step's second before its first write: the same second
                ms = min(ms, second * 1000 + 999)
            given[key] = datetime.fromtimestamp(ms / 1000, UTC)
        archived = [row.get("archived_at") for row in state_rows(home.path, direct_ids)[3:]]
        if archived and isinstance(archived[0], int):  # the second the binary stamped the archive with (it has no ms)
            given[(3, "archive")] = max(given[(3, "archive")], datetime.fromtimestamp(archived[0], UTC))
        times = {key: when for key, when in given.items() if key[1] is None or isinstance(key[1], int)}
        spec = calibration_spec(times, archived_at=given[(3, "archive")])
        seen_direct = observe(binary, home.path, direct_ids, server, cwd=str(cwd))
    with MockResponsesServer() as server:
        built = build_home(spec, tmp / "built", codex_bin=binary.path, server=server, cache=HomeCache(tmp / "cache"))
        built_ids = [built.id(ref) for ref in spec.refs()]
        built_seconds = served_seconds(binary, built.path, built_ids)
        seen_built = observe(binary, built.path, built_ids, server, cwd=built.cwd)
    given_ms = {key: round(when.timestamp() * 1000) for key, when in given.items() if key[1] != "name"}
    return {"binary": binary, "direct": (home.path, direct_ids, seen_direct, direct_seconds),
            "built": (built.path, built_ids, seen_built, built_seconds), "given_ms": given_ms}


def test_a_built_home_shows_what_a_directly_driven_home_shows(calibrated: dict[str, Any]) -> None:
    _, _, seen_direct, _ = calibrated["direct"]
    _, _, seen_built, _ = calibrated["built"]
    assert seen_built.keys() == seen_direct.keys()
    for key in seen_direct:
        assert seen_built[key] == seen_direct[key], key


def test_the_binary_serves_the_direct_drives_seconds(calibrated: dict[str, Any]) -> None:
    assert calibrated["built"][3] == calibrated["direct"][3]


def test_the_built_home_holds_what_the_spec_asked(calibrated: dict[str, Any]) -> None:
    binary: CodexBinary = calibrated["binary"]
    seen = calibrated["built"][2]
    listed = {t["id"]: t for t in seen["list"]}
    assert set(listed) == {"<id0>", "<id1>", "<id2>"}
    assert [t["id"] for t in seen["list_archived"]] == ["<id3>"]
    assert seen["read1"]["turns"][0]["status"] == "completed"
    if binary.version_tuple >= (0, 163, 0):  # command items, fork ids and names served on current binaries
        assert [i["type"] for t in seen["read1"]["turns"] for i in t["items"]] == ["userMessage", "commandExecution", "agentMessage"]
        assert seen["read1"]["turns"][0]["items"][1]["aggregatedOutput"] == "tool\n"
        assert seen["read2"]["forkedFromId"] == "<id0>"
        assert listed["<id0>"]["name"] == "notes"
        assert {"id": "<id0>", "thread_name": "notes", "updated_at": "<t>"} in seen["session_index"]
    assert seen["new_turn"]["status"] == "completed"


def _records(home: Path, tid: str) -> tuple[Path, list[dict[str, Any]]]:
    path = rollout_of(home, tid)
    return path, read_rollout(path)


def test_every_rollout_is_the_direct_one_file_by_file(calibrated: dict[str, Any]) -> None:
    """Names, folders, kinds; the given times to the millisecond; every other time on the same side of each."""
    direct_home, direct_ids, _, _ = calibrated["direct"]
    built_home, built_ids, _, _ = calibrated["built"]
    given = sorted(set(calibrated["given_ms"].values()))
    for index, (d_id, b_id) in enumerate(zip(direct_ids, built_ids, strict=True)):
        own = {ms for (thread, _), ms in calibrated["given_ms"].items() if thread == index}
        d_path, d_recs = _records(direct_home, d_id)
        b_path, b_recs = _records(built_home, b_id)
        assert str(b_path.relative_to(built_home)).replace(b_id, "<id>") == str(d_path.relative_to(direct_home)).replace(d_id, "<id>")
        assert [r.get("type") for r in b_recs] == [r.get("type") for r in d_recs]
        d_ts = [_ms(r["timestamp"]) for r in d_recs]
        b_ts = [_ms(r["timestamp"]) for r in b_recs]
        assert b_ts == sorted(b_ts), f"{b_path.name}: timestamps go back"
        for g in own:  # a step's first write is the time the spec gives, to the millisecond, in the same record
            at = [n for n, d in enumerate(d_ts) if d == g]
            assert not at or any(b_ts[n] == g for n in at), f"{b_path.name}: records {at} are not at the given {g}"
        for n, (d, b) in enumerate(zip(d_ts, b_ts, strict=True)):
            for g in given:  # never across a given time (a write in its millisecond may be either side)
                assert not (d < g < b or b < g < d), f"{b_path.name} record {n}: {b} is on the other side of {g} than {d}"
        d_meta, b_meta = d_recs[0]["payload"], b_recs[0]["payload"]
        if _ms(d_meta["timestamp"]) in given:
            assert b_meta["timestamp"] == d_meta["timestamp"]


def test_token_records_and_unique_reply_ids(calibrated: dict[str, Any]) -> None:
    direct_home, direct_ids, _, _ = calibrated["direct"]
    built_home, built_ids, _, _ = calibrated["built"]
    for d_id, b_id in zip(direct_ids, built_ids, strict=True):
        d_recs, b_recs = _records(direct_home, d_id)[1], _records(built_home, b_id)[1]

        def tokens(recs: list[dict[str, Any]]) -> list[Any]:
            return [r["payload"].get("info") for r in recs if r["payload"].get("type") == "token_count"]

        assert tokens(b_recs) == tokens(d_recs)
        ids = [r["payload"]["id"] for r in b_recs if r.get("type") == "response_item" and r["payload"].get("id")
               and r["payload"].get("role") == "assistant"]
        assert len(ids) == len(set(ids)), f"reply ids repeat: {ids}"
    calls = [json.loads(r["payload"]["arguments"]) for r in _records(built_home, built_ids[1])[1]
             if r["payload"].get("type") == "function_call"]
    assert [c.get("justification") for c in calls] == ["to show the tool"]  # the model's words, as the spec gives them
    assert any(info and info["total_token_usage"]["input_tokens"] == USAGE["input_tokens"]
               for info in (r["payload"].get("info") for r in _records(built_home, built_ids[0])[1]
                            if r["payload"].get("type") == "token_count"))


def test_the_state_database_holds_the_direct_times_and_tokens(calibrated: dict[str, Any]) -> None:
    direct_home, direct_ids, _, _ = calibrated["direct"]
    built_home, built_ids, _, _ = calibrated["built"]
    assert state_rows(built_home, built_ids) == state_rows(direct_home, direct_ids)
    index = built_home / "session_index.jsonl"
    if index.exists():
        entries = [json.loads(line) for line in index.read_text().splitlines()]
        given = max(calibrated["given_ms"][(0, 1)], calibrated["given_ms"][(0, 0)])
        assert all(_ms(e["updated_at"]) > given for e in entries if e["id"] == built_ids[0])  # named after its turns
