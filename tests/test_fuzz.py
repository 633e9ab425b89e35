"""Bad input, fuzzed with hypothesis (bounded: ~50 examples each, no deadline).

* the mock Responses server, fed malformed HTTP through raw sockets, always
  answers with an HTTP error status, records a problem and keeps serving;
* the driver, fed malformed lines and partial writes by a fake app-server,
  raises a clear error (ProtocolError / AppServerTimeoutError /
  AppServerExitedError / JSONRPCRemoteError) or returns the answer, and never
  hangs past its timeout;
* the config writer, given random options, raises ConfigError (a ValueError)
  or writes a file that ``tomllib`` reads back equal to ``config_dict``.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from codex_fixtures import (
    AppServerExitedError,
    AppServerProcess,
    AppServerTimeoutError,
    ConfigError,
    JSONRPCRemoteError,
    JSONRPCResponse,
    MockResponsesServer,
    ProtocolError,
    config_contents,
    config_dict,
)
from codex_fixtures.mock.script import repeating_assistant
from conftest import peer_executable
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


# ====================================================================== HTTP
def _raw_exchange(server: MockResponsesServer, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` to the mock (its first `` /`` gets the secret path prefix) and read the whole answer."""
    data = data.replace(b" /", b" " + server.path_prefix.encode() + b"/", 1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer (and close) before reading everything
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                return out
            out += chunk
        return out


@pytest.fixture(scope="module")
def mock_server():
    with MockResponsesServer(repeating_assistant("still alive")) as server:
        yield server


_token = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
_junk_line = st.binary(min_size=1, max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")).filter(lambda b: b.strip())
_bad_json = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=100).map(lambda t: ("{" + t).encode()),
    st.sampled_from([b"", b"{", b"[1,", b'{"input": ', b"null" + b"]" * 3, b"\xff\xfe{}", b'{"a":1}{"b":2}']),
).filter(lambda b: not _is_json(b))


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _first_chunk_is_json(size: str, data: bytes) -> bool:
    """Whether a chunk header ``size`` over ``data`` makes the mock read valid JSON (size 3 over b"" reads b"\\r\\n0")."""
    try:
        n = int(size, 16)
    except ValueError:
        return False
    return n > 0 and _is_json((data + b"\r\n0\r\n\r\n")[:n])


def _post(body: bytes, *, length: str | None = None, extra: bytes = b"") -> bytes:
    cl = str(len(body)) if length is None else length
    return b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + cl.encode() + b"\r\n" + extra + b"\r\n" + body


_malformed_requests = st.one_of(
    # garbled request lines (one word, four words, binary noise, bad versions)
    _junk_line.map(lambda line: line + b"\r\n\r\n"),
    st.tuples(_token, _token, _token, _token).map(lambda w: " ".join(w).encode() + b"\r\n\r\n"),
    st.tuples(st.sampled_from(["GET", "POST", "PUT"]), _token).map(lambda w: f"{w[0]} /v1/responses HTTP/{w[1]}\r\n\r\n".encode()),
    # well-formed lines, bad headers
    st.tuples(_token, _junk_line).map(lambda t: b"POST /v1/responses HTTP/1.1\r\n" + t[1] + b"\r\n\r\n"),
    st.integers(101, 140).map(lambda n: b"GET /v1/models HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(n)) + b"\r\n"),
    # bodies that are not JSON, lengths that lie, broken chunking
    _bad_json.map(_post),
    st.tuples(_bad_json, st.sampled_from(["abc", "-5", "1e3", "99999", "0x10", " "])).map(lambda t: _post(t[0], length=t[1])),
    st.tuples(_token, _bad_json).filter(lambda t: not _first_chunk_is_json(*t)).map(
        lambda t: b"POST /v1/responses HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + t[0].encode() + b"\r\n" + t[1] + b"\r\n0\r\n\r\n"
    ),
    # unknown methods and paths
    st.tuples(st.sampled_from(["DELETE", "PATCH", "FOO", "OPTIONS", "TRACE"]), _token).map(lambda w: f"{w[0]} /{w[1]} HTTP/1.1\r\n\r\n".encode()),
)


@FUZZ
@given(request=_malformed_requests)
@example(request=b"garbage\r\n\r\n")  # regression: used to get a bare HTML body without a status line
@example(request=b"GET /v1/responses\r\n")  # HTTP/0.9 form
@example(request=b"\x00\xff\r\n\r\n")
@example(request=_post(b"{", length="abc"))
@example(request=_post(b"{}", length="9" * 5000))  # int() of > 4300 digits raises: a 400, not a handler error
def test_malformed_http_always_gets_an_error_status_is_recorded_and_the_server_survives(mock_server, request):
    before = len(mock_server.problems)
    reply = _raw_exchange(mock_server, request)
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), f"no status line for {request[:80]!r}: {reply[:120]!r}"
    status = int(status_line.split()[1])
    assert 400 <= status <= 599, f"{request[:80]!r} got {status_line!r}"
    assert len(mock_server.problems) > before, f"{request[:80]!r} was not recorded as a problem"
    alive = _raw_exchange(mock_server, _post(b'{"model": "m", "input": "hi"}'))
    assert alive.startswith(b"HTTP/1.1 200") and b"still alive" in alive, alive[:120]


