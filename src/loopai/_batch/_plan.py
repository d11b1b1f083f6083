"""Planning a batch job, without I/O: item ids, one encoding per item, chunks.

A job's items get their ids by one rule, `IdPolicy`.  Each item is checked
and encoded once, into the bytes its chunk request will carry; the chunks
are cut by item count and encoded size, in input order.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import msgspec

from .._codec import encode
from .._exceptions import InvalidArgumentException
from .._models import BatchExecuteItem
from ._options import SERVER_BODY_LIMIT, JobSettings

__all__ = [
    "BODY_HEADROOM",
    "Chunk",
    "ChunkPlanner",
    "EncodedItem",
    "IdPolicy",
    "ItemEncoder",
    "ItemLike",
    "encode_all",
    "encode_chunk_request",
    "plan_chunks",
    "positional_chunks",
]

#: What a batch accepts per item: an input dict, or a `BatchExecuteItem` with its own id.
ItemLike: TypeAlias = "BatchExecuteItem | Mapping[str, Any]"
#: An item's id and its JSON, encoded once.
EncodedItem: TypeAlias = "tuple[str, msgspec.Raw]"

#: Room for a chunk request's own fields around its items.
BODY_HEADROOM = 1024


class IdPolicy(enum.Enum):
    """Where a batch item's id comes from: the one rule about ids, under one name."""

    #: Items are input dicts; their ids are their positions, ``"0"``, ``"1"``, ...
    POSITIONS = "positions"
    #: Items are `BatchExecuteItem` or ``{id, input[, force_validation]}`` dicts;
    #: their ids are kept, and a repeated id is refused.
    CALLER = "caller"

    @classmethod
    def of_first(cls, value: object) -> IdPolicy:
        """The policy of a stream whose first item is ``value``: CALLER for a `BatchExecuteItem`."""
        return cls.CALLER if isinstance(value, BatchExecuteItem) else cls.POSITIONS


class ItemEncoder:
    """Checks, ids and encodes items one at a time, in input order.

    Args:
        policy: The id rule; None lets the first item choose it
            (`IdPolicy.of_first`), as a stream of unknown items does.
    """

    __slots__ = ("_count", "_seen", "policy")

    def __init__(self, policy: IdPolicy | None = None) -> None:
        self.policy = policy
        self._count = 0
        self._seen: set[str] = set()

    def encode(self, value: object) -> EncodedItem:
        """The next item's id and JSON.

        Raises:
            InvalidArgumentException: the item is malformed, of a kind the
                policy does not take, or repeats an earlier id; names its position.
        """
        index = self._count
        policy = self.policy
        if policy is None:
            policy = self.policy = IdPolicy.of_first(value)
        if policy is IdPolicy.POSITIONS:
            if not isinstance(value, Mapping):
                raise InvalidArgumentException(
                    f"items[{index}]",
                    f"must be an input dict (ids are positions), got {type(value).__name__}",
                )
            item = BatchExecuteItem(id=str(index), input=value if isinstance(value, dict) else dict(value))
        else:
            item = _caller_item(value, index)
            if item.id in self._seen:
                raise InvalidArgumentException(f"items[{index}].id", f"duplicate item id {item.id!r}")
            self._seen.add(item.id)
        try:
            raw = msgspec.Raw(encode(item))
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
            raise InvalidArgumentException(f"items[{index}].input", f"is not JSON: {exc}") from None
        self._count = index + 1
        return item.id, raw


def _caller_item(value: object, index: int) -> BatchExecuteItem:
    if isinstance(value, BatchExecuteItem):
        item = value
    elif isinstance(value, Mapping):
        try:
            item = BatchExecuteItem(**value)
        except TypeError as exc:
            raise InvalidArgumentException(
                f"items[{index}]", f"needs keys id, input[, force_validation]: {exc}"
            ) from None
    else:
        raise InvalidArgumentException(
            f"items[{index}]", f"must be a dict or BatchExecuteItem, got {type(value).__name__}"
        )
    if not isinstance(item.id, str) or not item.id:
        raise InvalidArgumentException(f"items[{index}].id", "must be a non-empty string")
    if not isinstance(item.input, dict):
        raise InvalidArgumentException(f"items[{index}].input", "must be a dict")
    return item


