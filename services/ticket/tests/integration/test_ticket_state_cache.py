from datetime import UTC, datetime

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.adapters.snapshots import TicketSnapshots
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain.ticket.commands import Comment
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.testing import opened

MANAGER = Principal(sub="max", roles=frozenset({Role.MANAGER}))


def comment(ticket_id: object, n: int) -> NewEvent:
    event = CommentAdded(
        ticket_id=ticket_id,  # type: ignore[arg-type]
        occurred_at=datetime.now(UTC),
        text=f"relance {n}",
        visibility=Visibility.PUBLIC,
        by="intake",
    )
    return NewEvent.from_domain(event)


async def test_cached_state_tops_up_with_events_appended_elsewhere(event_store: EventStore) -> None:
    event = opened(at=datetime.now(UTC))
    stream = ticket_stream(event.ticket_id)
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
    await event_store.append(stream, 1, [comment(event.ticket_id, n) for n in range(300)])
    service = TicketService(event_store, DEFAULT_POLICY, snapshots=TicketSnapshots())
    cached = await service.current(event.ticket_id)
    full = await service.load(event.ticket_id)
    assert cached.state == full.state
    assert cached.version == full.version == 301

    # Another writer (intake threading a mail reply) appends behind this process's back.
    await event_store.append(stream, 301, [comment(event.ticket_id, 301)])
    after = await service.execute(
        MANAGER, event.ticket_id, lambda by, at: Comment(by=by, at=at, text="réponse")
    )
    assert after.version == 303
    assert after.state.comments == 302
    assert (await service.load(event.ticket_id)).state == after.state


async def test_a_cold_process_starts_from_the_snapshot_and_ignores_a_bad_one(
    event_store: EventStore,
) -> None:
    from sqlalchemy import text

    event = opened(at=datetime.now(UTC))
    stream = ticket_stream(event.ticket_id)
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
    await event_store.append(stream, 1, [comment(event.ticket_id, n) for n in range(150)])
    first = TicketService(event_store, DEFAULT_POLICY, snapshots=TicketSnapshots())
    warm = await first.current(event.ticket_id)
    snapshot = text("SELECT version FROM ticket.snapshots WHERE stream_id = :s")
    async with event_store.engine.connect() as conn:
        assert (await conn.execute(snapshot, {"s": stream})).scalar() == 151

    await event_store.append(stream, 151, [comment(event.ticket_id, 151)])
    cold = await TicketService(event_store, DEFAULT_POLICY, snapshots=TicketSnapshots()).current(
        event.ticket_id
    )
    assert cold.version == 152
    assert cold.state == (await first.load(event.ticket_id)).state
    assert cold.state.comments == warm.state.comments + 1

    async with event_store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE ticket.snapshots SET state = '{\"id\": 1}' WHERE stream_id = :s"),
            {"s": stream},
        )
    again = await TicketService(event_store, DEFAULT_POLICY, snapshots=TicketSnapshots()).current(
        event.ticket_id
    )
    assert again.state == cold.state
