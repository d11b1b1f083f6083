"""Planning a batch without a server: the id rule, one encoding per item, chunks by count and bytes."""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopai import BatchExecuteItem, InvalidArgumentException
from loopai._batch import SERVER_BODY_LIMIT, IdPolicy, JobSettings
from loopai._batch._plan import (
    BODY_HEADROOM,
    Chunk,
    ItemEncoder,
    encode_all,
    encode_chunk_request,
    plan_chunks,
    positional_chunks,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
inputs = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def raw_items(sizes: list[int]) -> list[tuple[str, msgspec.Raw]]:
    """Encoded items of the given sizes (in bytes), with ids "0", "1", ..."""
    return [(str(n), msgspec.Raw(b"x" * size)) for n, size in enumerate(sizes)]


@given(
    sizes=st.lists(st.integers(1, 3_000), max_size=60),
    max_items=st.integers(1, 12),
    max_bytes=st.integers(1_000, 8_000),
)
def test_chunks_keep_order_and_stay_within_their_limits(
    sizes: list[int], max_items: int, max_bytes: int
) -> None:
    """Every item lands in one chunk, in order; a chunk over max_bytes holds a single item."""
    items = raw_items(sizes)
    chunks = list(plan_chunks(items, max_items, max_bytes))
    assert [item_id for chunk in chunks for item_id in chunk.ids] == [item_id for item_id, _ in items]
    assert [raw for chunk in chunks for raw in chunk.items] == [raw for _, raw in items]
    for chunk in chunks:
        assert 1 <= len(chunk.ids) <= max_items
        assert chunk.size == sum(len(raw) + 1 for raw in chunk.items)
        assert chunk.size <= max_bytes or len(chunk.ids) == 1


@given(sizes=st.lists(st.integers(1, 500), min_size=1, max_size=40), max_items=st.integers(1, 10))
def test_chunks_are_as_full_as_their_limits_allow(sizes: list[int], max_items: int) -> None:
    """A chunk is closed only when full by count or when the next item would not fit its bytes."""
    max_bytes = 2_000
    chunks = list(plan_chunks(raw_items(sizes), max_items, max_bytes))
    for chunk, following in itertools.pairwise(chunks):
        full = len(chunk.ids) == max_items
        assert full or chunk.size + len(following.items[0]) + 1 > max_bytes


def test_an_item_over_the_server_limit_gets_a_chunk_of_its_own() -> None:
    """An item too large for the server's body is planned alone and marked too large."""
    big = SERVER_BODY_LIMIT - BODY_HEADROOM
    chunks = list(plan_chunks(raw_items([10, big, 10]), 100, 4_000_000))
    assert [len(chunk.ids) for chunk in chunks] == [1, 1, 1]
    assert [chunk.too_large for chunk in chunks] == [False, True, False]
    assert not Chunk(size=SERVER_BODY_LIMIT - BODY_HEADROOM).too_large


@given(values=st.lists(inputs, max_size=20))
def test_positions_are_the_ids_of_input_dicts(values: list[dict[str, Any]]) -> None:
    """Under POSITIONS each input dict gets its position as id, and is encoded once as {id, input}."""
    encoded = encode_all(values, IdPolicy.POSITIONS)
    assert [item_id for item_id, _ in encoded] == [str(n) for n in range(len(values))]
    decoded = [msgspec.json.decode(raw, type=BatchExecuteItem) for _, raw in encoded]
    assert decoded == [BatchExecuteItem(id=str(n), input=value) for n, value in enumerate(values)]


def test_a_mapping_that_is_not_a_dict_is_taken_as_an_input() -> None:
    """Other mappings are accepted as inputs (copied into a dict for encoding)."""
    [(item_id, raw)] = encode_all([OrderedDict(text="x")], IdPolicy.POSITIONS)
    assert (item_id, bytes(raw)) == ("0", b'{"id":"0","input":{"text":"x"}}')


@given(ids=st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=10), as_items=st.booleans())
def test_caller_ids_are_kept_and_repeats_refused(ids: list[str], as_items: bool) -> None:
    """Under CALLER ids are kept; the first repeated id is refused, naming its position."""
    values: list[object] = [
        BatchExecuteItem(id=item_id, input={"n": n}) if as_items else {"id": item_id, "input": {"n": n}}
        for n, item_id in enumerate(ids)
    ]
    first_repeat = next((n for n, item_id in enumerate(ids) if item_id in ids[:n]), None)
    if first_repeat is None:
        assert [item_id for item_id, _ in encode_all(values, IdPolicy.CALLER)] == ids
        return
    with pytest.raises(InvalidArgumentException, match=rf"items\[{first_repeat}\]\.id.*duplicate item id"):
        encode_all(values, IdPolicy.CALLER)


