"""The handler against real PostgreSQL and a real SMTP server (aiosmtpd), called directly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters import queries, ticket_views
from helpdesk_notify.adapters.smtp import SmtpSender
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.delivery import DeliveryFailed
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.domain.notifications import Routing
from helpdesk_notify.domain.tickets import TicketStatus
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    Closed,
    ClosureCode,
    PreQualification,
    RequesterSnapshot,
    Routed,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import ReceivedEvent

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def received(event: DomainEvent, version: int) -> ReceivedEvent:
    ticket_id = getattr(event, "ticket_id")  # noqa: B009 - every ticket event has one
    return ReceivedEvent(
        event_id=uuid.uuid4(),
        type=event.event_type(),
        stream_id=f"ticket-{ticket_id}",
        version=version,
        global_position=version,
        recorded_at=NOW,
        schema_version=event.schema_version,
        data=event.to_data(),
    )


def opened(ticket_id: uuid.UUID, email: str, language: str = "fr") -> ReceivedEvent:
    event = TicketOpened(
        ticket_id=ticket_id,
        occurred_at=NOW,
        reference="INC-2026-000042",
        type=TicketType.INCIDENT,
        channel=Channel.EMAIL,
        requester=RequesterSnapshot(
            login="jdupont", name="Jean Dupont", email=email, preferred_language=language
        ),
        subject="Messagerie inaccessible",
        description="Impossible d'ouvrir la messagerie depuis ce matin.",
        pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
        received_at=NOW,
    )
    return received(event, 1)


def closed(ticket_id: uuid.UUID, version: int = 2) -> ReceivedEvent:
    event = Closed(
        ticket_id=ticket_id,
        occurred_at=NOW,
        code=ClosureCode.RESOLVED,
        solution="Mot de passe réinitialisé.",
        by="agent1",
    )
    return received(event, version)


def sender_for(port: int) -> SmtpSender:
    return SmtpSender(host="127.0.0.1", port=port, sender="helpdesk@helpdesk.local", timeout=5)


def handler_for(engine: AsyncEngine, port: int, routing: Routing | None = None) -> NotifyHandler:
    return NotifyHandler(
        units=PostgresNotifyUnits(engine), sender=sender_for(port), routing=routing or Routing()
    )


async def handle(handler: NotifyHandler, engine: AsyncEngine, event: ReceivedEvent) -> None:
    async with engine.begin() as conn:
        await handler(event, conn)


async def rows(engine: AsyncEngine, **filters: Any) -> list[queries.StoredNotification]:
    async with engine.connect() as conn:
        return await queries.search(conn, **filters)


async def test_opening_and_closure_mails_arrive_with_content_and_thread_headers(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"jean.{ticket_id.hex[:8]}@ac-paris.fr"
    handler = handler_for(engine, smtp_server.port)
    await handle(handler, engine, opened(ticket_id, address))
    await handle(handler, engine, closed(ticket_id))

    first, last = smtp_server.messages(to=address)
    raw_headers, _, raw_body = smtp_server.envelopes[-1].content.partition(b"\r\n\r\n")
    assert b"\r\nSubject: [INC-2026-000042] " in raw_headers  # not folded after `Subject:`
    assert max(len(line) for line in raw_body.split(b"\r\n")) <= 76
    assert (
        first["Subject"] == "[INC-2026-000042] Ouverture de votre ticket : Messagerie inaccessible"
    )
    assert first["Message-ID"] == f"<ticket-{ticket_id}@helpdesk.local>"
    assert "INC-2026-000042" in first.get_body(("plain",)).get_content()
    assert "<strong>INC-2026-000042</strong>" in first.get_body(("html",)).get_content()
    assert last["Subject"].startswith("[INC-2026-000042] Clôture de votre ticket")
    assert last["In-Reply-To"] == first["Message-ID"]
    assert last["References"] == first["Message-ID"]
    text = last.get_body(("plain",)).get_content()
    assert "Mot de passe réinitialisé." in text
    assert f"/tickets/{ticket_id}/satisfaction" in text

    recorded = await rows(engine, ticket_id=ticket_id)
    assert {(r.template, r.status, r.attempts) for r in recorded} == {
        ("opened", "sent", 1),
        ("closed", "sent", 1),
    }
    assert all(r.smtp_response and r.sent_at for r in recorded)


async def test_a_redelivered_event_sends_nothing_twice(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"anne.{ticket_id.hex[:8]}@ac-paris.fr"
    handler = handler_for(engine, smtp_server.port)
    event = opened(ticket_id, address, language="en")
    await handle(handler, engine, event)
    await handle(handler, engine, event)  # redelivered after its inbox entry was lost
    await asyncio.gather(handle(handler, engine, event), handle(handler, engine, event))

    (only,) = smtp_server.messages(to=address)
    assert only["Subject"].startswith("[INC-2026-000042] Your ticket is open")
    (row,) = await rows(engine, ticket_id=ticket_id)
    assert (row.status, row.attempts) == ("sent", 1)


async def test_a_restart_between_recording_and_sending_sends_once(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"paul.{ticket_id.hex[:8]}@ac-paris.fr"
    handler = handler_for(engine, smtp_server.port)
    event = opened(ticket_id, address)
    await handler.record(event)  # the process stops here: recorded, not sent
    assert [r.status for r in await rows(engine, ticket_id=ticket_id)] == ["pending"]
    await handle(handler_for(engine, smtp_server.port), engine, event)  # redelivered
    assert len(smtp_server.messages(to=address)) == 1


async def test_smtp_down_then_up_loses_nothing(engine: AsyncEngine, smtp_down: Any) -> None:
    ticket_id = uuid.uuid4()
    address = f"lea.{ticket_id.hex[:8]}@ac-paris.fr"
    handler = handler_for(engine, smtp_down.port)
    event = opened(ticket_id, address)
    with pytest.raises(DeliveryFailed):
        await handle(handler, engine, event)
    (row,) = await rows(engine, ticket_id=ticket_id)
    assert (row.status, row.retryable, row.attempts) == ("failed", True, 1)
    assert row.error is not None
    assert "unavailable" in row.error

    # The ticket's later events still find its requester while the opening mail waits.
    close = closed(ticket_id)
    with pytest.raises(DeliveryFailed):
        await handle(handler, engine, close)
    smtp_down.start()
    await handle(handler, engine, event)  # the replays, once SMTP is back
    await handle(handler, engine, close)
    subjects = [m["Subject"] for m in smtp_down.messages(to=address)]
    assert len(subjects) == 2
    assert subjects[0].startswith("[INC-2026-000042] Ouverture")
    assert subjects[1].startswith("[INC-2026-000042] Clôture")
    recorded = await rows(engine, ticket_id=ticket_id)
    assert {(r.template, r.status, r.attempts) for r in recorded} == {
        ("opened", "sent", 2),
        ("closed", "sent", 2),
    }


async def test_an_invalid_group_mailbox_is_recorded_as_failed_not_a_crash(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"marc.{ticket_id.hex[:8]}@ac-paris.fr"
    routing = Routing(group_mailboxes={"servers": "serveurs at ac-paris"})
    handler = handler_for(engine, smtp_server.port, routing)
    await handle(handler, engine, opened(ticket_id, address))
    routed = Routed(
        ticket_id=ticket_id,
        occurred_at=NOW,
        from_group="desk",
        to_group="servers",
        reason="Serveur de messagerie",
        by="agent1",
    )
    await handle(handler, engine, received(routed, 2))
    failed = await rows(engine, ticket_id=ticket_id, status="failed")
    assert [(r.template, r.recipient, r.retryable) for r in failed] == [
        ("handover", "serveurs at ac-paris", False)
    ]
    assert len(smtp_server.envelopes) == 1


async def test_a_ticket_opened_before_notify_listened_still_gets_its_closure_mail(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"ines.{ticket_id.hex[:8]}@ac-paris.fr"
    first = opened(ticket_id, address)
    store = EventStore(engine)
    await store.append(
        first.stream_id,
        ExpectedVersion.NO_STREAM,
        [NewEvent(first.type, first.data, event_id=first.event_id)],
    )
    await handle(handler_for(engine, smtp_server.port), engine, closed(ticket_id, version=2))

    (mail,) = smtp_server.messages(to=address)
    assert mail["Subject"].startswith("[INC-2026-000042] Clôture de votre ticket")
    assert [r.template for r in await rows(engine, ticket_id=ticket_id)] == ["closed"]


async def test_overlapping_batches_in_flight_send_each_mail_once(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    tickets = [uuid.uuid4() for _ in range(6)]
    addresses = [f"lea.{t.hex[:8]}@ac-paris.fr" for t in tickets]
    events = [opened(t, a) for t, a in zip(tickets, addresses, strict=True)]
    handler = handler_for(engine, smtp_server.port)
    await handler.record(*events)  # planned once; the deliveries below race for the mails

    async def batch(chosen: list[ReceivedEvent]) -> None:
        async with engine.begin() as conn:
            await handler.handle_batch(chosen, conn)

    await asyncio.gather(
        batch(events[:4]),
        batch(events[2:]),
        batch(events[1:5]),
        handle(handler, engine, events[3]),
    )
    for ticket_id, address in zip(tickets, addresses, strict=True):
        assert len(smtp_server.messages(to=address)) == 1, address
        (row,) = await rows(engine, ticket_id=ticket_id)
        assert (row.status, row.attempts) == ("sent", 1)


async def test_a_batch_opening_and_closing_a_ticket_mails_both_in_order_and_keeps_the_last_view(
    engine: AsyncEngine, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"marc.{ticket_id.hex[:8]}@ac-paris.fr"
    handler = handler_for(engine, smtp_server.port)
    async with engine.begin() as conn:
        await handler.handle_batch([opened(ticket_id, address), closed(ticket_id)], conn)
    opening, closure = smtp_server.messages(to=address)  # in the order of the ticket's events
    assert "Ouverture" in opening["Subject"]
    assert "Clôture" in closure["Subject"]
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        views = await ticket_views.load_all_for_update(driver, [ticket_id])
    assert views[ticket_id].status is TicketStatus.CLOSED
