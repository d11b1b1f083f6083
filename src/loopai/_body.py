"""Reading a response body within a size cap, content encodings included.

Decompression happens here, in bounded steps, rather than in the HTTP
library: a few hundred bytes of nested gzip can expand to gigabytes, and the
cap must hold for the decoded size before it is in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

__all__ = ["BodyTooLarge", "BoundedBody", "UnsupportedEncoding"]

_STEP = 64 * 1024  # most bytes one decompression step may produce


class BodyTooLarge(Exception):
    """The decoded body passed the cap."""


class UnsupportedEncoding(Exception):
    """A content encoding that cannot be undone, or data it cannot decode."""


class _Layer:
    """One content-coding to undo: gzip, or deflate with or without its zlib wrapper."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._decompressor: Any = None
        self._head = b""  # deflate's first bytes, until they show whether a zlib wrapper is there
        if encoding in ("gzip", "x-gzip"):
            self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Decompress ``data`` in steps of at most `_STEP` bytes of output, one step at a time."""
        if self._decompressor is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            # Some servers send raw deflate under this name; a zlib wrapper has a checksummed header.
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._decompressor = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        pending = data
        while pending:
            try:
                piece = self._decompressor.decompress(pending, _STEP)
            except zlib.error as exc:
                raise UnsupportedEncoding(f"{self.encoding} data is corrupt: {exc}") from None
            if piece:
                yield piece
            pending = self._decompressor.unconsumed_tail
            if self._decompressor.eof:
                break

    def flush(self) -> bytes:
        """What the decompressor still holds."""
        if self._decompressor is None:
            if self._head:
                raise UnsupportedEncoding(f"{self.encoding} data is cut short")
            return b""
        try:
            return bytes(self._decompressor.flush())
        except zlib.error as exc:
            raise UnsupportedEncoding(f"{self.encoding} data is corrupt: {exc}") from None


class BoundedBody:
    """Accumulates a body, undoing its content encodings, up to ``limit`` decoded bytes.

    Raises `BodyTooLarge` as soon as the decoded size passes the limit, and
    `UnsupportedEncoding` for an encoding other than gzip, deflate and identity.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
        unknown = [name for name in names if name not in ("gzip", "x-gzip", "deflate", "identity")]
        if unknown:
            raise UnsupportedEncoding(f"{', '.join(unknown)} (loopai reads gzip and deflate)")
        # Encodings are listed in the order applied, so they are undone from the last.
        self._layers = [_Layer(name) for name in reversed(names) if name != "identity"]
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    def expect(self, content_length: str) -> None:
        """Refuse at once a plain body whose declared length is over the limit."""
        if not self._layers and content_length.isdigit() and int(content_length) > self._limit:
            raise BodyTooLarge

    def feed(self, data: bytes) -> None:
        """Take the next piece of the body as received."""
        self._push(0, data)

    def finish(self) -> bytes:
        """The whole decoded body."""
        for index, layer in enumerate(self._layers):
            rest = layer.flush()
            if rest:
                self._push(index + 1, rest)
        return b"".join(self._parts)

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._layers):
            self._size += len(data)
            if self._size > self._limit:
                raise BodyTooLarge
            self._parts.append(data)
            return
        for piece in self._layers[index].decode(data):
            self._push(index + 1, piece)
