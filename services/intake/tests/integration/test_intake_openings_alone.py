"""An opening's unit without a transaction (`PostgresIntakeUnits.alone`): its numbered append
commits by itself, all or nothing, and any earlier write, or a read on a dead connection, gives
way before anything is written, so the route can open the ticket again in a transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.unit_of_work import PostgresIntakeUnits
from helpdesk_intake.application.ports import GaveWay, IndexedTicket, Opening
from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.domain.requesters import Requester
from helpdesk_intake.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.ticket import Channel, RequesterSnapshot, TicketOpened, TicketType
from helpdesk_shared.eventstore.model import EventMetadata, NewEvent
from helpdesk_shared.eventstore.store import EventStore

from .conftest import TokenFor

AGENT = ("agent.dupont", "agent")


def _opening(prefix: str) -> tuple[Opening, NewEvent]:
    """A whole `TicketOpened` (the run's other services read every `ticket-` stream of the
    shared store), its reference left for the numbered append to write."""
    ticket_id, now = uuid.uuid4(), datetime.now(UTC)
    opened = TicketOpened(
        ticket_id=ticket_id,
        occurred_at=now,
        reference="",
        type=TicketType.INCIDENT,
        channel=Channel.PHONE,
        requester=RequesterSnapshot(login="demo.alpha", name="Demo Alpha"),
        subject="Écran noir",
        description="Plus d'image.",
        admissibility=AdmissibilityEvidence(decision=Decision.IN_SCOPE),
        received_at=now,
    )
    ticket = IndexedTicket(ticket_id, "", "demo.alpha", None)
    event = NewEvent.from_domain(opened, EventMetadata(actor="intake"))
    return Opening(prefix, 2031, ticket, "phone"), event


async def _seen_from_elsewhere(engine: AsyncEngine, ticket_id: uuid.UUID) -> tuple[int, int]:
    """(index rows, events) of the ticket as another session sees them: committed only."""
    async with engine.connect() as conn:
        indexed = await conn.execute(
            text("SELECT count(*) FROM intake.tickets WHERE ticket_id = :id"), {"id": ticket_id}
        )
        events = await conn.execute(
            text("SELECT count(*) FROM eventstore.events WHERE stream_id = :s"),
            {"s": f"ticket-{ticket_id}"},
        )
        return int(indexed.scalar_one()), int(events.scalar_one())


async def test_the_numbered_append_alone_is_committed_when_its_statement_answers(
    engine: AsyncEngine, event_store: EventStore
) -> None:
    """Seen from another session while the unit is still open: no COMMIT is waited for, so
    the counter is not held beyond the statement."""
    units, prefix = PostgresIntakeUnits(engine, event_store), f"T{uuid.uuid4().hex[:6].upper()}"
    references = []
    for _ in range(3):
        opening, event = _opening(prefix)
        async with units.alone() as unit:
            references.append(await unit.tickets.open_numbered(opening, event))
            assert await _seen_from_elsewhere(engine, opening.ticket.ticket_id) == (1, 1)
        (stored,) = await event_store.read_stream(f"ticket-{opening.ticket.ticket_id}")
        assert stored.data["reference"] == references[-1]
    assert references == [f"{prefix}-2031-{n:06d}" for n in (1, 2, 3)]


async def test_in_a_unit_alone_a_write_gives_way_before_it_runs(
    engine: AsyncEngine, event_store: EventStore
) -> None:
    units = PostgresIntakeUnits(engine, event_store)
    login = f"alone.{uuid.uuid4().hex[:8]}"
    newcomer = Requester.model_validate({"login": login, "name": "Nouveau", "email": None})
    async with units.alone() as unit:
        with pytest.raises(GaveWay):
            await unit.directory.insert_requester(newcomer)
        with pytest.raises(GaveWay):
            await unit.directory.requester_by_id(newcomer.id, for_update=True)
        with pytest.raises(GaveWay):
            await unit.events.append("ticket-x", 0, [NewEvent("Noted", {})])
        assert await unit.directory.requester_by_id(newcomer.id) is None
    async with units() as unit:
        assert await unit.directory.requester_and_contracts_by_login(login) is None


async def test_an_opening_on_a_connection_killed_in_the_pool_is_answered(
    intake_client: httpx.AsyncClient,
    intake_settings: Settings,
    database_url: str,
    engine: AsyncEngine,
    auth: TokenFor,
) -> None:
    """The unit without a transaction takes its connection without the pool's ping: its first
    read finds the connection dead, gives way, and the opening runs in a transaction on a live
    one (what a PostgreSQL restart does to every idle connection)."""
    name = f"intake-alone-{uuid.uuid4().hex[:8]}"
    own = create_engine(database_url, pool_size=1, application_name=name)
    try:
        app = build_app(intake_settings, engine=own)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake"
        ) as client:
            body = {"channel": "phone", "subject": "Écran noir", "description": "Plus d'image."}
            body["requester"] = {"login": "demo.alpha"}
            first = await client.post("/v1/requests", json=body, headers=auth(*AGENT))
            assert first.status_code == 201, first.text
            async with engine.connect() as conn:
                killed = await conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = :victim"
                    ),
                    {"victim": name},
                )
                assert killed.scalar_one() >= 1
            second = await client.post("/v1/requests", json=body, headers=auth(*AGENT))
            assert second.status_code == 201, second.text
        await app.state.knowledge_base.close()
    finally:
        await own.dispose()
