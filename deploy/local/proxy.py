"""One address in front of a service's replicas (`make up REPLICAS=2`): a round-robin TCP proxy.

    python -m deploy.local.proxy --listen 127.0.0.1:8001 \
        --backend 127.0.0.1:40101 --backend 127.0.0.1:40102

Balancing is per connection, as a Kubernetes Service balances (deploy/k8s): a keep-alive client
connection stays with the replica it reached, each new connection goes to the next replica. Every
backend's `/readyz` is polled each `--probe-interval` seconds; a new connection goes to a ready
backend first, to one that is not ready only when none is (a service whose broker is down still
serves its reads), and a backend that refuses the connection is marked down and the next one is
tried. Nothing is retried once bytes went to a replica: if it dies mid-request, the client sees
its connection closed, as it would without the proxy. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

CONNECT_TIMEOUT_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 2.0
CHUNK = 65536


@dataclass
class Backend:
    """A replica's address, and whether its last probe (or connection) found it ready."""

    host: str
    port: int
    ready: bool = True

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class RoundRobin:
    """The order in which a new connection tries the backends."""

    def __init__(self, backends: Sequence[Backend]) -> None:
        if not backends:
            raise ValueError("a proxy needs at least one backend")
        self.backends = list(backends)
        self._next = 0

    def order(self) -> list[Backend]:
        """Every backend once, starting one further than last time; the ready ones first."""
        count = len(self.backends)
        start, self._next = self._next, (self._next + 1) % count
        rotated = [self.backends[(start + i) % count] for i in range(count)]
        return [b for b in rotated if b.ready] + [b for b in rotated if not b.ready]


async def probe(backend: Backend) -> bool:
    """True when the backend answers `GET /readyz` with 200."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(backend.host, backend.port), PROBE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET /readyz HTTP/1.0\r\nHost: {backend}\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), PROBE_TIMEOUT_SECONDS)
        return status_line.split()[1:2] == [b"200"]
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Proxy:
    """Listen on one address, hand each connection to a backend chosen by `RoundRobin`."""

    def __init__(self, backends: Sequence[Backend], probe_interval: float = 1.0) -> None:
        self.balancer = RoundRobin(backends)
        self._probe_interval = probe_interval
        #: Connections handed to each backend (`host:port`), for tests and logs.
        self.connections: dict[str, int] = {str(b): 0 for b in backends}

    async def watch(self) -> None:
        """Probe every backend, forever."""
        while True:
            outcomes = await asyncio.gather(*(probe(b) for b in self.balancer.backends))
            for backend, ready in zip(self.balancer.backends, outcomes, strict=True):
                backend.ready = ready
            await asyncio.sleep(self._probe_interval)

    async def serve_client(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        upstream = await self._connect()
        if upstream is None:
            client_writer.close()
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))
        finally:
            for writer in (up_writer, client_writer):
                writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the first backend (in round-robin order) that accepts one."""
        for backend in self.balancer.order():
            try:
                streams = await asyncio.wait_for(
                    asyncio.open_connection(backend.host, backend.port), CONNECT_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError):
                backend.ready = False  # skipped until a probe finds it ready again
                continue
            self.connections[str(backend)] += 1
            return streams
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (half-close); a reset ends it too."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


def parse_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:8001` -> ("127.0.0.1", 8001)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


async def run(listen: tuple[str, int], backends: Sequence[Backend], interval: float) -> None:
    """Serve until SIGTERM or SIGINT."""
    proxy = Proxy(backends, interval)
    server = await asyncio.start_server(proxy.serve_client, *listen)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    watcher = asyncio.create_task(proxy.watch())
    print(f"proxy {listen[0]}:{listen[1]} -> {', '.join(map(str, backends))}", flush=True)
    async with server:
        await stopping.wait()
    watcher.cancel()
    print(f"proxy stopped; connections per backend: {proxy.connections}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.proxy", description=__doc__)
    parser.add_argument("--listen", type=parse_address, required=True)
    parser.add_argument("--backend", type=parse_address, action="append", required=True)
    parser.add_argument("--probe-interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    backends = [Backend(host, port) for host, port in args.backend]
    asyncio.run(run(args.listen, backends, args.probe_interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
