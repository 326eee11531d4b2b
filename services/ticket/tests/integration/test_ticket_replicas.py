"""Two ticket processes (replicas) writing the same streams on the real store.

A process decides a command on the state its own last append left without reading the stream
again; these tests stage the other replica's append in between and check that such a stale state
never decides what is appended or answered: the append's expected version turns it into a
conflict, and the command is decided again on the fresh state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.events.ticket import ClosureCode, CommentAdded
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.kernel import PreconditionFailed
from helpdesk_ticket.application.tickets import CommandFactory, TicketService, ticket_stream
from helpdesk_ticket.domain.errors import TransitionNotAllowed
from helpdesk_ticket.domain.ticket.commands import Close, Comment, Reopen, Resolve
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.testing import opened

MANAGER = Principal(sub="max", roles=frozenset({Role.MANAGER}))


def comment(text: str) -> CommandFactory:
    return lambda by, at: Comment(by=by, at=at, text=text)


def cancel(by: str, at: datetime) -> Close:
    return Close(by=by, at=at, code=ClosureCode.CANCELLED, reason="doublon du 12")


async def ticket_and_replicas(store: EventStore) -> tuple[uuid.UUID, TicketService, TicketService]:
    """An opened ticket on which replica A has just commented (so A holds its own state)."""
    event = opened(at=datetime.now(UTC) - timedelta(minutes=5))
    new = NewEvent.from_domain(event, EventMetadata(actor="intake"))
    await store.append(ticket_stream(event.ticket_id), ExpectedVersion.NO_STREAM, [new])
    a, b = TicketService(store, DEFAULT_POLICY), TicketService(store, DEFAULT_POLICY)
    assert (await a.execute(MANAGER, event.ticket_id, comment("un"))).version == 2
    assert a.aggregates.states.own_state(ticket_stream(event.ticket_id)) is not None
    return event.ticket_id, a, b


async def test_a_command_on_a_stale_own_state_is_not_applied_on_it(
    event_store: EventStore,
) -> None:
    ticket_id, a, b = await ticket_and_replicas(event_store)
    await b.execute(MANAGER, ticket_id, cancel)  # replica B closes it: A's state is stale

    # On A's stale state the ticket is open and takes a comment; on the real one it is closed.
    with pytest.raises(TransitionNotAllowed):
        await a.execute(MANAGER, ticket_id, comment("trop tard"))
    events = await event_store.read_stream(ticket_stream(ticket_id))
    assert [e.version for e in events] == [1, 2, 3]
    assert all(e.data.get("text") != "trop tard" for e in events)
    assert a.aggregates.states.own_state(ticket_stream(ticket_id)) is None
    assert (await a.current(ticket_id)).version == 3


async def test_a_stale_own_state_decides_again_on_the_fresh_one(
    event_store: EventStore,
) -> None:
    ticket_id, a, b = await ticket_and_replicas(event_store)
    await b.execute(MANAGER, ticket_id, comment("deux, par B"))

    done = await a.execute(MANAGER, ticket_id, comment("trois, par A"))
    assert done.version == 4
    assert done.state.comments == 3
    texts = [e.data.get("text") for e in await event_store.read_stream(ticket_stream(ticket_id))]
    assert texts[1:] == ["un", "deux, par B", "trois, par A"]


async def test_a_refusal_on_a_stale_own_state_is_decided_again_on_the_fresh_one(
    event_store: EventStore,
) -> None:
    ticket_id, a, b = await ticket_and_replicas(event_store)

    def resolve(by: str, at: datetime) -> Resolve:
        return Resolve(by=by, at=at, solution="redémarré", resolution_code="fix")

    resolved = await a.execute(MANAGER, ticket_id, resolve)
    await b.execute(MANAGER, ticket_id, lambda by, at: Reopen(by=by, at=at, reason="revenu"))

    # A's own state is resolved and refuses a resolution; the real one was reopened and takes it.
    done = await a.execute(MANAGER, ticket_id, resolve)
    assert done.version > resolved.version + 1  # after B's reopening
    assert done.version == await event_store.stream_version(ticket_stream(ticket_id))
    assert done.state.status.value == "resolved"


async def test_if_match_is_answered_from_the_fresh_version_not_the_stale_one(
    event_store: EventStore,
) -> None:
    ticket_id, a, b = await ticket_and_replicas(event_store)
    await b.execute(MANAGER, ticket_id, comment("deux, par B"))

    # The caller saw B's answer (ETag 3): A's stale version 2 must not refuse it with 412.
    done = await a.execute(MANAGER, ticket_id, comment("trois"), if_match='"3"')
    assert done.version == 4
    # A caller still at version 2 is told its precondition failed: nothing appended.
    await b.execute(MANAGER, ticket_id, comment("cinq, par B"))
    with pytest.raises(PreconditionFailed) as stale:
        await a.execute(MANAGER, ticket_id, comment("jamais"), if_match='"4"')
    assert stale.value.actual == 5
    assert await event_store.stream_version(ticket_stream(ticket_id)) == 5


async def test_an_error_that_is_no_refusal_is_raised_from_the_own_state_as_it_is(
    event_store: EventStore,
) -> None:
    """Only refusals, which a stale state may cause, are decided again on a fresh state: a
    failure of the step itself is not retried on a fresh read, nor hidden by it."""
    ticket_id, a, _ = await ticket_and_replicas(event_store)
    calls: list[str] = []

    def broken(by: str, at: datetime) -> Comment:
        calls.append(by)
        raise RuntimeError("the factory itself fails")

    with pytest.raises(RuntimeError, match="the factory itself fails"):
        await a.execute(MANAGER, ticket_id, broken)
    assert calls == ["max"]  # built once, on the own state: not decided again
    assert await event_store.stream_version(ticket_stream(ticket_id)) == 2


async def test_an_own_state_is_decided_on_without_reading_the_stream(
    event_store: EventStore,
) -> None:
    """The saving itself: after its own append a process appends alone, reading nothing."""
    ticket_id, a, _ = await ticket_and_replicas(event_store)
    reads: list[str] = []
    a.aggregates.states._store = _Counting(event_store, reads)  # type: ignore[assignment]
    done = await a.execute(MANAGER, ticket_id, comment("deux"))
    assert done.version == 3
    assert reads == []
    stored = await event_store.read_stream(ticket_stream(ticket_id))
    assert stored[-1].type == CommentAdded.event_type()
    assert stored[-1].data["text"] == "deux"


class _Counting:
    """The store, counting the state cache's reads of a stream."""

    def __init__(self, store: EventStore, reads: list[str]) -> None:
        self._store = store
        self._reads = reads

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def read_stream(self, stream: str, *args: object, **kwargs: object) -> object:
        self._reads.append(stream)
        return await self._store.read_stream(stream, *args, **kwargs)  # type: ignore[arg-type]