def test_server_still_serves_after_the_fuzzing(mock_server):
    # runs after the fuzz test in file order (module-scoped server): it still answers correctly
    with httpx.Client(timeout=5) as client:
        resp = client.post(mock_server.url_v1 + "/responses", json={"model": "m", "input": "hi"})
    assert resp.status_code == 200 and "still alive" in resp.text
    assert resp.headers["content-type"] == "text/event-stream"


def test_garbled_request_line_gets_a_real_status_line():
    # the fix the fuzzer found: http.server's default HTTP/0.9 version dropped the status line
    with MockResponsesServer() as server:
        reply = _raw_exchange(server, b"garbage\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400 "), reply[:80]
        assert any("Bad request syntax" in p for p in server.problems)


# ==================================================================== driver
FUZZ_PEER = r'''
import os, sys, time
payload = open(os.environ["FUZZ_PAYLOAD"], "rb").read()
cuts = [int(c) for c in os.environ.get("FUZZ_CUTS", "").split(",") if c]
end = os.environ["FUZZ_END"]
out = sys.stdout.buffer
n = 0
for line in sys.stdin.buffer:
    n += 1
    if n == 1:  # initialize: answer properly
        out.write(b'{"id":0,"result":{"userAgent":"fuzz/0"}}\n'); out.flush()
        continue
    if b'"method"' in line and b'"id"' not in line:
        continue  # the initialized notification
    start = 0
    for cut in cuts + [len(payload)]:  # partial writes, flushed separately
        out.write(payload[start:cut]); out.flush(); start = cut
        time.sleep(0.002)
    if end == "hang":
        continue  # never answer, but still exit when stdin closes (keeps close() fast)
    if end == "close":
        out.close()
        time.sleep(0.05)
        sys.exit(0)
    sys.stderr.write("fuzz peer exiting\n"); sys.stderr.flush()
    os._exit(int(end))
'''

_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=10))
_json = st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
_ids = st.one_of(st.integers(-2, 3), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2))
_message_like = st.one_of(
    st.builds(lambda i, r: {"id": i, "result": r}, _ids, _json),
    st.builds(lambda i, c, m: {"id": i, "error": {"code": c, "message": m}}, _ids, st.one_of(st.integers(), st.text(max_size=3)), _json),
    st.builds(lambda i, e: {"id": i, "error": e}, _ids, _json),
    st.builds(lambda m, p: {"method": m, "params": p}, st.one_of(st.text(max_size=10), st.integers(), st.none()), _json),
    st.builds(lambda i, m: {"id": i, "method": m}, _ids, st.text(max_size=10)),
    st.dictionaries(st.sampled_from(["id", "jsonrpc", "result", "error", "method", "params", "x"]), _json, max_size=4),
)
_line = st.one_of(
    _message_like.map(lambda m: json.dumps(m).encode()),
    _json.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),
    st.integers(1, 5000).map(lambda n: b"[" * n),  # nesting deep enough to blow the JSON parser's recursion limit
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@st.composite
def _peer_scripts(draw):
    lines = draw(st.lists(_line, min_size=1, max_size=5))
    payload = b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))
    cuts = sorted(set(draw(st.lists(st.integers(0, max(0, len(payload) - 1)), max_size=3))))
    end = draw(st.sampled_from(["hang", "close", "0", "3"]))
    return payload, cuts, end


