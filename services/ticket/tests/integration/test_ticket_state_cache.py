from datetime import UTC, datetime
from typing import Any

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.kernel import StateCache
from helpdesk_ticket.adapters.snapshots import TicketSnapshots
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain.ticket import ticket_decider
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
    service = TicketService(
        event_store, DEFAULT_POLICY, snapshots=TicketSnapshots(event_store.engine)
    )
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
    first = TicketService(
        event_store, DEFAULT_POLICY, snapshots=TicketSnapshots(event_store.engine)
    )
    warm = await first.current(event.ticket_id)
    snapshot = text("SELECT version FROM ticket.snapshots WHERE stream_id = :s")
    async with event_store.engine.connect() as conn:
        assert (await conn.execute(snapshot, {"s": stream})).scalar() == 151

    await event_store.append(stream, 151, [comment(event.ticket_id, 151)])
    cold = await TicketService(
        event_store, DEFAULT_POLICY, snapshots=TicketSnapshots(event_store.engine)
    ).current(event.ticket_id)
    assert cold.version == 152
    assert cold.state == (await first.load(event.ticket_id)).state
    assert cold.state.comments == warm.state.comments + 1

    async with event_store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE ticket.snapshots SET state = '{\"id\": 1}' WHERE stream_id = :s"),
            {"s": stream},
        )
    again = await TicketService(
        event_store, DEFAULT_POLICY, snapshots=TicketSnapshots(event_store.engine)
    ).current(event.ticket_id)
    assert again.state == cold.state


async def test_the_cache_holds_at_most_its_size_the_least_recently_used_out(
    event_store: EventStore,
) -> None:
    service = TicketService(event_store, DEFAULT_POLICY, cache_size=3)
    tickets = []
    for _ in range(5):
        event = opened(at=datetime.now(UTC))
        stream = ticket_stream(event.ticket_id)
        await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
        await service.current(event.ticket_id)
        tickets.append(event.ticket_id)
    states = service.aggregates.states
    assert len(states) == states.size == 3
    # The two first tickets fell out; loading one again brings it back and pushes out the oldest.
    await service.current(tickets[0])
    assert len(states) == 3
    assert (await service.current(tickets[0])).version == 1


async def test_metrics_show_the_cache_levelling_off_at_the_setting(
    database_url: str, event_store: EventStore
) -> None:
    import httpx

    from helpdesk_ticket.bootstrap import build_app
    from helpdesk_ticket.settings import Settings

    settings = Settings(
        database_url=database_url, ticket_background_tasks=False, ticket_state_cache_size=2
    )
    app = build_app(settings, engine=event_store.engine)
    service: TicketService = app.state.ticket_service
    for _ in range(4):
        event = opened(at=datetime.now(UTC))
        stream = ticket_stream(event.ticket_id)
        await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
        await service.current(event.ticket_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as http:
        text = (await http.get("/metrics")).text
    assert 'helpdesk_state_cache_entries{aggregate="ticket"} 2.0' in text
    assert 'helpdesk_state_cache_capacity{aggregate="ticket"} 2.0' in text
    assert 'helpdesk_state_cache_entries{aggregate="problem"} 0.0' in text
    assert 'helpdesk_state_cache_capacity{aggregate="ticket-list"} 2.0' in text


async def test_the_list_projection_keeps_no_more_states_than_the_setting(
    database_url: str, event_store: EventStore
) -> None:
    """The list projection reads each ticket's state at the version it projects, from a cache
    of its own: bounded by the same setting, or the process grows with the desk's tickets."""
    from sqlalchemy import text as sql

    from helpdesk_ticket.bootstrap import build_components
    from helpdesk_ticket.settings import Settings

    settings = Settings(
        database_url=database_url, ticket_background_tasks=False, ticket_state_cache_size=3
    )
    projector = build_components(settings, engine=event_store.engine).projector
    for _ in range(6):
        event = opened(at=datetime.now(UTC))
        stream = ticket_stream(event.ticket_id)
        await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
        (recorded,) = await event_store.read_stream(stream)
        async with event_store.engine.begin() as conn:
            await projector(recorded, conn)
            await projector.flush(conn)
            listed = "SELECT count(*) FROM ticket.tickets WHERE ticket_id = :id"
            assert (await conn.execute(sql(listed), {"id": event.ticket_id})).scalar() == 1
    assert len(projector.states) == projector.states.size == 3


class CountingStore(EventStore):
    """The real store, counting its stream reads (a state not in memory must need none)."""

    stream_reads = 0

    async def read_stream(self, *args: Any, **kwargs: Any) -> list[RecordedEvent]:
        self.stream_reads += 1
        return await super().read_stream(*args, **kwargs)


async def test_a_state_not_in_memory_is_read_with_its_snapshot_in_one_statement(
    event_store: EventStore,
) -> None:
    """A miss reads the snapshot and the events after it together (one round trip), alone or
    on the caller's connection at a version (the list projection); an unreadable snapshot is
    still ignored, the stream then read from its start."""
    from sqlalchemy import text

    event = opened(at=datetime.now(UTC))
    stream = ticket_stream(event.ticket_id)
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
    await event_store.append(stream, 1, [comment(event.ticket_id, n) for n in range(120)])
    snapshots = TicketSnapshots(event_store.engine)
    await TicketService(event_store, DEFAULT_POLICY, snapshots=snapshots).current(event.ticket_id)
    await event_store.append(stream, 121, [comment(event.ticket_id, n) for n in range(121, 124)])
    full = await TicketService(event_store, DEFAULT_POLICY).load(event.ticket_id)

    store = CountingStore(event_store.engine)
    cold = await TicketService(store, DEFAULT_POLICY, snapshots=snapshots).current(event.ticket_id)
    assert (cold.version, cold.state) == (124, full.state)
    projector = StateCache(store, ticket_decider(DEFAULT_POLICY), snapshots)
    async with event_store.engine.begin() as conn:
        version, state = await projector.state(stream, 122, conn=conn)
    assert version == 122
    assert state is not None
    assert state.comments == 121
    fresh = opened(at=datetime.now(UTC))
    await event_store.append(
        ticket_stream(fresh.ticket_id), ExpectedVersion.NO_STREAM, [NewEvent.from_domain(fresh)]
    )
    no_snapshot = await TicketService(store, DEFAULT_POLICY, snapshots=snapshots).current(
        fresh.ticket_id
    )
    assert no_snapshot.version == 1
    assert store.stream_reads == 0

    async with event_store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE ticket.snapshots SET state = '{\"id\": 1}' WHERE stream_id = :s"),
            {"s": stream},
        )
    again = await TicketService(store, DEFAULT_POLICY, snapshots=snapshots).current(event.ticket_id)
    assert (again.version, again.state) == (124, full.state)
    assert store.stream_reads == 1


