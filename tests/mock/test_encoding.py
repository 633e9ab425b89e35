"""Compressed request bodies: decoded before the script sees them, bounded, refused clearly.

Fails on main, which hands the compressed bytes to the script (400 "body is not JSON").
"""

from __future__ import annotations

import gzip
import json
import zlib

import httpx
import pytest
import zstandard
from codex_fixtures.errors import MockResponsesCheckError
from codex_fixtures.mock.encoding import BodyEncodingError, decode_body
from codex_fixtures.mock.loopback import MockResponsesServer

BODY = json.dumps({"model": "mock-model", "input": [{"type": "message", "role": "user", "content": "hi"}]}).encode()
COMPRESS = {
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "gzip": gzip.compress,
    "deflate": zlib.compress,
}


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
def test_a_compressed_model_request_is_decoded_and_keeps_its_encoding(encoding):
    with MockResponsesServer() as server:
        server.enqueue("ok")
        answer = httpx.post(
            server.url_v1 + "/responses",
            content=COMPRESS[encoding](BODY),
            headers={"content-encoding": encoding, "content-type": "application/json"},
            timeout=5,
        )
        assert answer.status_code == 200
        (request,) = server.requests
        assert (request.body, request.encoding, request.body_json["model"]) == (BODY, encoding, "mock-model")
        assert encoding in repr(request)
        server.check()


def test_a_decompression_bomb_is_refused_by_the_size_limit():
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (4 << 20))
    with MockResponsesServer(max_body_bytes=1 << 20) as server:
        answer = httpx.post(server.url_v1 + "/responses", content=bomb, headers={"content-encoding": "zstd"}, timeout=5)
        assert answer.status_code == 413 and len(bomb) < 1 << 20
        with pytest.raises(MockResponsesCheckError, match="zstd body decodes to over max_body_bytes"):
            server.check()


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        (b"not zstd", "zstd", "zstd body does not decode"),
        (gzip.compress(BODY)[:-8], "gzip", "gzip body"),
        (BODY, "br", "content-encoding 'br' is not one the mock decodes"),
    ],
    ids=["zstd-garbage", "gzip-truncated", "br-unknown"],
)
def test_a_body_that_does_not_decode_is_a_400_naming_the_encoding(data, encoding, message):
    with pytest.raises(BodyEncodingError, match=message) as refused:
        decode_body(data, encoding, 1 << 20)
    assert refused.value.status == 400


def test_stacked_encodings_are_undone_in_reverse_and_identity_is_the_body():
    data = COMPRESS["zstd"](gzip.compress(BODY))
    assert decode_body(data, "gzip, zstd", 1 << 20) == BODY
    assert decode_body(BODY, "identity", 1 << 20) == BODY
