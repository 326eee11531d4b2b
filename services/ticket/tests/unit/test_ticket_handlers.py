"""The ticket handlers on the in-memory event store: no PostgreSQL, the same kernel as in
production. A competing writer is staged between load and append (`before_append`), so the
lost-race paths run deterministically."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
)
from helpdesk_shared.kernel import PreconditionFailed
from helpdesk_ticket.application.errors import Forbidden
from helpdesk_ticket.application.tickets import CommandFactory, TicketService, ticket_stream
from helpdesk_ticket.domain.errors import InvalidCommand, TicketNotFound
from helpdesk_ticket.domain.ticket.commands import Comment, Take
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.testing import opened

MANAGER = Principal(sub="max", roles=frozenset({Role.MANAGER}))
ALICE = Principal(sub="alice", roles=frozenset({Role.REQUESTER}))
BOB = Principal(sub="bob", roles=frozenset({Role.REQUESTER}))


def now() -> datetime:
    return datetime.now(UTC)


async def opened_ticket(store: MemoryEventStore) -> uuid.UUID:
    event = opened(at=now() - timedelta(minutes=5), requester="alice")
    new = NewEvent.from_domain(event, EventMetadata(actor="intake"))
    await store.append(ticket_stream(event.ticket_id), ExpectedVersion.NO_STREAM, [new])
    return event.ticket_id


def comment(text: str) -> CommandFactory:
    return lambda by, at: Comment(by=by, at=at, text=text)


def competitor(
    store: MemoryEventStore, ticket_id: uuid.UUID, times: int
) -> Callable[[str], Awaitable[None]]:
    """Appends an intake reply to the stream between the handler's load and its append,
    `times` times (then lets the handler through)."""
    left = [times]

    async def compete(stream: str) -> None:
        if left[0] > 0:
            left[0] -= 1
            event = CommentAdded(
                ticket_id=ticket_id,
                occurred_at=now(),
                text="réponse par courriel",
                visibility=Visibility.PUBLIC,
                by="intake",
            )
            await store.append(stream, ExpectedVersion.ANY, [NewEvent.from_domain(event)])

    return compete


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


@pytest.fixture
def service(store: MemoryEventStore) -> TicketService:
    return TicketService(store, DEFAULT_POLICY, now)


async def test_a_command_appends_its_events_with_who_and_why(
    store: MemoryEventStore, service: TicketService
) -> None:
    ticket_id = await opened_ticket(store)
    done = await service.execute(
        MANAGER, ticket_id, lambda by, at: Take(by=by, at=at), correlation_id="req-1"
    )
    assert done.version == 2
    assert done.appended == 1
    assert done.state.assignee == "max"
    recorded = (await store.read_stream(ticket_stream(ticket_id)))[-1]
    assert (recorded.metadata.actor, recorded.metadata.correlation_id) == ("max", "req-1")
    assert (await service.current(ticket_id)).state == done.state
    assert (await service.load(ticket_id)).state == done.state


async def test_who_may_read_and_send_what(store: MemoryEventStore, service: TicketService) -> None:
    ticket_id = await opened_ticket(store)
    with pytest.raises(TicketNotFound):
        await service.execute(BOB, ticket_id, comment("je vois ?"))
    with pytest.raises(Forbidden):
        await service.execute(ALICE, ticket_id, lambda by, at: Take(by=by, at=at))
    internal = lambda by, at: Comment(by=by, at=at, text="x", visibility=Visibility.INTERNAL)  # noqa: E731
    with pytest.raises(InvalidCommand) as refused:
        await service.execute(ALICE, ticket_id, internal)
    assert refused.value.field == "visibility"
    with pytest.raises(TicketNotFound):
        await service.execute(MANAGER, uuid.uuid4(), comment("personne"))
    assert await store.stream_version(ticket_stream(ticket_id)) == 1


async def test_a_stale_if_match_appends_nothing(
    store: MemoryEventStore, service: TicketService
) -> None:
    ticket_id = await opened_ticket(store)
    await service.execute(MANAGER, ticket_id, comment("un"))
    with pytest.raises(PreconditionFailed) as stale:
        await service.execute(MANAGER, ticket_id, comment("deux"), if_match='"1"')
    assert stale.value.actual == 2
    assert await store.stream_version(ticket_stream(ticket_id)) == 2
    done = await service.execute(MANAGER, ticket_id, comment("deux"), if_match='W/"2"')
    assert done.version == 3


async def test_a_lost_race_without_if_match_is_decided_again_on_the_fresh_state(
    store: MemoryEventStore, service: TicketService
) -> None:
    ticket_id = await opened_ticket(store)
    service.aggregates.before_append = competitor(store, ticket_id, times=2)
    done = await service.execute(MANAGER, ticket_id, comment("relance"))
    assert done.version == 4  # opened, two competing replies, then ours
    assert done.state.comments == 3
    texts = [e.data.get("text") for e in await store.read_stream(ticket_stream(ticket_id))]
    assert texts[-1] == "relance"
    assert texts.count("relance") == 1


async def test_retries_used_up_is_a_conflict_naming_the_allowed_commands(
    store: MemoryEventStore, service: TicketService
) -> None:
    ticket_id = await opened_ticket(store)
    attempts = service.aggregates.attempts
    service.aggregates.before_append = competitor(store, ticket_id, times=attempts)
    with pytest.raises(ConcurrencyConflict) as conflict:
        await service.execute(MANAGER, ticket_id, comment("relance"))
    fresh = await service.current(ticket_id)
    assert conflict.value.allowed == service.allowed_for(MANAGER, fresh.state)
    assert "comment" in (conflict.value.allowed or [])
    events = await store.read_stream(ticket_stream(ticket_id))
    assert len(events) == 1 + attempts  # only the competitor's replies
    assert all(e.data.get("text") != "relance" for e in events)


async def test_with_if_match_a_lost_race_is_not_retried(
    store: MemoryEventStore, service: TicketService
) -> None:
    ticket_id = await opened_ticket(store)
    service.aggregates.before_append = competitor(store, ticket_id, times=1)
    with pytest.raises(ConcurrencyConflict) as conflict:
        await service.execute(MANAGER, ticket_id, comment("relance"), if_match='"1"')
    assert conflict.value.allowed is not None
    assert await store.stream_version(ticket_stream(ticket_id)) == 2


async def test_history_as_of_a_moment_and_the_cache_agree(
    store: MemoryEventStore, service: TicketService
) -> None:
    ticket_id = await opened_ticket(store)
    between = now()
    await service.execute(MANAGER, ticket_id, comment("plus tard"))
    earlier = await service.load(ticket_id, as_of=between)
    assert earlier.version == 1
    assert earlier.state.comments == 0
    assert len((await service.load(ticket_id)).events) == 2
    cold = TicketService(store, DEFAULT_POLICY, now)
    assert (await cold.current(ticket_id)).state == (await service.current(ticket_id)).state
