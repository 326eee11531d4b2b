"""Notify's planning unit on real PostgreSQL: a batch's views and ledger rows in one
transaction on the driver, each table written in one statement, on the engine's own connections
and on SQLAlchemy's pool alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.domain.notifications import Notification
from helpdesk_notify.domain.tickets import HistoryEntry, TicketStatus, TicketView
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore


def view(
    ticket_id: uuid.UUID, *, email: str | None = "a@example.org", due: bool = True
) -> TicketView:
    now = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    return TicketView(
        ticket_id=ticket_id,
        reference=f"INC-2026-{ticket_id.hex[:6]}",
        subject="Poste lent, l'écran « gèle »",
        description="d",
        ticket_type="incident",
        requester_login="marc",
        requester_name="Marc",
        requester_email=email,
        language="fr",
        group="N1",
        level=1,
        status=TicketStatus.OPEN,
        opened_at=now,
        last_activity_at=now,
        due_at=now + timedelta(hours=4) if due else None,
        history=(HistoryEntry(uuid.uuid4(), now, "opened", "ouvert"),),
    )


def notification(ticket_id: uuid.UUID, recipient: str, *, mail: bool = True) -> Notification:
    event_id = uuid.uuid4()
    rendered = Mail(recipient, "Sujet", "texte\\ 'q'", "<p>html</p>", f"<{event_id}@x>", None, ())
    return Notification(
        event_id,
        ticket_id,
        recipient,
        "opened",
        "fr",
        rendered if mail else None,
        None if mail else "no address",
    )


async def rows(engine: AsyncEngine, ticket_ids: list[uuid.UUID]) -> tuple[int, int]:
    """The views and ledger rows stored of these tickets."""
    async with engine.connect() as conn:
        views = await conn.scalar(
            text("SELECT count(*) FROM notify.tickets WHERE ticket_id = ANY(:ids)"),
            {"ids": ticket_ids},
        )
        entries = await conn.scalar(
            text("SELECT count(*) FROM notify.notifications WHERE ticket_id = ANY(:ids)"),
            {"ids": ticket_ids},
        )
    return int(views or 0), int(entries or 0)


async def in_transaction(engine: AsyncEngine, application: str) -> int:
    """The units' sessions left idle in a transaction."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                "AND state LIKE 'idle in transaction%'"
            ),
            {"name": application},
        )
    return int(found or 0)


async def test_a_batch_is_written_in_one_unit_and_read_back_as_it_was(
    units_engine: AsyncEngine, engine: AsyncEngine, units_application: str
) -> None:
    """Several views (one without address nor due date) and notifications (one undeliverable)
    in one statement each; a redelivery keeps the ledger's rows and gives the same ids."""
    units = PostgresNotifyUnits(units_engine)
    tickets = [uuid.uuid4() for _ in range(3)]
    views = [view(tickets[0]), view(tickets[1], email=None, due=False), view(tickets[2])]
    planned = [notification(t, f"r{n}@example.org") for n, t in enumerate(tickets)]
    planned.append(notification(tickets[1], "nobody", mail=False))
    async with units() as unit:
        await unit.tickets.save_all(views)
        ids = await unit.ledger.record(planned)
    async with units() as unit:
        assert await unit.tickets.load_all_for_update(tickets) == {v.ticket_id: v for v in views}
        assert await unit.ledger.record(planned) == ids
        stored = [await unit.ledger.lock(i) for i in ids]
    assert [s.mail() if s else None for s in stored] == [n.mail for n in planned[:3]]
    assert await rows(engine, tickets) == (3, 4)
    assert await in_transaction(engine, units_application) == 0


async def written_then_failed(units: PostgresNotifyUnits, ticket_id: uuid.UUID) -> None:
    async with units() as unit:
        await unit.tickets.save_all([view(ticket_id)])
        await unit.ledger.record([notification(ticket_id, "a@example.org")])
        raise RuntimeError("planning failed")


async def test_a_unit_that_fails_writes_nothing_and_leaves_no_transaction_open(
    units_engine: AsyncEngine, engine: AsyncEngine, units_application: str
) -> None:
    units = PostgresNotifyUnits(units_engine)
    ticket_id = uuid.uuid4()
    with pytest.raises(RuntimeError):
        await written_then_failed(units, ticket_id)
    assert await rows(engine, [ticket_id]) == (0, 0)
    assert await in_transaction(engine, units_application) == 0
    async with units() as unit:  # the connection given back works
        await unit.tickets.save_all([view(ticket_id)])
    assert await rows(engine, [ticket_id]) == (1, 0)


async def test_a_unit_whose_connection_is_found_dead_begins_on_a_new_one(
    units_engine: AsyncEngine, engine: AsyncEngine, terminate_units: Callable[[], None]
) -> None:
    """No ping before a unit on the engine's own connections: BEGIN finds the connection a
    restart killed and is sent again, once, on a new one (SQLAlchemy's pool pings at checkout)."""
    units = PostgresNotifyUnits(units_engine)
    async with units() as unit:  # leaves its connection idle
        await unit.tickets.load_all_for_update([uuid.uuid4()])
    terminate_units()
    ticket_id = uuid.uuid4()
    async with units() as unit:
        await unit.tickets.save_all([view(ticket_id)])
    assert await rows(engine, [ticket_id]) == (1, 0)


async def test_the_history_is_read_in_the_unit(
    units_engine: AsyncEngine, event_store: EventStore
) -> None:
    """A view notify lost is rebuilt from the store's past events, read on the unit's own
    connection (the rebuild's port)."""
    # Not a `ticket-` stream: the test run's event store is shared, and the ticket list's
    # projection would read these unknown events as a ticket's.
    stream = f"history-{uuid.uuid4()}"
    events = [NewEvent(type="Noted", data={"n": n}) for n in range(3)]
    await event_store.append(stream, ExpectedVersion.NO_STREAM, events)
    async with PostgresNotifyUnits(units_engine)() as unit:
        past = await unit.history.read_stream(stream, to_version=2)
    assert [(e.version, e.data) for e in past] == [(1, {"n": 0}), (2, {"n": 1})]


async def test_a_second_unit_on_the_same_ticket_waits_for_the_first_to_commit(
    units_engine: AsyncEngine,
) -> None:
    """The views are locked until the unit ends: the events of one ticket are planned in turn."""
    units = PostgresNotifyUnits(units_engine)
    ticket_id = uuid.uuid4()
    async with units() as unit:
        await unit.tickets.save_all([view(ticket_id)])
    changed = view(ticket_id, email="b@example.org")
    seen: list[str | None] = []

    async def second() -> None:
        async with units() as unit:
            found = await unit.tickets.load_all_for_update([ticket_id])
            seen.append(found[ticket_id].requester_email)

    async with units() as unit:
        await unit.tickets.load_all_for_update([ticket_id])
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not seen  # still waiting for the first unit's lock
        await unit.tickets.save_all([changed])
    await asyncio.wait_for(waiting, 10)
    assert seen == ["b@example.org"]
