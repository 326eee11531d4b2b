"""The proxy in front of a service's replicas (`make up REPLICAS=2`): round robin over the ready
replicas, a dead or unready one skipped. Real sockets on free ports, tiny HTTP backends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from deploy.local.proxy import Backend, Proxy, RoundRobin


def test_round_robin_starts_one_further_each_time_and_tries_ready_backends_first() -> None:
    first, second, third = Backend("h", 1), Backend("h", 2), Backend("h", 3)
    balancer = RoundRobin([first, second, third])
    assert [balancer.order()[0].port for _ in range(4)] == [1, 2, 3, 1]
    second.ready = False
    assert balancer.order() == [third, first, second]  # the unready one last, still tried


class Replica:
    """An HTTP server answering `GET /whoami` with its name, `/readyz` with 200 or 503."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = True
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, OSError):
            await self._answer_requests(reader, writer)
        writer.close()

    async def _answer_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while request := await reader.readuntil(b"\r\n\r\n"):
            path = request.split()[1]
            ok = path != b"/readyz" or self.ready
            body = self.name.encode()
            status = b"200 OK" if ok else b"503 Service Unavailable"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
            writer.write(body)
            await writer.drain()
            if b"HTTP/1.0" in request.split(b"\r\n")[0]:
                return


@asynccontextmanager
async def proxied(*replicas: Replica) -> AsyncIterator[tuple[str, Proxy]]:
    for replica in replicas:
        await replica.start()
    proxy = Proxy([Backend("127.0.0.1", r.port) for r in replicas], probe_interval=0.1)
    server = await asyncio.start_server(proxy.serve_client, "127.0.0.1", 0)
    watcher = asyncio.create_task(proxy.watch())
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", proxy
    finally:
        watcher.cancel()
        server.close()
        for replica in replicas:
            if replica.server is not None and replica.server.is_serving():
                await replica.stop()


async def whoami(url: str, times: int) -> list[str]:
    """One new connection per request: the proxy balances connections."""
    names = []
    for _ in range(times):
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            names.append((await client.get("/whoami")).text)
    return names


async def test_new_connections_go_round_the_replicas() -> None:
    async with proxied(Replica("one"), Replica("two")) as (url, _):
        assert sorted(await whoami(url, 4)) == ["one", "one", "two", "two"]


async def test_a_keep_alive_connection_stays_with_its_replica() -> None:
    async with proxied(Replica("one"), Replica("two")) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            names = {(await client.get("/whoami")).text for _ in range(4)}
        assert len(names) == 1


async def test_a_dead_replica_is_skipped_at_once() -> None:
    dead, alive = Replica("dead"), Replica("alive")
    async with proxied(dead, alive) as (url, proxy):
        await dead.stop()  # before any probe noticed: the refused connection is enough
        assert await whoami(url, 4) == ["alive"] * 4
        assert not proxy.balancer.backends[0].ready


async def test_an_unready_replica_gets_no_connection_while_another_is_ready() -> None:
    unready, ready = Replica("unready"), Replica("ready")
    async with proxied(unready, ready) as (url, proxy):
        unready.ready = False
        for _ in range(50):  # the probes run every 0.1 s
            if not proxy.balancer.backends[0].ready:
                break
            await asyncio.sleep(0.1)
        assert await whoami(url, 4) == ["ready"] * 4
        ready.ready = False
        await asyncio.sleep(0.5)
        # None ready: both are tried again (a service without its broker still serves reads).
        assert sorted(set(await whoami(url, 4))) == ["ready", "unready"]
