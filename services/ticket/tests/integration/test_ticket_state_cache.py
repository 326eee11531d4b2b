from datetime import UTC, datetime

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain.commands import Comment
from helpdesk_ticket.domain.policy import DEFAULT_POLICY
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
    service = TicketService(event_store, DEFAULT_POLICY)
    cached = await service.current(event.ticket_id)
    full = await service.load(event.ticket_id)
    assert cached.ticket == full.ticket
    assert cached.version == full.version == 301

    # Another writer (intake threading a mail reply) appends behind this process's back.
    await event_store.append(stream, 301, [comment(event.ticket_id, 301)])
    after = await service.execute(
        MANAGER, event.ticket_id, lambda by, at: Comment(by=by, at=at, text="réponse")
    )
    assert after.version == 303
    assert after.ticket.comments == 302
    assert (await service.load(event.ticket_id)).ticket == after.ticket
