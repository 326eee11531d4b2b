"""A server that accepts connections and never answers, and a proxy that makes a real server
seem to hang: what a hung dependency looks like.

Tests of the timeouts point a client (asyncpg, httpx, the JWKS fetch) at it and check that the
call gives up after its timeout instead of waiting for ever. It listens on 127.0.0.1 only and
closes every connection it accepted when the test leaves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def stalling_server() -> AsyncIterator[int]:
    """The port of a TCP server that reads what it is sent and never says a word."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


class PausableProxy:
    """A TCP proxy to a real server that can stop passing bytes (both ways) and start again:
    the connection stays open, the server seems to hang (a network that stalls)."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._target)
        self._writers += [client_w, server_w]
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))


@asynccontextmanager
async def pausable_proxy(host: str, port: int) -> AsyncIterator[PausableProxy]:
    """A `PausableProxy` to host:port on a free local port, closed when the test leaves it."""
    proxy = PausableProxy(host, port)
    server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
    proxy.port = int(server.sockets[0].getsockname()[1])
    try:
        yield proxy
    finally:
        proxy.resume()
        for writer in proxy._writers:
            writer.close()
        server.close()
        await server.wait_closed()
