"""Contract commands: load the stream, decide, append at the expected version, record the read
model, all in one transaction; a concurrent writer makes the command run again on the new state.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_intake.adapters import contracts
from helpdesk_intake.domain.contract import ContractCommand, ContractState, decide, evolve
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
)
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.logging import correlation_id

#: A command that lost a race runs again on the state the winner left, at most this many times.
ATTEMPTS = 3

#: Work done in the command's transaction once the events are appended (the idempotency record).
AfterAppend = Callable[[AsyncConnection, ContractState], Awaitable[Any]]


@dataclass(frozen=True)
class Handled:
    state: ContractState
    #: False when the command recorded nothing (the same extension proposal again).
    changed: bool


async def handle(
    engine: AsyncEngine,
    store: EventStore,
    command: ContractCommand,
    *,
    before: Callable[[AsyncConnection], Awaitable[Any]] | None = None,
    after: AfterAppend | None = None,
) -> Handled | Any:
    """Run `command` on its contract. `before` may answer instead (an idempotent replay): its
    non-None result is returned as is, and nothing is decided."""
    for attempt in range(ATTEMPTS):
        try:
            async with engine.begin() as conn:
                if before is not None and (early := await before(conn)) is not None:
                    return early
                handled = await _once(conn, store, command)
                if after is not None:
                    await after(conn, handled.state)
                return handled
        except ConcurrencyConflict:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _once(conn: AsyncConnection, store: EventStore, command: ContractCommand) -> Handled:
    contract_id: uuid.UUID = command.contract_id
    state, version = await contracts.load(store, contract_id, conn)
    events = decide(command, state)
    if not events:
        assert state is not None
        return Handled(state, changed=False)
    metadata = EventMetadata(correlation_id=correlation_id.get(), actor=command.by)
    expected = version if version else ExpectedVersion.NO_STREAM
    await store.append(
        contracts.contract_stream(contract_id),
        expected,
        [NewEvent.from_domain(e, metadata) for e in events],
        conn=conn,
    )
    known = len(state.versions) if state else 0
    for event in events:
        state = evolve(state, event)
    assert state is not None
    await contracts.record_versions(conn, state, state.versions[known:])
    return Handled(state, changed=True)
