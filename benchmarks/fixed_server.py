"""A minimal HTTP/1.1 server with precomputed answers, so the client's CPU dominates.

``POST /api/v1/batch/execute`` gets a BatchExecuteResponse with one result
per request item (same ids, ~5% failed; built once per distinct id list and
cached); every other request gets one fixed ExecuteResponse.

Runs in its own process so the client's CPU time is measured alone:
``python -m benchmarks.fixed_server`` prints ``listening on URL``.  It is
a benchmark fixture, not part of loopai (which never imports asyncio).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict

import msgspec

from .wire_data import batch_response

TASK_ID = "6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e"
BODY = json.dumps(
    {
        "execution_id": str(uuid.UUID(int=1)),
        "task_id": TASK_ID,
        "program_id": str(uuid.UUID(int=2)),
        "version": 1,
        "status": "success",
        "output": "spam",
        "latency_ms": 0.8123,
        "sampled_for_validation": False,
        "executed_at": "2025-10-27T12:34:56.1234567Z",
    }
).encode()
BATCH_PATH = b"/api/v1/batch/execute"


def _response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
        b"api-supported-versions: 1.0\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


RESPONSE = _response(BODY)


class _Item(msgspec.Struct):
    id: str


class _BatchRequest(msgspec.Struct):
    items: list[_Item]


_decode_request = msgspec.json.Decoder(_BatchRequest).decode
_batch_answers: OrderedDict[tuple[str, ...], bytes] = OrderedDict()


def batch_answer(body: bytes) -> bytes:
    """The full HTTP answer to a batch request body: one result per item, built once per id list."""
    ids = tuple(item.id for item in _decode_request(body).items)
    answer = _batch_answers.get(ids)
    if answer is None:
        answer = _batch_answers[ids] = _response(batch_response(len(ids), ids=list(ids)))
        while len(_batch_answers) > 32:
            _batch_answers.popitem(last=False)
    return answer


class _Answer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            request_line = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            if request_line.startswith(b"POST " + BATCH_PATH):
                self.transport.write(batch_answer(body))
            else:
                self.transport.write(RESPONSE)


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Answer, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
