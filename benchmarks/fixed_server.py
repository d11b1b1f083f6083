"""A minimal HTTP/1.1 server that answers every request with one fixed ExecuteResponse.

Runs in its own process so the client's CPU time is measured alone:
``python -m benchmarks.fixed_server`` prints ``listening on URL``.  It is
a benchmark fixture, not part of loopai (which never imports asyncio).
"""

from __future__ import annotations

import asyncio
import json
import uuid

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
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
    b"api-supported-versions: 1.0\r\ncontent-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


class _Answer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

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
            self.buffer = self.buffer[end + 4 + length :]
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
