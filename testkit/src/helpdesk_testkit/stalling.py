"""A server that accepts connections and never answers: what a hung dependency looks like.

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
