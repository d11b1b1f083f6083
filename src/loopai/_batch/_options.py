"""What a batch job is asked to do: the client-side knobs, the call's settings, progress reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from .. import _arguments as check
from .._exceptions import InvalidArgumentException

__all__ = ["SERVER_BODY_LIMIT", "BatchOptions", "BatchProgress", "JobSettings"]

#: The server refuses bodies over 30,000,000 bytes; chunks stay well below.
SERVER_BODY_LIMIT = 30_000_000


@dataclass(frozen=True)
class BatchOptions:
    """How the client splits and paces a large batch.

    These are the client's own knobs; ``max_concurrency`` on the batch calls
    stays the server's parallelism within one request.

    Args:
        chunk_size: Most items in one request.
        max_chunk_bytes: Most encoded bytes in one request body.
        concurrency: Most chunk requests in flight at once; further chunks
            wait in the client, before their request is sent.
        requests_per_second: Client-side pace of chunk requests, or None.
        items_per_second: Client-side pace of items, or None.
        reorder_window: For input-order results, how many chunks may wait for
            an earlier one (bounds memory); default ``2 * concurrency``.
    """

    chunk_size: int = 1000
    max_chunk_bytes: int = 4_000_000
    concurrency: int = 4
    requests_per_second: float | None = None
    items_per_second: float | None = None
    reorder_window: int | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise InvalidArgumentException("chunk_size", f"must be >= 1, got {self.chunk_size}")
        if not 1_000 <= self.max_chunk_bytes <= SERVER_BODY_LIMIT // 2:
            raise InvalidArgumentException(
                "max_chunk_bytes",
                f"must be 1,000-{SERVER_BODY_LIMIT // 2:,} (half the server's body limit),"
                f" got {self.max_chunk_bytes:,}",
            )
        if self.concurrency < 1:
            raise InvalidArgumentException("concurrency", f"must be >= 1, got {self.concurrency}")
        for name in ("requests_per_second", "items_per_second"):
            rate = getattr(self, name)
            if rate is not None and rate <= 0:
                raise InvalidArgumentException(name, f"must be > 0 or None, got {rate}")
        if self.reorder_window is not None and self.reorder_window < self.concurrency:
            raise InvalidArgumentException("reorder_window", f"must be >= concurrency ({self.concurrency})")

    @property
    def window(self) -> int:
        """Chunks that may be in flight or waiting to be delivered in order."""
        return self.reorder_window or 2 * self.concurrency


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A progress report, sent after each chunk completes.

    Attributes:
        done: Items with a result so far (succeeded or failed).
        failed: Of those, the failed ones.
        total: All items, when the input's length is known.
        elapsed: Seconds since the job started.
    """

    done: int
    failed: int
    total: int | None
    elapsed: float

    @property
    def items_per_second(self) -> float:
        """Throughput so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class JobSettings:
    """What the caller asked of one batch job, checked once (see `checked`).

    The server's fields (``max_concurrency``, ``stop_on_first_error``,
    ``timeout_ms``, ``version``) go into every chunk request; ``options``
    are the client's own chunking and pacing; ``stop_on_first_error`` also
    stops the client sending further chunks.
    """

    task_id: UUID
    options: BatchOptions = BatchOptions()
    max_concurrency: int = 10
    stop_on_first_error: bool = False
    timeout_ms: int | None = None
    version: int | None = None
    progress: Callable[[BatchProgress], object] | None = None

    @classmethod
    def checked(
        cls,
        task_id: object,
        *,
        options: BatchOptions | None = None,
        max_concurrency: object = 10,
        stop_on_first_error: object = False,
        timeout_ms: object = None,
        version: object = None,
        progress: Callable[[BatchProgress], object] | None = None,
    ) -> JobSettings:
        """Settings from call arguments.

        Raises:
            InvalidArgumentException: an argument is out of range or of the wrong type.
        """
        if options is not None and not isinstance(options, BatchOptions):
            raise InvalidArgumentException("options", f"must be a BatchOptions, got {type(options).__name__}")
        if progress is not None and not callable(progress):
            raise InvalidArgumentException("progress", "must be a callable taking a BatchProgress")
        return cls(
            task_id=check.task_id(task_id),
            options=options or BatchOptions(),
            max_concurrency=check.whole_number(max_concurrency, "max_concurrency", 1, 100),
            stop_on_first_error=bool(stop_on_first_error),
            timeout_ms=check.optional_whole_number(timeout_ms, "timeout_ms", 1, 60_000),
            version=check.optional_whole_number(version, "version", 1),
            progress=progress,
        )
