"""Appending result lines to the output, flushed per chunk and synced in the background.

Each flush is one ``write`` of whole lines, so a process killed at any
moment leaves at most one torn line at the end (cut off on resume).  With
``fsync`` on, a task syncs the file to disk after flushes (in a worker
thread, coalescing many flushes into one sync), so a lost machine loses at
most the results of the last sync interval, which a rerun sends again.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

import anyio
import msgspec

__all__ = ["OutputLine", "OutputWriter"]


class OutputLine(msgspec.Struct):
    """One output line (fields in this order, all present)."""

    id: str
    line: int
    success: bool
    output: Any
    error_message: str | None
    latency_ms: float
    execution_id: UUID | None


class OutputWriter:
    """Appends encoded lines to an open file descriptor."""

    def __init__(self, fd: int, *, fsync: bool) -> None:
        self._fd = fd
        self._fsync = fsync
        self._encoder = msgspec.json.Encoder()
        self._parts: list[bytes] = []
        self._dirty = anyio.Event()

    def add(self, line: OutputLine) -> None:
        """Queue a line for the next flush."""
        self._parts.append(self._encoder.encode(line))

    @property
    def queued(self) -> int:
        """Lines waiting for the next flush."""
        return len(self._parts)

    def flush(self) -> None:
        """Write the queued lines (one ``write`` of whole lines) and wake the syncer."""
        if not self._parts:
            return
        data = memoryview(b"\n".join(self._parts) + b"\n")
        self._parts.clear()
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        if self._fsync:
            self._dirty.set()

    async def sync_forever(self) -> None:
        """Sync flushed data to disk whenever there is some; run in a task, cancel to stop."""
        while True:
            await self._dirty.wait()
            self._dirty = anyio.Event()
            await anyio.to_thread.run_sync(os.fsync, self._fd)

    def sync(self) -> None:
        """Flush and sync now (at the end of a job, or when it is cancelled)."""
        self.flush()
        if self._fsync:
            os.fsync(self._fd)
