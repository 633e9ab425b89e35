"""Calibration: fake rollouts against what the binary under test writes for the same thread.

For the binary in use (bundled; ``--codex-bin`` for another) real turns run
against the mock, and fakes of the same turns are written with
``codex_version=<that binary>``. The fake's record kinds (``type``,
``payload.type``, item type) and field names must equal the real rollout's;
``thread/list`` and ``thread/read`` must not tell them apart. This is the
test that catches a codex release changing the format: recapture with
``python -m codex_fixtures.repro.capture_format --codex-bin NEW --out
fixtures/codex_fixtures/home/format_data``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    FakeTurn,
    create_fake_rollout,
    create_final_assistant_message_sse_response,
    ev_completed,
    ev_response_created,
    find_thread_path_by_id_str,
    read_rollout,
)
from codex_fixtures.home.rollout_formats import record_kind, resolve_format
from codex_fixtures.repro.capture_format import wait_for_finished_turns

pytestmark = pytest.mark.codex_binary

T = 20.0


def shape(records: list[dict]) -> list[tuple]:
    """Per record: its kind, its top-level keys and its payload's keys (the field names, not the values)."""
    return [(record_kind(r), sorted(r), sorted(r["payload"]) if isinstance(r.get("payload"), dict) else None) for r in records]


def item_types(thread: dict) -> list[tuple[str, list[str]]]:
    return [(t["status"], [i["type"] for i in t["items"]]) for t in thread["turns"]]


def fake_of(home: Path, real: list[dict], turns: list[FakeTurn], binary) -> list[dict]:
    """A fake of the real thread's turns in the same home (same cwd, same history mode); returns its records."""
    cwd = real[0]["payload"]["cwd"]
    tid = create_fake_rollout(home, turns=turns, cwd=cwd, codex_version=binary,
                              history_mode=real[0]["payload"].get("history_mode"))
    return read_rollout(find_thread_path_by_id_str(home, tid))


def read_both(app: AppServerProcess, ids: list[str]) -> list[list[tuple[str, list[str]]]]:
    return [item_types(app.request("thread/read", {"threadId": t, "includeTurns": True}, timeout=T)["thread"]) for t in ids]


def test_fake_one_turn_thread_is_indistinguishable_from_the_real_one(codex_app_server, codex_home, codex_responses,
                                                                      codex_binary, tmp_path):
    app, home = codex_app_server, codex_home
    codex_responses.enqueue(create_final_assistant_message_sse_response("Hi there"))
    real_id = app.start_thread(timeout=T)["id"]
    assert app.run_turn(real_id, "hello", timeout=T)["status"] == "completed"
    real = wait_for_finished_turns(home, real_id, 1, T)
    fake = fake_of(home, real, [FakeTurn("hello", "Hi there")], codex_binary)
    assert [record_kind(r) for r in fake] == [record_kind(r) for r in real]
    assert shape(fake) == shape(real)
    fake_id = fake[0]["payload"]["id"]
    live = read_both(app, [real_id])[0]
    assert live == [("completed", ["userMessage", "agentMessage"])]

    listed = {t["id"]: t for t in app.request("thread/list", {}, timeout=T)["data"]}
    assert listed[fake_id]["preview"] == listed[real_id]["preview"] == "hello"

    # Side by side in a fresh home (no history database), both not loaded: the binary reads them the same
    fresh = CodexHome(codex_responses, path=tmp_path / "fresh")
    for tid in (real_id, fake_id):
        src = find_thread_path_by_id_str(home, tid)
        dest = fresh.path / src.relative_to(home)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    with AppServerProcess(fresh.path, codex_bin=codex_binary.path) as other:
        other.initialize()
        listed = {t["id"]: t["preview"] for t in other.request("thread/list", {}, timeout=T)["data"]}
        assert listed == {real_id: "hello", fake_id: "hello"}
        before = read_both(other, [real_id, fake_id])
        assert before[0] == before[1]  # [] on 0.163+ (paginated history comes from the database), the turn on 0.101
        for tid in (real_id, fake_id):
            other.request("thread/resume", {"threadId": tid}, timeout=T)
        after = read_both(other, [real_id, fake_id])
        assert after == [live, live]