@pytest.fixture(scope="module")
def fuzz_peer_bin(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-peer")
    script = root / "fuzz_peer.py"
    script.write_text(FUZZ_PEER)
    return peer_executable(root / "fuzz-codex", script, "-I", "-S")


_CLEAR = (ProtocolError, AppServerTimeoutError, AppServerExitedError, JSONRPCRemoteError)
_WAIT_S = 0.25


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], database=None)
@given(script=_peer_scripts())
@example(script=(b"[" * 5000 + b"\n", [], "0"))  # regression: RecursionError killed the reader thread
@example(script=(b'{"id":1,"result":{"ok":true}}\n', [], "hang"))
@example(script=(b'{"id": 1, "res', [3, 9], "hang"))
@example(script=(b'{"id":1,"error":{"code":"x"}}\n{"id":1,"result":1}\n', [], "0"))
def test_driver_turns_malformed_peer_output_into_a_clear_error_never_a_hang(tmp_path_factory, fuzz_peer_bin, script):
    payload, cuts, end = script
    work = tmp_path_factory.mktemp("fuzz-run")
    (work / "payload").write_bytes(payload)
    env = {"FUZZ_PAYLOAD": str(work / "payload"), "FUZZ_CUTS": ",".join(map(str, cuts)), "FUZZ_END": end}
    started = time.monotonic()
    with AppServerProcess(work, codex_bin=fuzz_peer_bin, env=env, cwd=work, default_timeout=5) as app:
        app.initialize(timeout=10)
        rid = app.send_request("thread/list", {})
        t0 = time.monotonic()
        try:
            outcome: object = app.read_stream_until_response_message(rid, timeout=_WAIT_S)
        except _CLEAR as exc:
            outcome = exc
        waited = time.monotonic() - t0
        # an exit waits at most 1 s for the exit code and 1 s for stderr: never the whole hang
        assert waited < _WAIT_S + 2.5, f"waited {waited:.2f}s"
        if isinstance(outcome, JSONRPCResponse):
            assert outcome.id == rid
        if isinstance(outcome, AppServerTimeoutError):
            assert "timed out" in str(outcome)
        if isinstance(outcome, AppServerExitedError) and end in ("0", "3"):
            assert outcome.exit_code in (int(end), None)
    assert app.returncode is not None
    assert time.monotonic() - started < 15


def test_reader_survives_a_line_that_blows_the_json_recursion_limit(fake_home, tmp_path):
    # found by the fuzzer: json.loads raised RecursionError in the reader thread, which died;
    # every later message was lost and waits ran into their timeout instead of failing at once
    script = tmp_path / "deep_peer.py"
    script.write_text(
        "import sys\n"
        "for line in sys.stdin:\n"
        "    if '\"initialize\"' in line:\n"
        "        print('{\"id\":0,\"result\":{}}', flush=True)\n"
        "    elif '\"id\"' in line:\n"
        "        print('[' * 100000, flush=True)\n"
        "        print('{\"id\":1,\"result\":{\"after\":true}}', flush=True)\n"
    )
    wrapper = tmp_path / "deep-codex"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S {script}\n")
    wrapper.chmod(0o755)
    with AppServerProcess(fake_home, codex_bin=wrapper) as app:
        app.initialize(timeout=10)
        rid = app.send_request("thread/list", {})
        with pytest.raises(ProtocolError, match="malformed line"):
            app.read_stream_until_response_message(rid, timeout=5)
        assert app.read_stream_until_response_message(rid, timeout=5).result == {"after": True}


