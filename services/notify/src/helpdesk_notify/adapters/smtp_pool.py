"""A few persistent SMTP connections, shared by the mails being sent.

Opening a connection (TCP, greeting, EHLO, then STARTTLS and AUTH when configured) costs more
round trips than the mail transaction itself, so a connection is kept after a mail and used for
the next one. A kept connection may have been closed by the server in the meantime (its idle
timeout, a restart): it is dropped when the client already knows it, and one idle for a while is
asked `NOOP` first, so a stale connection is replaced before a mail is attempted on it. After a
failed transaction the envelope is reset (`RSET`) and the connection kept only if the server
confirms; otherwise the next mail could start inside a half-finished envelope and be refused
with a 5xx that has nothing to do with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiosmtplib

#: A pooled connection used less than this many seconds ago is trusted without a `NOOP`: in a
#: burst every mail would otherwise pay one more round trip, and a connection cut that recently
#: only costs a passing failure, retried like any other.
CHECK_AFTER_IDLE_SECONDS = 1.0

_TRANSPORT_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    last_used: float


class SmtpConnections:
    """At most `size` connections to one SMTP server, each carrying one transaction at a time."""

    def __init__(
        self,
        connect: Callable[[], aiosmtplib.SMTP],
        *,
        size: int,
        timeout: float,
        check_after: float = CHECK_AFTER_IDLE_SECONDS,
    ) -> None:
        if size < 1:
            raise ValueError("an SMTP pool needs at least one connection")
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        self._timeout = timeout
        self._check_after = check_after
        #: Connections opened so far (a burst over a healthy server opens at most `size`).
        self.opened = 0

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client for one mail transaction; given back afterwards if still usable.

        Raises what connecting raises (aiosmtplib's errors, `OSError`, `TimeoutError`), and
        `TimeoutError` when no connection frees up within the timeout: the caller holds a
        database transaction meanwhile, so waiting is bounded like any SMTP exchange.
        """
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except TimeoutError:
            raise TimeoutError(f"no SMTP connection free within {self._timeout:g} s") from None
        try:
            pooled = await self._checkout()
            try:
                yield pooled.client
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
                await self._reset_or_drop(pooled)
                raise
            except BaseException:
                pooled.client.close()  # the transaction's state is unknown: never reuse it
                raise
            self._give_back(pooled)
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Say QUIT on every idle connection (at shutdown); errors do not matter any more."""
        idle, self._idle = self._idle, []
        for pooled in idle:
            with contextlib.suppress(*_TRANSPORT_ERRORS):
                await pooled.client.quit(timeout=self._timeout)
            pooled.client.close()

    async def _checkout(self) -> _Connection:
        """The most recently used idle connection that still answers, else a new one."""
        while self._idle:
            pooled = self._idle.pop()
            if await self._still_open(pooled):
                return pooled
        client = self._connect()
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self.opened += 1
        return _Connection(client, time.monotonic())

    async def _still_open(self, pooled: _Connection) -> bool:
        if not pooled.client.is_connected:
            pooled.client.close()
            return False
        if time.monotonic() - pooled.last_used < self._check_after:
            return True
        try:
            await pooled.client.noop(timeout=self._timeout)
        except _TRANSPORT_ERRORS:
            pooled.client.close()
            return False
        return True

    async def _reset_or_drop(self, pooled: _Connection) -> None:
        """After a refused transaction: keep the connection only once the server confirms RSET.

        aiosmtplib sends a RSET of its own but ignores its outcome; this one is checked.
        """
        try:
            await pooled.client.rset(timeout=self._timeout)
        except _TRANSPORT_ERRORS:
            pooled.client.close()
            return
        self._give_back(pooled)

    def _give_back(self, pooled: _Connection) -> None:
        if pooled.client.is_connected:
            pooled.last_used = time.monotonic()
            self._idle.append(pooled)
        else:
            pooled.client.close()
