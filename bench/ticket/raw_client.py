"""A lean HTTP/1.1 load generator: keep-alive connections over asyncio streams.

httpx spent 4 to 6 ms of CPU per request in the load generator, more than the server under test
spent answering it: on a 2-CPU machine the generator took a whole CPU from the server at 200
requests/s and its own queueing showed up in the latencies. This client writes the request bytes
and reads the status line, the headers and a `Content-Length` body, nothing more (about a tenth
of httpx's CPU), so the figures are the server's. Both endpoints of the benchmark use it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
#: Under uvicorn's keep-alive timeout (5 s): an idle connection older than this is not reused.
IDLE_SECONDS = 4.0


class TransportError(Exception):
    """The connection failed or the answer was not HTTP/1.1 with a length."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RawClient:
    """Up to `max_connections` keep-alive connections to one `host:port`, opened on demand."""

    host: str
    port: int
    max_connections: int = 64
    #: Idle connections with the moment each was last used, most recent last.
    _idle: list[tuple[Connection, float]] = field(default_factory=list)
    _open: int = 0
    _freed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    def for_url(cls, base: str, max_connections: int = 64) -> RawClient:
        parts = urlsplit(base)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, max_connections)

    async def post(self, url: str, *, headers: dict[str, str], json: Any) -> Answer:
        body = _dumps(json)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {urlsplit(url).path} HTTP/1.1\r\nhost: {self.host}\r\n{head}"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        connection = await self._take()
        try:
            answer = await _exchange(connection, request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            await self._drop(connection)
            raise TransportError(str(error)) from error
        await self._give(connection)
        return answer

    async def aclose(self) -> None:
        for (_, writer), _used in self._idle:
            writer.close()
        self._idle.clear()

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _take(self) -> Connection:
        async with self._freed:
            while not self._idle and self._open >= self.max_connections:
                await self._freed.wait()
            while self._idle:
                connection, used = self._idle.pop()
                if time.monotonic() - used < IDLE_SECONDS and not connection[0].at_eof():
                    return connection
                connection[1].close()  # the server closes idle keep-alive connections
                self._open -= 1
            self._open += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            await self._drop(None)
            raise

    async def _give(self, connection: Connection) -> None:
        async with self._freed:
            self._idle.append((connection, time.monotonic()))
            self._freed.notify()

    async def _drop(self, connection: Connection | None) -> None:
        if connection is not None:
            connection[1].close()
        async with self._freed:
            self._open -= 1
            self._freed.notify()


async def _exchange(connection: Connection, request: bytes) -> Answer:
    reader, writer = connection
    writer.write(request)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError("an answer without content-length")
    body = await reader.readexactly(int(headers["content-length"]))
    return Answer(status, headers, body)


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
