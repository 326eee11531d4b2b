"""A TCP forwarder in a thread of its own: a listening address that leads to another one.

The network scenario runs the backend in a network namespace where 127.0.0.1 is its own: the
machine's PostgreSQL and RabbitMQ (which listen on the root namespace's 127.0.0.1, shared with
other tests and left untouched) are reached through forwarders listening on the root side of the
impaired link. The forwarder runs its own event loop in a thread, so a test blocked elsewhere
(starting processes, a synchronous check) never stalls the traffic it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

CHUNK = 65_536


@dataclass
class TcpForwarder:
    """Accept on `listen_host` (port chosen by the OS unless given), connect each client to
    `target_host:target_port`, copy bytes both ways until either side closes."""

    listen_host: str
    target_host: str
    target_port: int
    listen_port: int = 0
    connections: int = 0
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stopped: asyncio.Event | None = field(default=None, repr=False)

    def start(self) -> TcpForwarder:
        """Listen (in the thread), and return once the port is bound."""
        bound = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(bound, failure), name=f"forward-{self.target_port}", daemon=True
        )
        self._thread.start()
        bound.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close the listener and every connection; idempotent."""
        if self._loop is not None and self._stopped is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, bound: threading.Event, failure: list[BaseException]) -> None:
        try:
            asyncio.run(self._serve(bound))
        except BaseException as error:  # noqa: BLE001 - handed to start() to raise
            failure.append(error)
            bound.set()

    async def _serve(self, bound: threading.Event) -> None:
        self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._handle, self.listen_host, self.listen_port)
        self.listen_port = int(server.sockets[0].getsockname()[1])
        bound.set()
        async with server:
            await self._stopped.wait()
            server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

    async def _handle(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            target_in, target = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client.close()
            return
        # Cancelled when the forwarder stops: end quietly (asyncio logs a handler task that ends
        # cancelled as an error of its own).
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(_copy(client_in, target), _copy(target_in, client))


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end of file, then close the sink: a half-close ends the whole connection, which
    is how PostgreSQL and AMQP clients end theirs."""
    try:
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            sink.close()
