"""How the real server writes JSON: omitted nulls, .NET timestamps, its quirks."""

from __future__ import annotations

import re
import struct
import time
from datetime import datetime, timezone
from typing import Any

import msgspec

__all__ = ["dto", "float32", "format_ticks", "now_ticks", "render"]

_TICKS_PER_SECOND = 10_000_000
_ESCAPED = re.compile(r"[^\x00-\x7f]|[<>&'+`]")


def now_ticks() -> int:
    """The current UTC time in .NET ticks (100 ns) since the Unix epoch."""
    return time.time_ns() // 100


def format_ticks(ticks: int, *, fresh: bool) -> str:
    """A .NET ``DateTime`` as the server writes it.

    Up to 7 fractional digits with trailing zeros trimmed; fresh values end in
    ``Z``, values read back from storage carry no offset.
    """
    seconds, fraction = divmod(ticks, _TICKS_PER_SECOND)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:07d}".rstrip("0")
    if digits:
        text = f"{text}.{digits}"
    return f"{text}Z" if fresh else text


def float32(value: float) -> float:
    """A double stored in single precision and read back (0.95 -> 0.949999988079071)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def dto(**fields: Any) -> dict[str, Any]:
    """A response object with its null properties left out, as the server's serializer does."""
    return {name: value for name, value in fields.items() if value is not None}


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"
    return f"\\u{code:04X}"


def render(value: Any, *, pretty: bool) -> bytes:
    """Encode a response body; ``pretty`` copies the deployed Development formatting."""
    body = msgspec.json.encode(value)
    if not pretty:
        return body
    text = msgspec.json.format(body, indent=2).decode()
    return _ESCAPED.sub(_escape, text).encode("ascii")
