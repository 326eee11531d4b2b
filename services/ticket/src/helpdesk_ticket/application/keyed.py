"""Commands under an `Idempotency-Key`, for every aggregate of the service (tickets, problems,
articles): one mechanism, on the kernel's `handle_once`; creations (problems, article drafts)
on the kernel's `create`, in `create_keyed`.

The key is claimed (`helpdesk_shared.http.idempotency`) and the answer stored in the append's
transaction, so a retry after a lost answer, or after a 503 that recorded nothing, is applied
once and gets the first answer; the same key with another request is refused (422).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.eventstore.model import EventMetadata
from helpdesk_shared.http.idempotency import Claim, IdempotencyKeys, StoredResponse
from helpdesk_shared.kernel import AggregateService, Loaded
from helpdesk_shared.kernel.command import After, Check, Prepare
from helpdesk_shared.kernel.ports import Connection

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E", bound=DomainEvent)


@dataclass(frozen=True)
class Keyed:
    """A command sent with an `Idempotency-Key`: the key, where it is unique (`scope`) and the
    request it was sent with (the same key with another request is refused)."""

    scope: str
    #: None: no key was sent, the command runs as without one (nothing claimed, nothing kept).
    key: str | None
    request: dict[str, Any]


@dataclass(frozen=True)
class KeyedCommand:
    """What `handle_keyed` runs besides the key: the command and the kernel's hooks."""

    prepare: Callable[[Loaded[Any]], Any]
    metadata: EventMetadata
    if_match: str | None = None
    check: Check[Any, Any] | None = None
    after: After[Any] | None = None
    allowed: Callable[[Any], list[str]] | None = None


async def handle_keyed(
    aggregates: AggregateService[C, S, E],
    keys: IdempotencyKeys,
    aggregate_id: uuid.UUID,
    keyed: Keyed,
    command: KeyedCommand,
    render: Callable[[Loaded[S]], dict[str, Any]],
) -> tuple[StoredResponse, bool]:
    """Run `command` once per key; the answer (200 and `render` of the state after it) and True
    when it ran now, the first answer and False for a retry."""
    claims: list[Claim] = []
    replay: list[StoredResponse] = []
    answer: list[StoredResponse] = []
    stream = aggregates.decider.stream_id(aggregate_id)

    async def guard(conn: Connection) -> bool:
        claim = await keys.claim(conn, keyed.scope, keyed.key, keyed.request)
        if claim.replay is not None:
            replay.append(claim.replay)
            return False
        claims[:] = [claim]
        return True

    async def after(conn: Connection, state: S) -> None:
        if command.after is not None:
            await command.after(conn, state)
        version = await aggregates.store.stream_version(stream, conn=conn)
        answer[:] = [StoredResponse(200, render(Loaded(state, version)))]
        await claims[0].remember(200, answer[0].body)

    prepare: Prepare[S, C] = command.prepare
    ran = await aggregates.handle_once(
        aggregate_id,
        prepare,
        guard,
        metadata=command.metadata,
        after=after,
        if_match=command.if_match,
        check=command.check,
        allowed=command.allowed,
    )
    if not ran:
        return replay[0], False
    if answer:
        return answer[0], True
    # The command changed nothing (no event, so no `after`): nothing to store, the state as is.
    return StoredResponse(200, render(await aggregates.current(aggregate_id))), True


async def create_keyed(
    aggregates: AggregateService[C, S, E],
    keys: IdempotencyKeys,
    keyed: Keyed,
    created: tuple[uuid.UUID, str],
    create: Callable[[Connection], Awaitable[Loaded[S]]],
    render: Callable[[Loaded[S]], dict[str, Any]],
) -> StoredResponse:
    """Create the aggregate `created` names (its id and `Location`) once per key: `create`
    runs in the transaction that claims the key and keeps the answer (201, `render`, the
    `Location`), so a retry gets the first answer and creates nothing more."""
    aggregate_id, location = created
    async with aggregates.store.transaction() as conn:
        claim = await keys.claim(conn, keyed.scope, keyed.key, keyed.request)
        if claim.replay is not None:
            return claim.replay
        loaded = await create(conn)
        answer = StoredResponse(201, render(loaded), location)
        await claim.remember(answer.status_code, answer.body, answer.location)
    aggregates.committed(aggregate_id, loaded)
    return answer
