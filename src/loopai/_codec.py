"""JSON encoding and typed decoding, with encoders and decoders built once."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from ._exceptions import ResponseDecodeException

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_any_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def encode(value: object) -> bytes:
    """Encode a model or plain JSON value to compact JSON bytes."""
    return _encoder.encode(value)


_decoders: dict[object, msgspec.json.Decoder[Any]] = {}


def _decoder(model: type[T]) -> msgspec.json.Decoder[T]:
    decoder = _decoders.get(model)
    if decoder is None:
        decoder = _decoders[model] = msgspec.json.Decoder(model)
    return decoder


def decode_json(content: bytes) -> Any:
    """Decode JSON into plain Python values; raise `msgspec.DecodeError` if it is not JSON."""
    return _any_decoder.decode(content)


def decode_model(model: type[T], content: bytes, *, method: str, url: str, status: int) -> T:
    """Decode a response body into ``model``.

    Raises:
        ResponseDecodeException: the body is not JSON or lacks the model's
            shape; the message names the endpoint and the problem.
    """
    try:
        return _decoder(model).decode(content)
    # A hostile body can also break UTF-8 or nest deeper than the stack allows.
    except (
        msgspec.DecodeError,
        msgspec.ValidationError,
        UnicodeDecodeError,
        RecursionError,
        ValueError,
    ) as exc:
        excerpt = content[:200].decode("utf-8", "replace")
        reason = str(exc)[:300] or type(exc).__name__
        name = getattr(model, "__name__", None) or str(model)
        raise ResponseDecodeException(
            f"the response to {method} {url} is not a valid {name}: {reason} (body starts {excerpt!r})",
            status_code=status,
            method=method,
            url=url,
            body=excerpt,
        ) from None
