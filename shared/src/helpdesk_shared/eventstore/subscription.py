"""Catch-up subscriptions: follow the all-events log from a checkpoint kept in PostgreSQL.

A subscription hands each event to its handler inside one transaction that also moves the
checkpoint row `infra.checkpoints(name)` past it. A projection written through the handler's
connection therefore commits together with the checkpoint: after a crash or a handler error both
roll back, the events are handed over again, and each takes effect exactly once.

Waking up: an idle subscription polls the log with an adaptive back-off (5 ms doubling to 250 ms,
jittered so that replicas do not poll in step, back to 5 ms as soon as it finds events;
`helpdesk_shared.retry`), not LISTEN/NOTIFY, whose commit-time lock would
serialise every appending transaction (ADR 0002). `wake()` cuts a wait short for code in the same
process that knows it has just appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.retry import RetryPolicy

#: Called once per event, inside the transaction that advances the checkpoint.
Handler = Callable[[RecordedEvent, AsyncConnection], Awaitable[None]]


@runtime_checkable
class Batching(Protocol):
    """A handler that writes a batch's effects together: `flush` runs once per batch, after its
    last event and before the checkpoint, in the same transaction; `discard` forgets what the
    events of a batch that failed left pending (the batch is handed over again)."""

    async def flush(self, conn: AsyncConnection) -> None: ...

    def discard(self) -> None: ...


log = logging.getLogger(__name__)

#: Two-key advisory lock (class, hashtext(name)): one instance of a subscription works at a time.
_SUBSCRIPTION_LOCK_CLASS = 0x53554253  # "SUBS"

_LOCK = text(f"SELECT pg_advisory_xact_lock({_SUBSCRIPTION_LOCK_CLASS}, hashtext(:name))")
_LOAD = text("SELECT tx_id, global_position FROM infra.checkpoints WHERE name = :name")
_SAVE = text(
    """INSERT INTO infra.checkpoints (name, tx_id, global_position)
    VALUES (:name, :tx_id, :global_position)
    ON CONFLICT (name) DO UPDATE
    SET tx_id = excluded.tx_id, global_position = excluded.global_position, updated_at = now()"""
)


#: While idle: prompt after a burst of activity, four to eight cheap index probes a second when
#: quiet. Half jitter: enough to keep replicas out of step, without doubling the quiet probes.
IDLE_BACKOFF = RetryPolicy(initial=0.005, maximum=0.25, jitter=0.5)
#: After a handler or database error: retry the same events, less and less often.
ERROR_BACKOFF = RetryPolicy(initial=0.1, maximum=30.0)


class CatchUpSubscription:
    """Hands every event of the log, in log order, to `handler`, remembering where it stopped.

    Several instances (replicas) may run under one `name`: a transaction-scoped advisory lock lets
    one of them at a time handle a batch, and each starts from the checkpoint the last one saved.
    A transaction that has written holds back every reader of the log until it ends, so a batch
    commits after `batch_size` events or `max_batch_seconds`, whichever comes first.
    """

    def __init__(
        self,
        store: EventStore,
        name: str,
        handler: Handler,
        batch_size: int = 500,
        *,
        max_batch_seconds: float = 1.0,
        idle_backoff: RetryPolicy = IDLE_BACKOFF,
        error_backoff: RetryPolicy = ERROR_BACKOFF,
        settle_seconds: float = 0.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._store = store
        self._name = name
        self._handler = handler
        self._batch_size = batch_size
        self._max_batch_seconds = max_batch_seconds
        self._idle_backoff = idle_backoff
        self._error_backoff = error_backoff
        #: After a catch-up that handled events, wait this long before the next one, so that the
        #: events written meanwhile are handled together. Without it, under a steady flow of
        #: appends, each catch-up found the one or two events written during the previous one:
        #: a transaction and a checkpoint per event (about as much CPU as the command itself in
        #: the ticket service, bench/ticket/README.md).
        self._settle_seconds = settle_seconds
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()
        self._running = asyncio.Lock()

    @property
    def name(self) -> str:
        return self._name

    async def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Handle every event readable now, batch by batch; the number handled.

        A handler error rolls back the batch it happened in (projection and checkpoint) and is
        raised; the events before that batch stay handled. `progress` is told the running count
        after each batch (a rebuild's progress line).
        """
        total = 0
        while not self._stopping.is_set():
            handled, reached_end = await self._handle_batch()
            total += handled
            if progress is not None:
                progress(total)
            if reached_end:
                break
        return total

    async def run(self) -> None:
        """Catch up, then follow the log until `stop()`; errors are logged and retried."""
        async with self._running:
            idle_waits = self._idle_backoff.delays()
            error_waits = self._error_backoff.delays()
            while not self._stopping.is_set():
                try:
                    handled = await self.catch_up()
                except Exception:
                    log.exception("subscription %s failed; retrying the same events", self._name)
                    await self._pause(next(error_waits, self._error_backoff.maximum))
                    continue
                error_waits = self._error_backoff.delays()
                if handled:
                    idle_waits = self._idle_backoff.delays()
                    if self._settle_seconds > 0:
                        await self._settle()
                else:
                    await self._pause(next(idle_waits, self._idle_backoff.maximum))

    async def stop(self) -> None:
        """Ask `run()` to finish after the current batch, and wait until it has."""
        self._stopping.set()
        self._woken.set()
        async with self._running:
            pass

    def wake(self) -> None:
        """End the current idle wait now (for appenders in the same process)."""
        self._woken.set()

    async def position(self) -> LogPosition:
        """The log position of the last event handled (the start when none was)."""
        async with self._store.engine.connect() as conn:
            row = (await conn.execute(_LOAD, {"name": self._name})).first()
        return LogPosition(row.tx_id, row.global_position) if row else LogPosition.start()

    async def reset(self) -> None:
        """Move the checkpoint back to the start, to rebuild a projection from the whole log.

        Clear the projection's own tables in the same spirit before the next `catch_up()`.
        """
        async with self._store.engine.begin() as conn:
            await conn.execute(_LOCK, {"name": self._name})
            await self._save(conn, LogPosition.start())

    async def _handle_batch(self) -> tuple[int, bool]:
        """One transaction: lock, read after the checkpoint, handle, save the checkpoint."""
        async with self._store.engine.begin() as conn:
            await conn.execute(_LOCK, {"name": self._name})
            row = (await conn.execute(_LOAD, {"name": self._name})).first()
            after = LogPosition(row.tx_id, row.global_position) if row else LogPosition.start()
            events = await self._store.read_all(after, self._batch_size, conn=conn)
            handled = await self._handle(events, conn)
            if handled:
                await self._save(conn, events[handled - 1].log_position)
        return handled, handled == len(events) < self._batch_size

    async def _handle(self, events: list[RecordedEvent], conn: AsyncConnection) -> int:
        """Hand the events over in order until the batch's time is up; the number handled."""
        batching = self._handler if isinstance(self._handler, Batching) else None
        deadline = time.monotonic() + self._max_batch_seconds
        handled = 0
        try:
            for event in events:
                await self._handler(event, conn)
                handled += 1
                if time.monotonic() > deadline:
                    break
            if batching is not None and handled:
                await batching.flush(conn)
        except BaseException:
            if batching is not None:
                batching.discard()
            raise
        return handled

    async def _save(self, conn: AsyncConnection, position: LogPosition) -> None:
        params = {
            "name": self._name,
            "tx_id": position.tx_id,
            "global_position": position.global_position,
        }
        await conn.execute(_SAVE, params)

    async def _settle(self) -> None:
        """Wait `settle_seconds` (wakes do not shorten it; `stop()` does)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._settle_seconds)
        self._woken.clear()  # the catch-up that follows serves every wake of the wait

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), seconds)
        self._woken.clear()
