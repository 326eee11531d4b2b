"""Who is the active relay: the holder of a PostgreSQL advisory lock on a dedicated session.

A session-level advisory lock lives exactly as long as its connection, so the holder keeps that
connection open (outside any transaction) while it publishes, and checks it before each
checkpoint: if the connection died, the lock went with it and another relay may already be
active, so the holder steps down.
"""

from __future__ import annotations

import contextlib

import asyncpg

_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
#: `InternalClientError` ("cannot switch to state ...; another operation is in progress") is what
#: asyncpg raises on a session the server cut mid-operation (a PostgreSQL restart): lost too.
_CONNECTION_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class LeadershipLost(RuntimeError):
    """The advisory lock's connection died: another relay may be active now."""


class AdvisoryLock:
    """The lock named `name` in the database of `dsn` (a plain `postgresql://` DSN)."""

    def __init__(self, dsn: str, name: str, *, check_timeout: float = 10.0) -> None:
        self._dsn = dsn
        self.name = name
        self._check_timeout = check_timeout
        self._conn: asyncpg.Connection | None = None
        self._holding = False

    @property
    def held(self) -> bool:
        """Whether this session took the lock (and has not noticed losing it)."""
        return self._holding

    async def connect(self) -> None:
        """Open the dedicated session the lock will live in."""
        if self._conn is None or self._conn.is_closed():
            self._conn = None
            self._conn = await asyncpg.connect(self._dsn)
            self._holding = False

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this session holds it now."""
        await self.connect()
        assert self._conn is not None
        try:
            self._holding = bool(await self._conn.fetchval(_TRY_LOCK, self.name))
        except _CONNECTION_ERRORS:
            await self.release()
            raise
        return self._holding

    async def check(self) -> None:
        """Raise `LeadershipLost` unless the session holding the lock is still alive."""
        if self._conn is None or not self._holding:
            raise LeadershipLost(f"lock {self.name!r} is not held")
        try:
            await self._conn.fetchval("SELECT 1", timeout=self._check_timeout)
        except _CONNECTION_ERRORS as error:
            raise LeadershipLost(
                f"lock {self.name!r} lost with its connection: {error!r}"
            ) from error

    async def release(self) -> None:
        """End the session, which releases the lock."""
        conn, self._conn, self._holding = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await conn.close(timeout=2)
