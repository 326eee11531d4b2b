"""The one application service of every aggregate: load, check `If-Match`, decide, append.

The state is loaded through the state cache (so never stale: topped up from the stream), the
append names the version it was decided on (a concurrent change is a conflict, never an
overwrite), and without `If-Match` a lost race is decided again on the fresh state a bounded
number of times. With `If-Match` the caller chose a version: a conflict is theirs to see.

A command on a state that this process's own append left skips the top-up read and appends
alone: one round trip. Another process (a replica) may have appended since; the append names the
version the command was decided on, so that case is a conflict, and the command is then decided
again the usual way, on a fresh state. Anything but an append decided on such a state (a refusal,
a stale `If-Match`, nothing to do) is decided again on a fresh state too, so no answer comes from
a stale one; an error that is none of the service's `refusals` is raised as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import datetime
from typing import Generic, TypeVar

from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
)
from helpdesk_shared.kernel.command import (
    After,
    Check,
    Guard,
    Loaded,
    PreconditionFailed,
    Prepare,
    Steps,
    decide_on,
)
from helpdesk_shared.kernel.decider import Decider, replay
from helpdesk_shared.kernel.ports import Connection, EventStore, Snapshots
from helpdesk_shared.kernel.state_cache import DEFAULT_CACHE_SIZE, StateCache

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E", bound=DomainEvent)

#: Attempts of a command sent without `If-Match` (the first and the retries of a lost race).
ATTEMPTS_WITHOUT_IF_MATCH = 3


class AggregateService(Generic[C, S, E]):
    """Runs one decider's commands on an event store.

    `not_found` is the error for an aggregate without events. `refusals` are the exceptions by
    which the caller's steps and the decider refuse a command: raised on the state this process's
    own append left, which may be stale, they are answered on a fresh state instead; any other
    error is raised as it is. `appended` is called after each
    committed append (a service wakes its projections with it). `before_append` is for tests
    only: called between loading and appending, it lets one stage a concurrent writer.
    """

    def __init__(
        self,
        decider: Decider[C, S, E],
        store: EventStore,
        not_found: Callable[[uuid.UUID], Exception],
        *,
        refusals: tuple[type[Exception], ...],
        snapshots: Snapshots[S] | None = None,
        attempts: int = ATTEMPTS_WITHOUT_IF_MATCH,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.decider = decider
        self.store = store
        self.not_found = not_found
        #: A stale `If-Match` on such a state is a refusal too: the fresh version answers it.
        self.refusals: tuple[type[Exception], ...] = (PreconditionFailed, *refusals)
        self.attempts = attempts
        self.states = StateCache(store, decider, snapshots, size=cache_size)
        self.appended: Callable[[], None] = lambda: None
        self.before_append: Callable[[str], Awaitable[None]] | None = None

    async def current(self, aggregate_id: uuid.UUID, *, conn: Connection = None) -> Loaded[S]:
        """The latest state, topped up from the cache (no events: see `history`)."""
        version, state = await self.states.state(self.decider.stream_id(aggregate_id), conn=conn)
        if state is None:
            raise self.not_found(aggregate_id)
        return Loaded(state, version)

    async def history(self, aggregate_id: uuid.UUID, as_of: datetime | None = None) -> Loaded[S]:
        """The state replayed from every event (recorded up to `as_of`, when given), with them."""
        events = await self.store.read_stream(self.decider.stream_id(aggregate_id))
        if as_of is not None:
            events = [e for e in events if e.recorded_at <= as_of]
        state = replay(self.decider, events)
        if state is None:
            raise self.not_found(aggregate_id)
        return Loaded(state, events[-1].version, events)

    async def handle(
        self,
        aggregate_id: uuid.UUID,
        prepare: Prepare[S, C],
        *,
        metadata: EventMetadata,
        if_match: str | None = None,
        check: Check[C, S] | None = None,
        after: After[S] | None = None,
        allowed: Callable[[S], list[str]] | None = None,
    ) -> Loaded[S]:
        """Run one command on an existing aggregate; the state and version after it.

        Without `after`, the read and the one append each run alone in autocommit (no
        transaction needed: the append names its version); with it, in one transaction. A
        conflict that outlives the retries (or any, with `If-Match`) names what `allowed` says
        the aggregate takes now.
        """
        steps = Steps(prepare, metadata, if_match, check, after)
        loaded = await self._run_naming_allowed(aggregate_id, steps, allowed)
        assert loaded is not None
        return loaded

    async def handle_once(
        self,
        aggregate_id: uuid.UUID,
        prepare: Prepare[S, C],
        guard: Guard,
        *,
        metadata: EventMetadata,
        after: After[S] | None = None,
        if_match: str | None = None,
        check: Check[C, S] | None = None,
        allowed: Callable[[S], list[str]] | None = None,
    ) -> bool:
        """Run a command only if `guard` claims it in the append's transaction (a usage fact
        counted once, an `Idempotency-Key`); False when it was claimed before. The rest as
        `handle`."""
        steps = Steps(prepare, metadata, if_match, check, after, guard)
        done = await self._run_naming_allowed(aggregate_id, steps, allowed)
        return done is not None

    async def _run_naming_allowed(
        self,
        aggregate_id: uuid.UUID,
        steps: Steps[C, S],
        allowed: Callable[[S], list[str]] | None,
    ) -> Loaded[S] | None:
        try:
            return await self._run(aggregate_id, steps)
        except ConcurrencyConflict as conflict:
            if allowed is not None:
                conflict.allowed = allowed((await self.current(aggregate_id)).state)
            raise

    async def create(
        self, aggregate_id: uuid.UUID, command: C, *, metadata: EventMetadata, conn: Connection
    ) -> Loaded[S]:
        """Start a new stream with `command`, on the caller's unit of work (which may write its
        own rows with it: an idempotency key, a claim). No retry: the stream is new."""
        events = self.decider.decide(command, self.decider.initial_state)
        stream = self.decider.stream_id(aggregate_id)
        new = [NewEvent.from_domain(e, metadata) for e in events]
        result = await self.store.append(stream, ExpectedVersion.NO_STREAM, new, conn=conn)
        state = self.decider.fold(self.decider.initial_state, events)
        assert state is not None
        return Loaded(state, result.last_version, appended=len(events))

    def committed(self, aggregate_id: uuid.UUID, loaded: Loaded[S]) -> None:
        """Tell the service a state of `create` committed (caller's transaction ended)."""
        stream = self.decider.stream_id(aggregate_id)
        self.states.remember(stream, loaded.version, loaded.state, own=True)
        self.appended()

    async def _run(self, aggregate_id: uuid.UUID, steps: Steps[C, S]) -> Loaded[S] | None:
        atomic = steps.atomic
        attempts = 1 if steps.if_match is not None else self.attempts
        if not atomic:
            try:
                done = await self._on_own_state(aggregate_id, steps)
            except ConcurrencyConflict:
                # A lost race like any other, one attempt spent; with `If-Match`, the fresh
                # state tells the caller which (412 when its version is gone, else 409).
                if steps.if_match is None:
                    if attempts == 1:
                        raise
                    attempts -= 1
            else:
                if done is not None:
                    return done
        for attempt in range(attempts):
            try:
                # Without a transaction, the read and the append (which names its version) each
                # run alone in autocommit: no checkout ping, the store replaces a dead connection.
                unit = self.store.transaction() if atomic else nullcontext()
                async with unit as conn:
                    if steps.guard is not None and not await steps.guard(conn):
                        return None
                    loaded = await self._attempt(conn, aggregate_id, steps)
            except ConcurrencyConflict:
                if attempt == attempts - 1:
                    raise
                continue
            if loaded.appended:
                self.committed(aggregate_id, loaded)
            return loaded
        raise AssertionError("unreachable")

    async def _on_own_state(self, aggregate_id: uuid.UUID, steps: Steps[C, S]) -> Loaded[S] | None:
        """The command decided on the state this process's own append left, without reading the
        stream, and appended alone. None (decide again on a fresh state) when there is no such
        state or when the decision on it is not an append (it may be stale); a conflict when
        another writer moved the stream: the version check kept this decision out of the log."""
        stream = self.decider.stream_id(aggregate_id)
        own = self.states.own_state(stream)
        if own is None:
            return None
        loaded = Loaded(own[1], own[0])
        try:
            events = await decide_on(self.decider, loaded, steps)
        except self.refusals:
            return None  # a refusal of a maybe stale state: the fresh one answers
        if not events:
            return None
        done = await self._append(stream, loaded, events, steps.metadata, None)
        self.committed(aggregate_id, done)
        return done

    async def _attempt(
        self, conn: Connection, aggregate_id: uuid.UUID, steps: Steps[C, S]
    ) -> Loaded[S]:
        loaded = await self.current(aggregate_id, conn=conn)
        events = await decide_on(self.decider, loaded, steps)
        if not events:
            return loaded
        stream = self.decider.stream_id(aggregate_id)
        done = await self._append(stream, loaded, events, steps.metadata, conn)
        if steps.after is not None:
            await steps.after(conn, done.state)
        return done

    async def _append(
        self,
        stream: str,
        loaded: Loaded[S],
        events: list[E],
        metadata: EventMetadata,
        conn: Connection,
    ) -> Loaded[S]:
        """`events` appended at the version they were decided on (a concurrent change is a
        conflict), and the state they lead to."""
        if self.before_append is not None:
            await self.before_append(stream)
        new = [NewEvent.from_domain(e, metadata) for e in events]
        result = await self.store.append(stream, loaded.version, new, conn=conn)
        state = self.decider.fold(loaded.state, events)
        assert state is not None
        return Loaded(state, result.last_version, appended=len(events))