def test_a_stream_takes_its_id_rule_from_its_first_item() -> None:
    """A stream's first item chooses the rule; an item of the other kind is then refused."""
    item = BatchExecuteItem(id="a", input={})
    assert IdPolicy.of_first(item) is IdPolicy.CALLER
    assert IdPolicy.of_first({"text": "x"}) is IdPolicy.POSITIONS
    positions = ItemEncoder()
    assert positions.encode({"text": "x"})[0] == "0"
    with pytest.raises(InvalidArgumentException, match=r"items\[1\].*input dict.*BatchExecuteItem"):
        positions.encode(item)
    caller = ItemEncoder()
    assert caller.encode(item)[0] == "a"
    with pytest.raises(InvalidArgumentException, match=r"items\[1\].*needs keys id, input"):
        caller.encode({"text": "x"})


@pytest.mark.parametrize(
    ("policy", "value", "words"),
    [
        (IdPolicy.CALLER, {"input": {}}, "needs keys id, input"),
        (IdPolicy.CALLER, {"id": "", "input": {}}, "non-empty string"),
        (IdPolicy.CALLER, {"id": "a", "input": [1]}, "must be a dict"),
        (IdPolicy.CALLER, "text", "must be a dict or BatchExecuteItem"),
        (IdPolicy.POSITIONS, ["text"], "must be an input dict"),
        (IdPolicy.POSITIONS, {"when": object()}, "is not JSON"),
    ],
)
def test_malformed_items_are_refused_with_their_position(policy: IdPolicy, value: object, words: str) -> None:
    """A malformed item raises InvalidArgumentException naming items[i] and what is wrong."""
    with pytest.raises(InvalidArgumentException, match=r"items\[1\]") as caught:
        encode_all([{"id": "ok", "input": {}}, value], policy)
    assert words in str(caught.value)


def test_a_chunk_request_carries_the_encoded_items_and_the_servers_fields() -> None:
    """The chunk body is a BatchExecuteRequest with the items as encoded, defaults omitted."""
    settings = JobSettings.checked(uuid.UUID(int=1), max_concurrency=7, timeout_ms=500)
    [chunk] = plan_chunks(encode_all([{"text": "x"}, {"text": "y"}], IdPolicy.POSITIONS), 10, 4_000)
    body = msgspec.json.decode(encode_chunk_request(settings, chunk))
    assert body == {
        "task_id": str(uuid.UUID(int=1)),
        "items": [{"id": "0", "input": {"text": "x"}}, {"id": "1", "input": {"text": "y"}}],
        "max_concurrency": 7,
        "timeout_ms": 500,
    }


@given(
    values=st.lists(
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=20), max_size=4), max_size=60
    ),
    max_items=st.integers(1, 25),
)
def test_the_positional_fast_plan_sends_what_the_item_by_item_plan_sends(
    values: list[dict[str, object]], max_items: int
) -> None:
    """Chunks encoded in one go hold the same ids and inputs, in the same order, as item by item."""
    fast = positional_chunks(values, max_items, 4_000_000)
    assert fast is not None
    slow = list(plan_chunks(encode_all(values, IdPolicy.POSITIONS), max_items, 4_000_000))
    assert [chunk.ids for chunk in fast] == [chunk.ids for chunk in slow]
    for quick, careful in zip(fast, slow, strict=True):
        assert quick.array is not None
        decoded = msgspec.json.decode(bytes(quick.array))
        assert [item["input"] for item in decoded] == [
            msgspec.json.decode(bytes(raw))["input"] for raw in careful.items
        ]


def test_the_positional_fast_plan_steps_aside_for_what_it_cannot_take() -> None:
    """A non-dict input, a non-JSON value or an oversized chunk: None, and items go one by one."""
    assert positional_chunks([{"a": 1}, ["not", "a", "dict"]], 10, 4_000_000) is None
    assert positional_chunks([{"a": object()}], 10, 4_000_000) is None
    assert positional_chunks([{"a": "x" * 2000}], 10, 1_000) is None
