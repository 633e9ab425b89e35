"""The driver's bounds: timeouts are checked, a line is capped, params the app-server would drop are refused."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, JSONRPCResponse, ProtocolError
from codex_fixtures.appserver.driver import DEFAULT_MAX_LINE_BYTES
from codex_fixtures.appserver.jsonrpc import MAX_WIRE_DEPTH, encode_message
from codex_fixtures.errors import check_timeout

BAD_TIMEOUTS = [math.nan, math.inf, -math.inf, 1e10, -1.0, 0, "5", True]


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("value", BAD_TIMEOUTS, ids=repr)
def test_check_timeout_refuses_in_one_line(value):
    with pytest.raises(ValueError) as info:
        check_timeout(value, "timeout")
    assert "\n" not in str(info.value) and "timeout" in str(info.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("value", BAD_TIMEOUTS, ids=repr)
def test_every_wait_refuses_a_bad_timeout_at_once(fake_home, fake_peer_bin, value):
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "silent"}) as app:
        app.initialize(timeout=5)
        rid = app.send_request("thread/list", {})
        for wait in (lambda: app.read_stream_until_response_message(rid, timeout=value),
                     lambda: app.read_stream_until_notification_message("x", timeout=value),
                     lambda: app.read_next_message(value),
                     lambda: app.request("thread/list", {}, value),
                     lambda: app.assert_no_message(lambda m: True, within=value)):
            with pytest.raises(ValueError, match="must be") as info:
                wait()
            assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e10, 0, -3])
def test_a_bad_default_timeout_is_refused_before_anything_starts(fake_home, fake_peer_bin, value):
    with pytest.raises(ValueError, match="default_timeout must be"):
        AppServerProcess(fake_home, codex_bin=fake_peer_bin, default_timeout=value)


def test_the_line_cap_defaults_to_64_mib_and_must_be_positive(fake_home, fake_peer_bin):
    assert DEFAULT_MAX_LINE_BYTES == 64 * 1024 * 1024
    with pytest.raises(ValueError, match="max_line_bytes"):
        AppServerProcess(fake_home, codex_bin=fake_peer_bin, max_line_bytes=0)


@pytest.mark.timeout(60)
def test_a_peer_flooding_without_newline_fails_the_waiter_and_memory_stays_bounded(fake_home, fake_peer_bin):
    """80 MiB without a newline under a 1 MiB cap: ProtocolError, then the stream recovers; peak memory stays small."""
    cap = 1 << 20
    tracemalloc.start()
    try:
        with AppServerProcess(fake_home, codex_bin=fake_peer_bin, max_line_bytes=cap,
                              env={"FAKE_PEER_MODE": "flood", "FAKE_PEER_FLOOD_BYTES": str(80 << 20)}) as app:
            app.initialize(timeout=10)
            rid = app.send_request("thread/list", {"n": 1})
            with pytest.raises(ProtocolError, match=f"longer than max_line_bytes={cap} without a newline") as info:
                app.read_stream_until_response_message(rid, timeout=50)
            assert "\n" not in info.value.summary
            answer = app.read_stream_until_response_message(rid, timeout=50)  # after the newline, reading resumes
            assert answer.result == {"method": "thread/list", "params": {"n": 1}}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * cap, f"peak traced memory {peak / 2**20:.1f} MiB while a 80 MiB line streamed in"


def test_lines_split_across_reads_and_many_lines_in_one_read_all_arrive(fake_home, fake_peer_bin):
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "ok"}, max_line_bytes=300_000) as app:
        app.initialize(timeout=5)
        big = "y" * 200_000  # longer than one read, shorter than the cap
        ids = [app.send_request("echo", {"text": big if i % 2 else str(i)}) for i in range(20)]
        for i, rid in enumerate(ids):
            assert app.read_stream_until_response_message(rid, timeout=10).result["params"]["text"] == (big if i % 2 else str(i))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": math.nan}, "thread/list: cannot send params.limit = nan: JSON has no NaN or Infinity"),
        ({"a": [1, {"b": -math.inf}]}, "params.a[1].b = -inf"),
        ({"cursor": "ab\ud800cd"}, "params.cursor = 'ab\\ud800cd': a lone surrogate at index 2"),
        ({"\udc00": 1}, "(a key)"),
        ({"x": nested(MAX_WIRE_DEPTH - 1)}, f"nested deeper than {MAX_WIRE_DEPTH} levels"),
        ({"x": nested(200_000)}, f"nested deeper than {MAX_WIRE_DEPTH} levels"),
    ],
    ids=["nan", "inf", "surrogate", "surrogate-key", "depth-128", "depth-200000"],
)
def test_params_the_app_server_would_drop_are_refused_in_one_line(fake_home, fake_peer_bin, params, expected):
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "ok"}) as app:
        app.initialize(timeout=5)
        with pytest.raises(ValueError) as info:
            app.send_request("thread/list", params)
        assert expected in str(info.value) and "\n" not in str(info.value)
        rid = app.send_request("thread/list", {"limit": 1})  # the process is untouched and still answers
        assert app.read_stream_until_response_message(rid, timeout=5).result["params"] == {"limit": 1}


def test_the_deepest_params_the_app_server_parses_are_sent_and_non_ascii_goes_as_utf8():
    ok = encode_message({"id": 1, "method": "m", "params": {"x": nested(MAX_WIRE_DEPTH - 2), "t": "h\u00e9 \U0001F600"}})
    assert ok.endswith(b'"t":"h\xc3\xa9 \xf0\x9f\x98\x80"}}')


@pytest.mark.codex_binary
def test_the_binary_drops_what_is_refused_and_parses_depth_127(codex_app_server):
    """Calibration: NaN, a lone surrogate and depth 128 get no answer from the binary; depth 127 does."""
    app = codex_app_server
    deep = "[" * (MAX_WIRE_DEPTH - 2) + "]" * (MAX_WIRE_DEPTH - 2)  # message object + params object + arrays = 127
    too_deep = "[" * (MAX_WIRE_DEPTH - 1) + "]" * (MAX_WIRE_DEPTH - 1)
    app.write_raw_line('{"id":9001,"method":"thread/list","params":{"limit":NaN}}')
    app.write_raw_line('{"id":9002,"method":"thread/list","params":{"cursor":"\\ud800"}}')
    app.write_raw_line('{"id":9003,"method":"thread/list","params":{"x":%s}}' % too_deep)
    app.write_raw_line('{"id":9004,"method":"thread/list","params":{"x":%s}}' % deep)
    assert isinstance(app.read_stream_until_response_or_error(9004, timeout=10), JSONRPCResponse)
    app.assert_no_message(lambda m: getattr(m, "id", None) in (9001, 9002, 9003), within=0.5, what="answer to a bad line")
    assert app.stderr_tail(200).count("Failed to deserialize JSONRPCMessage") >= 3


def test_check_timeout_passes_good_values_through():
    assert check_timeout(5) == 5.0 and check_timeout(0.25, "x") == 0.25


def test_write_path_keeps_type_errors_for_unserialisable_params(fake_home: Path, fake_peer_bin: Path):
    with AppServerProcess(fake_home, codex_bin=fake_peer_bin, env={"FAKE_PEER_MODE": "ok"}) as app:
        with pytest.raises(TypeError, match="not JSON-serialisable"):
            app.send_request("thread/list", {"x": object()})


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e10, -1])
def test_mock_waits_refuse_a_bad_timeout(value):
    from codex_fixtures import Gate, ResponsesScript

    with pytest.raises(ValueError, match="timeout must be"):
        ResponsesScript().wait_for_requests(1, timeout=value)
    with pytest.raises(ValueError, match="timeout must be"):
        Gate().wait_reached(value)
    assert Gate().wait_reached(0) is False  # 0 is a poll there


@pytest.mark.timeout(60)
def test_stderr_without_newline_is_read_in_bounded_chunks_and_cut_to_a_marker(fake_home, fake_peer_bin, monkeypatch):
    """Issue 18, 7: stderr was read with an unbounded readline() (300 MiB without a newline grew memory by 305 MiB)."""
    from codex_fixtures.appserver import driver

    cap = 64 * 1024
    monkeypatch.setattr(driver, "MAX_STDERR_LINE_BYTES", cap)
    assert driver.MAX_STDERR_LINE_BYTES == cap
    tracemalloc.start()
    try:
        with AppServerProcess(fake_home, codex_bin=fake_peer_bin,
                              env={"FAKE_PEER_MODE": "stderr-flood", "FAKE_PEER_FLOOD_BYTES": str(16 << 20)}) as app:
            app.initialize(timeout=30)  # the flood comes before the answer: reading it must not stall the peer
            assert app.request("thread/list", {"n": 2}, 30) == {"method": "thread/list", "params": {"n": 2}}
            app.close()
            tail = app.stderr_tail(10).splitlines()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tail[-1] == "after-the-flood"
    assert tail[-2].startswith(f"[stderr line over MAX_STDERR_LINE_BYTES={cap} bytes dropped] eeee")
    assert max(map(len, tail)) < 400
    assert peak < 4 * (1 << 20), f"peak traced memory {peak / 2**20:.1f} MiB while 2 x 16 MiB of stderr streamed in"


def test_the_stderr_line_cap_defaults_to_1_mib():
    from codex_fixtures.appserver.driver import MAX_STDERR_LINE_BYTES

    assert MAX_STDERR_LINE_BYTES == 1 << 20
