"""What an existing output already holds: a pure scan of its bytes.

`OutputScanner` is fed the output file in blocks and finds the lines done
(a bitmap of line numbers: 125 KB per million lines), the counts of
successes and failures by kind, and where the valid part ends.  A torn last
line (the process was killed mid-write) or trailing garbage (a machine lost
before its data reached the disk) is cut off; a broken line followed by good
ones means the file was damaged by something else, and the scan refuses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import msgspec

from ._failures import failure_kind

__all__ = ["DamagedOutputError", "LineSet", "OutputScanner", "ResumePlan"]


class LineSet:
    """A set of positive line numbers as a bitmap: bounded memory for millions of lines."""

    __slots__ = ("_bits", "_count")

    def __init__(self) -> None:
        self._bits = bytearray()
        self._count = 0

    def add(self, line: int) -> bool:
        """Add ``line``; False if it was already there."""
        index, bit = divmod(line, 8)
        if index >= len(self._bits):
            self._bits.extend(bytes(max(index + 1 - len(self._bits), len(self._bits) // 2)))
        mask = 1 << bit
        if self._bits[index] & mask:
            return False
        self._bits[index] |= mask
        self._count += 1
        return True

    def __contains__(self, line: object) -> bool:
        if not isinstance(line, int):
            return False
        index, bit = divmod(line, 8)
        return index < len(self._bits) and bool(self._bits[index] & (1 << bit))

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held by the bitmap."""
        return len(self._bits)


class _ResultLine(msgspec.Struct):
    line: int
    success: bool
    error_message: str | None = None
    execution_id: str | None = None


_decoder = msgspec.json.Decoder(_ResultLine)


class DamagedOutputError(Exception):
    """The output holds a line that is not a result, followed by results."""


@dataclass
class ResumePlan:
    """What the output holds, and how many of its bytes to keep."""

    done: LineSet = field(default_factory=LineSet)
    succeeded: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    keep_bytes: int = 0
    size: int = 0
    duplicates: int = 0

    @property
    def failed(self) -> int:
        """Failed lines in the kept part."""
        return sum(self.failures.values())

    @property
    def cut_bytes(self) -> int:
        """Bytes past the valid part (a torn or broken tail) that resuming removes."""
        return self.size - self.keep_bytes


class OutputScanner:
    """Incremental scan of an output file: `feed` blocks in order, then `finish`."""

    def __init__(self) -> None:
        self.plan = ResumePlan()
        self._pending = b""
        self._offset = 0  # file offset of self._pending's start
        self._line_number = 0  # output lines seen (for messages)
        self._broken_at: int | None = None  # offset of the first broken line of the current tail
        self._broken_line = 0

    def feed(self, block: bytes) -> None:
        """Scan the next block of the file."""
        data = self._pending + block if self._pending else block
        start = 0
        end = data.find(b"\n")
        while end >= 0:
            self._line(data[start:end], self._offset + start, self._offset + end + 1)
            start = end + 1
            end = data.find(b"\n", start)
        self._pending = data[start:]
        self._offset += start
        self.plan.size = self._offset + len(self._pending)

    def _line(self, raw: bytes, offset: int, after: int) -> None:
        self._line_number += 1
        try:
            result = _decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            result = None
        if result is None or result.line < 1:
            if self._broken_at is None:
                self._broken_at, self._broken_line = offset, self._line_number
            return
        if self._broken_at is not None:
            raise DamagedOutputError(
                f"output line {self._broken_line} (byte {self._broken_at:,}) is not a result line,"
                f" but results follow it"
            )
        plan = self.plan
        plan.keep_bytes = after
        if not plan.done.add(result.line):
            plan.duplicates += 1
            return
        if result.success:
            plan.succeeded += 1
        else:
            plan.failures[failure_kind(result.execution_id, result.error_message)] += 1

    def finish(self) -> ResumePlan:
        """The plan: what is done, and ``keep_bytes`` (the torn or broken tail is past it)."""
        return self.plan
