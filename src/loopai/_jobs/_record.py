"""The job record: a small file next to the output that ties it to its input and task.

``OUTPUT.loopai-job.json`` holds the task, the options that decide what a
line's result is (id field, format, program version) and a fingerprint of
the input: its size and SHA-256 digests of its first and last MiB.  A rerun
resumes only when they match (`refusal`); a moved or touched input whose
size and sampled content match is the same input (`notes` say so).

Reading a fingerprint costs two 1 MiB reads whatever the input's size, so a
rerun of a job over millions of lines starts at once.  An edit in the middle
of the input that keeps its size is not detected.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec

__all__ = [
    "RECORD_SUFFIX",
    "SAMPLE_BYTES",
    "Fingerprint",
    "JobRecord",
    "digest",
    "notes",
    "read_record",
    "record_path",
    "refusal",
    "write_record",
]

RECORD_SUFFIX = ".loopai-job.json"
SAMPLE_BYTES = 1 << 20
RECORD_VERSION = 1


class Fingerprint(msgspec.Struct, kw_only=True):
    """What identifies an input: where it was, its size, and digests of its ends.

    ``path`` is ``"-"`` for stdin, whose size, mtime and tail are unknown.
    """

    path: str
    size: int | None
    mtime_ns: int | None
    head_sha256: str
    tail_sha256: str | None


class JobRecord(msgspec.Struct, kw_only=True):
    """The sidecar's content."""

    record_version: int = RECORD_VERSION
    task_id: str
    input_format: str
    id_field: str | None
    version: int | None
    input: Fingerprint


def digest(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def refusal(saved: JobRecord, current: JobRecord) -> str | None:
    """Why ``current`` may not resume the output that ``saved`` describes, or None."""
    if saved.record_version != current.record_version:
        return (
            f"its job record has format {saved.record_version}; this loopai writes {current.record_version}"
        )
    if saved.task_id != current.task_id:
        return f"it holds results of task {saved.task_id}, not {current.task_id}"
    if saved.input_format != current.input_format:
        was, now = saved.input_format.upper(), current.input_format.upper()
        return f"it was made from {was} input; this run reads {now}"
    if saved.id_field != current.id_field:
        was = f"--id-field {saved.id_field}" if saved.id_field else "line numbers as ids"
        now = f"--id-field {current.id_field}" if current.id_field else "line numbers"
        return f"it was made with {was}; this run uses {now}"
    if saved.version != current.version:
        was = f"program version {saved.version}" if saved.version else "the active program version"
        now = f"version {current.version}" if current.version else "the active version"
        return f"it was made with {was}; this run asks for {now}"
    old, new = saved.input, current.input
    source = f"{old.path!r}" if old.path != "-" else "stdin"
    if old.size is not None and new.size is not None and old.size != new.size:
        return (
            f"its input ({source}) had {old.size:,} bytes; {new.path!r} has {new.size:,}: a different input"
        )
    if old.head_sha256 != new.head_sha256:
        return f"the first MiB of its input ({source}) differs from this input's: a different input"
    if old.tail_sha256 is not None and new.tail_sha256 is not None and old.tail_sha256 != new.tail_sha256:
        return f"the last MiB of its input ({source}) differs from this input's: a different input"
    return None


def notes(saved: JobRecord, current: JobRecord) -> list[str]:
    """What changed harmlessly since the job record was written (for the user's information)."""
    old, new = saved.input, current.input
    found = []
    if old.path != new.path:
        found.append(f"the input was {old.path!r}; {new.path!r} matches its size and sampled content")
    elif old.mtime_ns is not None and new.mtime_ns is not None and old.mtime_ns != new.mtime_ns:
        found.append(
            f"{new.path!r} was modified since the job started, but its size and sampled content match"
        )
    return found


def record_path(output: Path) -> Path:
    """Where the job record of ``output`` lives."""
    return output.with_name(output.name + RECORD_SUFFIX)


def read_record(path: Path) -> JobRecord | None:
    """The job record at ``path``, or None if there is none.

    Raises:
        OSError: it exists but cannot be read.
        msgspec.DecodeError, msgspec.ValidationError: it is not a job record.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return msgspec.json.decode(data, type=JobRecord)


def write_record(path: Path, record: JobRecord) -> None:
    """Write the job record atomically and durably (temporary file, fsync, rename)."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        file.write(msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n")
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