async def test_the_list_projection_folds_the_event_in_hand_into_the_state_before_it(
    event_store: EventStore,
) -> None:
    """The projection folds each event of the log into the state before it, the initial state
    for a ticket's first event: no statement until the batch's upsert of the ticket's last row."""
    from sqlalchemy import event as sa_event
    from sqlalchemy import text as sql

    from helpdesk_ticket.adapters.projection import TicketListProjector, row

    event = opened(at=datetime.now(UTC))
    stream = ticket_stream(event.ticket_id)
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
    await event_store.append(stream, 1, [comment(event.ticket_id, n) for n in range(3)])
    recorded = await event_store.read_stream(stream)
    store = CountingStore(event_store.engine)
    projector = TicketListProjector(store, DEFAULT_POLICY)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sync_engine = event_store.engine.sync_engine
    async with event_store.engine.begin() as conn:
        sa_event.listen(sync_engine, "before_cursor_execute", count)
        try:
            for one in recorded:
                await projector(one, conn)
        finally:
            sa_event.remove(sync_engine, "before_cursor_execute", count)
        await projector.flush(conn)
        listed = "SELECT version, last_activity_at FROM ticket.tickets WHERE ticket_id = :id"
        written = (await conn.execute(sql(listed), {"id": event.ticket_id})).one()
    assert statements == []
    assert store.stream_reads == 0
    full = await TicketService(event_store, DEFAULT_POLICY).load(event.ticket_id)
    expected = row(full.state, 4, DEFAULT_POLICY, recorded[-1].recorded_at)
    assert tuple(written) == (4, expected["last_activity_at"])
    assert projector.states._items[stream].state == full.state


async def test_the_list_projection_keeps_a_tickets_highest_version_when_the_log_puts_it_first(
    event_store: EventStore,
) -> None:
    """A command whose transaction began first (it wrote its idempotency key) and appended last
    comes before the version it followed in the log's order; in one batch, the row written is
    still the ticket's highest version, as when each event wrote its own row."""
    from sqlalchemy import text as sql

    from helpdesk_ticket.adapters.projection import TicketListProjector

    event = opened(at=datetime.now(UTC))
    stream = ticket_stream(event.ticket_id)
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
    await event_store.append(stream, 1, [comment(event.ticket_id, n) for n in range(2)])
    first, second, third = await event_store.read_stream(stream)
    projector = TicketListProjector(event_store, DEFAULT_POLICY)
    async with event_store.engine.begin() as conn:
        for one in (first, third, second):
            await projector(one, conn)
        await projector.flush(conn)
        listed = "SELECT version FROM ticket.tickets WHERE ticket_id = :id"
        written = (await conn.execute(sql(listed), {"id": event.ticket_id})).scalar_one()
    assert written == 3