def test_fake_second_unanswered_and_aborted_turns_match_the_binary(codex_app_server, codex_home, codex_responses,
                                                                    codex_binary):
    from codex_fixtures import Gate, ev_assistant_message, ev_completed, ev_response_created

    app, home = codex_app_server, codex_home
    codex_responses.enqueue(create_final_assistant_message_sse_response("one"))
    codex_responses.enqueue(create_final_assistant_message_sse_response("two"))
    two = app.start_thread(timeout=T)["id"]
    app.run_turn(two, "first", timeout=T)
    app.run_turn(two, "second", timeout=T)
    real = wait_for_finished_turns(home, two, 2, T)
    assert shape(fake_of(home, real, [FakeTurn("first", "one"), FakeTurn("second", "two")], codex_binary)) == shape(real)

    codex_responses.enqueue([ev_response_created("r"), ev_completed("r")])  # the model answers nothing
    silent = app.start_thread(timeout=T)["id"]
    assert app.run_turn(silent, "anyone?", timeout=T)["status"] == "completed"
    real = wait_for_finished_turns(home, silent, 1, T)
    assert shape(fake_of(home, real, [FakeTurn("anyone?")], codex_binary)) == shape(real)

    gate = Gate(after=1)
    codex_responses.enqueue([ev_response_created("r"), ev_assistant_message("m", "never"), ev_completed("r")], gate=gate)
    held = app.start_thread(timeout=T)["id"]
    turn = app.request("turn/start", {"threadId": held, "input": [{"type": "text", "text": "wait"}]}, timeout=T)["turn"]
    try:
        assert gate.wait_reached(T), "the held model stream never reached the gate"
        done = app.interrupt_turn_and_wait_for_aborted(held, turn["id"], timeout=T)
    finally:
        gate.release()
    assert done.params["turn"]["status"] == "interrupted"
    real = wait_for_finished_turns(home, held, 1, T)
    fake = shape(fake_of(home, real, [FakeTurn("wait", aborted=True)], codex_binary))
    # The binary writes a rate-limit token_count before <turn_aborted> once it has read the stream's
    # headers; interrupted at once it may not have yet. The fake has it (what a longer turn shows).
    racy = [i for i, s in enumerate(fake) if s[0] == "event_msg/token_count" and i == len(fake) - 3]
    assert shape(real) in (fake, [s for i, s in enumerate(fake) if i not in racy])


def test_every_captured_format_is_complete():
    from codex_fixtures.home.rollout_formats import KNOWN_FORMATS

    assert {f.version.rsplit(".", 1)[0] for f in KNOWN_FORMATS.values()} >= {"0.101", "0.163", "0.171"}
    for fmt in KNOWN_FORMATS.values():
        assert resolve_format(fmt.version) is fmt
        for first in (True, False):
            for reply, ending in ((True, "complete"), (False, "complete"), (True, "open"), (False, "aborted")):
                kinds = [record_kind(r) for r in fmt.turn_template(first=first, reply=reply, ending=ending)]
                assert kinds[0 if fmt.key >= (0, 163) or not first else 3] == "event_msg/task_started", (fmt.version, first)
                assert kinds[-1] == {"complete": "event_msg/task_complete", "aborted": "event_msg/turn_aborted"}.get(
                    ending, kinds[-1]), (fmt.version, first, ending)