# ==================================================================== config
_OPTION_NAMES = [
    "model", "approval_policy", "sandbox_mode", "model_provider", "provider_name", "base_url", "wire_api",
    "request_max_retries", "stream_max_retries", "stream_idle_timeout_ms", "env_key", "requires_openai_auth",
    "features", "hermetic", "extra",
]
_toml_scalar = st.one_of(
    st.text(max_size=20), st.integers(-(2**63), 2**63 - 1), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
_any_value = st.one_of(
    st.none(),
    _toml_scalar,
    st.integers(),  # possibly beyond 64 bits
    st.sampled_from(["never", "on-request", "read-only", "workspace-write", "responses", "chat", "", "http://127.0.0.1:9/v1", "ftp://x"]),
    st.lists(_toml_scalar, max_size=3),
    st.dictionaries(st.text(max_size=8), st.one_of(_toml_scalar, st.none(), st.dictionaries(st.text(max_size=5), _toml_scalar, max_size=2)), max_size=3),
)


@FUZZ
@given(options=st.dictionaries(st.one_of(st.sampled_from(_OPTION_NAMES), st.text(max_size=12)), _any_value, max_size=5))
@example(options={"extra": {"model_providers": {"mock_provider": {"base_url": None}}}})
@example(options={"request_max_retries": True})
@example(options={"extra": {"": {"\x00\n\"'": "\u2028"}}})
def test_config_writer_raises_config_error_or_round_trips_exactly(options):
    uri = "http://127.0.0.1:4321"
    try:
        text = config_contents(uri, **options)
    except ConfigError as exc:
        assert isinstance(exc, ValueError) and str(exc)
        return
    assert tomllib.loads(text) == config_dict(uri, **options)


# ================================================================== rendering
_MD_TOKENS = [
    "`", "``", "```", "~~~", "# ", "## ", "- ", "* ", "+ ", "> ", "1. ", "2) ", "    ", "\t", "\n", "\n\n", "|", "---", ":-:",
    "~~", "*", "**", "_", "[", "]", "(", ")", "![", "](", "<", ">", "&", "&amp;", "&#x6A;", "&#106;", "&lt;", "\\", "$", "$$",
    "\"", "'", "=", "x", "javascript:", "JaVaScRiPt:", "java\tscript:", " javascript:", "vbscript:", "data:text/html,", "file:",
    "http://a.b/", "https://x/", "mailto:a@b", "<img src=x onerror=window.__pwned=1>", "<script>", "</script>", "<a href=",
    "onerror=", "style=", "<!--", "-->", "<?", "<![CDATA[", "\x00", "\u00a0", "\u2028", "é",
]
_markdownish = st.lists(st.one_of(st.sampled_from(_MD_TOKENS), st.text(max_size=4)), max_size=40).map("".join)


class _Visible(HTMLParser):
    """The text a browser shows of an HTML fragment (an image counts as its alt text), and every tag with its attributes."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "img":
            self.text.append(dict(attrs).get("alt") or "")

    def handle_data(self, data):
        self.text.append(data)

    @property
    def shown(self) -> str:
        return "".join(self.text)


def _stock_commonmark(text: str, *, as_typed: bool) -> str:
    """What a stock CommonMark renderer with raw HTML off writes (``as_typed``: entities and escapes as typed, like ours)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    return (md.disable(["entity", "escape"]) if as_typed else md).render(text)


@settings(max_examples=400, deadline=None, database=None)
@given(text=st.one_of(_markdownish, st.text(max_size=60)))
@example(text="See `x\n# <img src=x onerror=window.__pwned=1> `")
@example(text="- `a\n- <script>window.__pwned=1</script>`")
@example(text="```js`x\n<img src=x onerror=window.__pwned=1>\n```")
@example(text="[x](javascript:window.__pwned=1) [y](&#x6A;avascript:1) ![z](java\tscript:1)")
def test_a_rendered_reply_runs_nothing_and_shows_what_commonmark_shows(text):
    from codex_magics.safe_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, MATH_IGNORE, URL_SCHEMES, markdown_html

    out = markdown_html(text)
    seen = _Visible(out)
    assert seen.tags[0] == ("div", [("class", MATH_IGNORE)])
    for tag, attrs in seen.tags[1:]:
        assert tag in ALLOWED_TAGS, out
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set()), out
            if name == "style":
                assert re.fullmatch(r"text-align:(left|right|center)", value or ""), out
            if name == "href":
                bare = re.sub(r"[\x00-\x20]", "", value or "").lower()
                scheme = re.match(r"([a-z][a-z0-9+.-]*):", bare)
                assert scheme is None or scheme.group(1) in URL_SCHEMES, out
    assert seen.shown == _Visible(_stock_commonmark(text, as_typed=True)).shown  # the sanitizer dropped no text
    if "&" not in text and "\\" not in text:  # nothing we keep as typed: exactly what stock CommonMark shows
        assert seen.shown == _Visible(_stock_commonmark(text, as_typed=False)).shown