def encode_all(values: Iterable[object], policy: IdPolicy) -> list[EncodedItem]:
    """Every item checked and encoded, so a bad one is refused before anything is sent."""
    encoder = ItemEncoder(policy)
    return [encoder.encode(value) for value in values]


@dataclass(slots=True)
class Chunk:
    """Consecutive items that go in one request."""

    ids: list[str] = field(default_factory=list)
    items: list[msgspec.Raw] = field(default_factory=list)
    #: Encoded bytes of the items, with one separator each.
    size: int = 0
    #: The items already encoded together as one JSON array (then ``items`` is empty).
    array: msgspec.Raw | None = None

    @property
    def too_large(self) -> bool:
        """Whether its request would pass the server's body limit (then it holds one item)."""
        return self.size + BODY_HEADROOM > SERVER_BODY_LIMIT


class ChunkPlanner:
    """Cuts items into chunks of at most ``max_items`` items and ``max_bytes`` encoded bytes.

    A chunk goes as soon as it is full by count, or when the next item
    would not fit its bytes.  An item larger than ``max_bytes`` on its own
    gets a chunk of its own (see `Chunk.too_large`).
    """

    __slots__ = ("_open", "max_bytes", "max_items")

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._open = Chunk()

    def add(self, item_id: str, raw: msgspec.Raw) -> Chunk | None:
        """Take the next item; returns a chunk that is now complete, if any."""
        chunk = self._open
        size = len(raw) + 1
        done = None
        if chunk.ids and chunk.size + size > self.max_bytes:
            done, chunk = chunk, Chunk()
            self._open = chunk
        chunk.ids.append(item_id)
        chunk.items.append(raw)
        chunk.size += size
        if len(chunk.ids) >= self.max_items:
            # Only reached with no `done`: a chunk is never left full by count.
            done, self._open = chunk, Chunk()
        return done

    def flush(self) -> Chunk | None:
        """The last, partly filled chunk, if it holds any item."""
        chunk = self._open
        if not chunk.ids:
            return None
        self._open = Chunk()
        return chunk


def plan_chunks(items: Iterable[EncodedItem], max_items: int, max_bytes: int) -> Iterator[Chunk]:
    """The chunks of ``items``, in order (`ChunkPlanner` over a whole iterable)."""
    planner = ChunkPlanner(max_items, max_bytes)
    for item_id, raw in items:
        chunk = planner.add(item_id, raw)
        if chunk is not None:
            yield chunk
    last = planner.flush()
    if last is not None:
        yield last


def positional_chunks(inputs: Sequence[object], max_items: int, max_bytes: int) -> list[Chunk] | None:
    """Input dicts cut into chunks by count, each chunk's items encoded in one go.

    The fast plan of `IdPolicy.POSITIONS`: one encoder call per chunk rather
    than one per item.  None when it does not apply (an input that is not a
    plain dict or not JSON, or a chunk over ``max_bytes``): then the items are
    planned one by one, which also names the item at fault.
    """
    chunks: list[Chunk] = []
    for start in range(0, len(inputs), max_items):
        values = inputs[start : start + max_items]
        if not all(type(value) is dict for value in values):
            return None
        ids = [str(index) for index in range(start, start + len(values))]
        try:
            encoded = encode(
                [{"id": item_id, "input": value} for item_id, value in zip(ids, values, strict=True)]
            )
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
            return None
        if len(encoded) > max_bytes:
            return None
        chunks.append(Chunk(ids=ids, size=len(encoded), array=msgspec.Raw(encoded)))
    return chunks


class _ChunkRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A BatchExecuteRequest whose items are already encoded, one by one or as one array."""

    task_id: uuid.UUID
    items: list[msgspec.Raw] | msgspec.Raw
    version: int | None = None
    max_concurrency: int = 10
    stop_on_first_error: bool = False
    timeout_ms: int | None = None


def encode_chunk_request(settings: JobSettings, chunk: Chunk) -> bytes:
    """The body of the chunk's ``POST /batch/execute``."""
    return encode(
        _ChunkRequest(
            task_id=settings.task_id,
            items=chunk.items if chunk.array is None else chunk.array,
            version=settings.version,
            max_concurrency=settings.max_concurrency,
            stop_on_first_error=settings.stop_on_first_error,
            timeout_ms=settings.timeout_ms,
        )
    )
