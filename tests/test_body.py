"""Bounded body reading: content encodings undone step by step, the cap enforced on the decoded size."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopai._body import BodyTooLarge, BoundedBody, UnsupportedEncoding


def feed_in_pieces(body: BoundedBody, data: bytes, piece: int) -> bytes:
    for start in range(0, len(data), piece):
        body.feed(data[start : start + piece])
    return body.finish()


@given(payload=st.binary(max_size=5000), piece=st.integers(1, 700))
def test_gzip_deflate_and_identity_round_trip(payload: bytes, piece: int) -> None:
    """Whatever the piece sizes, the decoded body is the payload."""
    assert feed_in_pieces(BoundedBody("", 10_000), payload, piece) == payload
    assert feed_in_pieces(BoundedBody("gzip", 10_000), gzip.compress(payload), piece) == payload
    assert feed_in_pieces(BoundedBody("deflate", 10_000), zlib.compress(payload), piece) == payload
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(payload) + raw.flush()
    assert feed_in_pieces(BoundedBody("deflate", 10_000), raw_deflate, piece) == payload
    nested = gzip.compress(zlib.compress(payload))
    assert feed_in_pieces(BoundedBody("deflate, gzip", 10_000), nested, piece) == payload


def test_a_nested_gzip_bomb_stops_at_the_cap() -> None:
    """Triple gzip of 100 MB of zeros is a few hundred bytes; reading it stops at 1 MiB decoded."""
    bomb = b"\0" * 100_000_000
    for _ in range(3):
        bomb = gzip.compress(bomb)
    assert len(bomb) < 2000
    body = BoundedBody("gzip, gzip, gzip", 1024 * 1024)
    with pytest.raises(BodyTooLarge):
        body.feed(bomb)
        body.finish()


def test_a_plain_body_is_refused_by_its_declared_length_or_its_size() -> None:
    """Over the cap by Content-Length before reading, or by the bytes that arrive."""
    with pytest.raises(BodyTooLarge):
        BoundedBody("", 10).expect("11")
    BoundedBody("", 10).expect("10")
    body = BoundedBody("identity", 10)
    body.feed(b"12345")
    with pytest.raises(BodyTooLarge):
        body.feed(b"123456")


def test_unknown_encodings_and_corrupt_data_are_refused() -> None:
    """br is not read; corrupt gzip says so."""
    with pytest.raises(UnsupportedEncoding, match="br"):
        BoundedBody("br", 10)
    with pytest.raises(UnsupportedEncoding, match="corrupt"):
        body = BoundedBody("gzip", 10_000)
        body.feed(b"not gzip at all")
        body.finish()