def skeleton(value):
    """The structure of a template: keys, nesting and placeholders; other scalars by type (machine values differ)."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    if isinstance(value, str):
        return value if value.startswith("<<") and value.endswith(">>") else "str"
    return type(value).__name__


def test_packaged_format_is_what_the_binary_writes_today(codex_binary):
    """Recapture (``capture_format``) and compare with the data in the package: a new binary fails here first."""
    from codex_fixtures.home.rollout_formats import KNOWN_FORMATS
    from codex_fixtures.repro.capture_format import capture_format

    packaged = KNOWN_FORMATS.get(codex_binary.version_tuple[:2])
    if packaged is None:
        pytest.skip(f"no rollout format packaged for codex {codex_binary.version}: capture one with "
                    f"python -m codex_fixtures.repro.capture_format --codex-bin {codex_binary.path} --out <package>/home/format_data")
    import json

    from codex_fixtures.home import rollout_formats

    data = json.loads((Path(rollout_formats.__file__).parent / "format_data" / f"{packaged.key[0]}.{packaged.key[1]}.json").read_text())
    fresh = capture_format(codex_binary.path, timeout=T, settle_s=0)  # no settling wait: the aborted tail may differ
    for name in ("two_turns", "no_reply"):
        assert skeleton(fresh["rollouts"][name]) == skeleton(data["rollouts"][name]), name
    aborted, want = skeleton(fresh["rollouts"]["aborted"]), skeleton(data["rollouts"]["aborted"])
    assert aborted in (want, [r for i, r in enumerate(want) if i != len(want) - 3]), "aborted"
    assert fresh["text_element_example"] == data["text_element_example"]
    if "legacy_rollouts" in data or "legacy_rollouts" in fresh:  # what the binary writes for a legacy-history thread
        for name in ("two_turns", "no_reply"):
            assert skeleton(fresh["legacy_rollouts"][name]) == skeleton(data["legacy_rollouts"][name]), f"legacy {name}"


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def served(app: AppServerProcess, tid: str, binary) -> dict:
    """What the binary serves of a thread (read with turns, every turns/list view, resume), ids and clock values masked."""
    read = app.request("thread/read", {"threadId": tid, "includeTurns": True}, timeout=T)["thread"]
    views = ("full", "summary", "notLoaded") if binary.has_method("thread/turns/list") else ()  # 0.101 has none
    pages = {view: app.request("thread/turns/list", {"threadId": tid, "itemsView": view, "sortDirection": "asc"},
                               timeout=T)["data"] for view in views}
    resumed = app.request("thread/resume", {"threadId": tid}, timeout=T)["thread"]
    text = json.dumps({"read": read["turns"], "list": pages, "resume": resumed["turns"], "mode": read.get("historyMode"),
                       "preview": read["preview"]}, sort_keys=True)
    text = _UUID.sub("<id>", text)
    text = re.sub(r'"(startedAt|completedAt|durationMs|startedAtMs|completedAtMs)": \d+', r'"\1": 0', text)
    return json.loads(re.sub(r'"id": "(item-\d+|msg[-_][0-9a-z]+)"', '"id": "<item>"', text))


def test_fake_is_served_like_the_thread_the_binary_wrote_for_the_same_turns(codex_home, codex_responses, codex_binary):
    """The default fake against a real thread of the same history mode, through what the binary serves.

    0.163+: a real thread started with ``historyMode: "legacy"``; 0.101 (no modes): a plain one. Same record
    kinds and keys, and the same turns, items, statuses, views and resume history (ids and times masked).
    """
    from codex_fixtures.home.rollout_formats import resolve_format

    modes = resolve_format(codex_binary).history_mode is not None
    turns = [FakeTurn("hello", "Hi there"), FakeTurn("say nothing"), FakeTurn("again", "Second reply")]
    for turn in turns:
        codex_responses.enqueue(create_final_assistant_message_sse_response(turn.assistant) if turn.assistant
                                else [ev_response_created("r"), ev_completed("r")])
    with AppServerProcess(codex_home, codex_bin=codex_binary.path) as app:
        app.initialize()
        real_id = app.start_thread({"historyMode": "legacy"} if modes else None, timeout=T)["id"]
        for turn in turns:
            assert app.run_turn(real_id, turn.user, timeout=T)["status"] == "completed"
        real = wait_for_finished_turns(codex_home, real_id, len(turns), T)
    fake = fake_of(codex_home, real, turns, codex_binary)
    assert shape(fake) == shape(real)
    with AppServerProcess(codex_home, codex_bin=codex_binary.path) as app:  # both not loaded: served from the home
        app.initialize()
        want, got = served(app, real_id, codex_binary), served(app, fake[0]["payload"]["id"], codex_binary)
    assert got == want
    assert [[i["type"] for i in t["items"]] for t in got["read"]] == [["userMessage", "agentMessage"], ["userMessage"],
                                                                      ["userMessage", "agentMessage"]]
    assert got["mode"] == ("legacy" if modes else None)


def test_paginated_fake_projected_by_the_binary_is_served_like_a_new_thread(codex_home, codex_responses, codex_binary):
    """``history_mode="paginated"`` (what a new thread writes): ``turns: []`` until the binary projects it.

    :func:`project_history` has the binary write its own history rows (one resume per thread); the
    fake is then served as a real new thread of the same turns (ids and clock values masked).
    """
    from codex_fixtures import project_history
    from codex_fixtures.home.rollout_formats import resolve_format

    if resolve_format(codex_binary).history_mode is None:
        pytest.skip(f"codex {codex_binary.version} has no paginated history")
    turns = [FakeTurn("hello", "Hi there"), FakeTurn("again", "Second reply")]
    for turn in turns:
        codex_responses.enqueue(create_final_assistant_message_sse_response(turn.assistant))
    with AppServerProcess(codex_home, codex_bin=codex_binary.path) as app:
        app.initialize()
        real_id = app.start_thread(timeout=T)["id"]
        for turn in turns:
            app.run_turn(real_id, turn.user, timeout=T)
        real = wait_for_finished_turns(codex_home, real_id, len(turns), T)
    fake = fake_of(codex_home, real, turns, codex_binary)
    fake_id, path = fake[0]["payload"]["id"], find_thread_path_by_id_str(codex_home, fake[0]["payload"]["id"])
    with AppServerProcess(codex_home, codex_bin=codex_binary.path) as app:
        app.initialize()
        assert app.request("thread/read", {"threadId": fake_id, "includeTurns": True}, timeout=T)["thread"]["turns"] == []
    mtime = path.stat().st_mtime
    assert project_history(codex_home, codex_bin=codex_binary.path) == [fake_id]  # the real thread is projected already
    assert path.stat().st_mtime == mtime and project_history(codex_home, codex_bin=codex_binary.path) == []
    with AppServerProcess(codex_home, codex_bin=codex_binary.path) as app:
        app.initialize()
        want, got = served(app, real_id, codex_binary), served(app, fake_id, codex_binary)
    assert got == want and got["mode"] == "paginated"
