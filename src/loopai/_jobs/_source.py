"""Reading a job's input: a JSONL or CSV file, or JSONL on stdin.

`open_input` opens the input and takes its fingerprint before anything is
sent.  `InputReader.next_batch` parses the next lines (skipping those
already done) and is meant to run in a worker thread, so a slow stdin or
disk never blocks the event loop.
"""

from __future__ import annotations

import csv
import io
import os
import stat as stat_mode
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ._lines import BadLine, Parsed, check_header, is_blank_row, parse_csv_row, parse_json_line
from ._record import SAMPLE_BYTES, Fingerprint, digest
from ._resume import LineSet

__all__ = ["FORMATS", "InputReader", "count_lines", "input_format", "open_input"]

FORMATS = ("jsonl", "csv")
_BATCH = 1000


class InputProblemError(Exception):
    """The input cannot be read (raised before anything is sent)."""


def input_format(path: str, given: str | None) -> str:
    """The input's format: as given, else ``csv`` for a ``.csv`` file, else ``jsonl``."""
    if given is not None:
        if given not in FORMATS:
            raise InputProblemError(f"unknown input format {given!r} (use jsonl or csv)")
        return given
    return "csv" if path != "-" and path.lower().endswith(".csv") else "jsonl"


class _Prefixed(io.RawIOBase):
    """A stream that first replays ``head`` (already read, for the fingerprint), then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO, *, owns_rest: bool) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        self._owns_rest = owns_rest

    def close(self) -> None:
        if self._owns_rest and not self.closed:
            self._rest.close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read1(len(buffer)) if hasattr(self._rest, "read1") else self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_head(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < SAMPLE_BYTES:
        data = (
            stream.read1(SAMPLE_BYTES - size)
            if hasattr(stream, "read1")
            else stream.read(SAMPLE_BYTES - size)
        )
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def _sample(file: BinaryIO, size: int) -> tuple[bytes, bytes]:
    """A regular file's first MiB and last MiB (the same bytes when it is small)."""
    head = file.read(SAMPLE_BYTES)
    tail = head
    if size > SAMPLE_BYTES:
        file.seek(max(size - SAMPLE_BYTES, SAMPLE_BYTES))
        tail = file.read(SAMPLE_BYTES)
    file.seek(0)
    return head, tail


def _stream_input(name: str, stream: BinaryIO, fmt: str, id_field: str | None, *, owned: bool) -> InputReader:
    """A pipe (stdin, ``<(command)``): fingerprinted by its first MiB, read after it; not countable."""
    head = _read_head(stream)
    fingerprint = Fingerprint(path=name, size=None, mtime_ns=None, head_sha256=digest(head), tail_sha256=None)
    binary = io.BufferedReader(_Prefixed(head, stream, owns_rest=owned), buffer_size=1 << 16)
    return InputReader(binary, fmt, id_field, fingerprint, regular=False)


def open_input(path: str, fmt: str, id_field: str | None) -> InputReader:
    """Open the input and fingerprint it; raises `InputProblemError` naming the problem."""
    if path == "-":
        return _stream_input("-", sys.stdin.buffer, fmt, id_field, owned=False)
    try:
        file = Path(path).open("rb")  # noqa: SIM115 - the reader owns it
    except OSError as exc:
        raise InputProblemError(f"cannot read the input {path!r}: {exc.strerror or exc}") from None
    try:
        stat = os.fstat(file.fileno())
        if not stat_mode.S_ISREG(stat.st_mode):
            return _stream_input(path, file, fmt, id_field, owned=True)
        head, tail = _sample(file, stat.st_size)
    except OSError as exc:
        file.close()
        raise InputProblemError(f"cannot read the input {path!r}: {exc.strerror or exc}") from None
    except BaseException:
        file.close()
        raise
    fingerprint = Fingerprint(
        path=str(Path(path).resolve()),
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        head_sha256=digest(head),
        tail_sha256=digest(tail),
    )
    return InputReader(file, fmt, id_field, fingerprint)


class InputReader:
    """Parses an input stream into batches of `Parsed` lines, skipping lines already done.

    ``regular`` is False for a pipe, which cannot be read twice (so its lines are not counted ahead).
    """

    def __init__(
        self,
        stream: BinaryIO,
        fmt: str,
        id_field: str | None,
        fingerprint: Fingerprint,
        *,
        regular: bool = True,
    ) -> None:
        self.stream = stream
        self.regular = regular
        self.format = fmt
        self.id_field = id_field
        self.fingerprint = fingerprint
        self.content_lines = 0
        self._done = LineSet()
        self._records: Iterator[tuple[int, Parsed]] | None = None
        self._text: io.TextIOWrapper | None = None

    def prepare(self) -> None:
        """Check what can be checked before the job starts (a CSV input's header).

        Raises:
            InputProblemError: the CSV header is missing or lacks the id field.
        """
        if self.format == "csv":
            self._header = self._read_header()

    def start(self, done: LineSet) -> None:
        """Begin reading; lines in ``done`` are skipped (JSONL ones without being parsed)."""
        self._done = done
        self._records = self._csv() if self.format == "csv" else self._jsonl()

    def close(self) -> None:
        """Close the input (a CSV input's text layer with it)."""
        if self._text is not None:
            self._text.close()
        self.stream.close()

    def next_batch(self) -> list[tuple[int, Parsed]]:
        """Up to 1,000 lines not yet done, parsed; an empty list at the end of the input."""
        assert self._records is not None, "call start() first"
        batch: list[tuple[int, Parsed]] = []
        for record in self._records:
            batch.append(record)
            if len(batch) >= _BATCH:
                break
        return batch

    # --- JSONL ---------------------------------------------------------------------------------

    def _jsonl(self) -> Iterator[tuple[int, Parsed]]:
        done = self._done
        id_field = self.id_field
        line = 0
        for raw in self.stream:
            line += 1
            if line in done:
                self.content_lines += 1
                continue
            parsed = parse_json_line(raw, line, id_field)
            if parsed is not None:
                self.content_lines += 1
                yield line, parsed

    # --- CSV -----------------------------------------------------------------------------------

    def _physical_lines(self) -> Iterator[str]:
        self._text = io.TextIOWrapper(self.stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        yield from self._text

    def _read_header(self) -> list[str]:
        self._reader = csv.reader(self._physical_lines())
        try:
            header = next(self._reader, [])
        except csv.Error as exc:
            raise InputProblemError(f"the CSV header (line 1) cannot be read: {exc}") from None
        problem = check_header(header, self.id_field)
        if problem is not None:
            raise InputProblemError(problem)
        return header

    def _csv(self) -> Iterator[tuple[int, Parsed]]:
        reader = self._reader
        header = self._header
        done = self._done
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.content_lines += 1
                if line not in done:
                    yield line, BadLine(line, str(line), f"line {line}: bad CSV row: {exc}")
                continue
            if line in done:
                self.content_lines += 1
                continue
            parsed = parse_csv_row(row, header, line, self.id_field)
            if parsed is not None:
                self.content_lines += 1
                yield line, parsed


def count_lines(path: str, fmt: str) -> int:
    """Input lines with content: non-blank JSONL lines, or CSV records after the header."""
    with Path(path).open("rb") as file:
        if fmt == "jsonl":
            return sum(1 for raw in file if not raw.isspace())
        reader = csv.reader(
            io.TextIOWrapper(file, encoding="utf-8-sig", errors="surrogateescape", newline="")
        )
        header: list[str] | None = None
        count = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return count
            except csv.Error:
                count += 1
                continue
            if header is None:
                header = row
            elif not is_blank_row(row, header):
                count += 1
