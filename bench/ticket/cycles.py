"""Parts of the ticket benchmark that run in process: long streams, the load-decide-save cycle
(ours and the `eventsourcing` library's) and list pages over 100,000 projected tickets."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from bench.ticket.support import (
    SECRET,
    Sample,
    drop,
    free_port,
    fresh_database,
    open_tickets,
    percentile,
    scratch_database,
    start_server,
    wait_until_up,
)
from helpdesk_shared.auth import Principal, Role, issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.model import NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.adapters.snapshots import TicketSnapshots
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain.ticket.commands import Comment
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.settings import Settings

MANAGER = Principal(sub="bench", roles=frozenset({Role.MANAGER}))


def _comment(ticket_id: uuid.UUID, n: int) -> NewEvent:
    event = CommentAdded(
        ticket_id=ticket_id,
        occurred_at=datetime.now(UTC),
        text=f"relance {n}",
        visibility=Visibility.PUBLIC,
        by="bench",
    )
    return NewEvent.from_domain(event)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def long_ticket() -> list[str]:
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=4)
        store = EventStore(engine)
        (ticket,) = await open_tickets(store, 1)
        for start in range(0, 1000, 100):
            await store.append(
                ticket_stream(ticket), start + 1, [_comment(ticket, start + i) for i in range(100)]
            )
        service = TicketService(store, DEFAULT_POLICY, snapshots=TicketSnapshots(store.engine))
        full: list[float] = []
        for _ in range(30):
            started = time.perf_counter()
            await service.load(ticket)
            full.append(_ms(started))
        await service.current(ticket)
        topped: list[float] = []
        for n in range(30):
            await store.append(ticket_stream(ticket), 1001 + n, [_comment(ticket, 1001 + n)])
            started = time.perf_counter()
            await service.current(ticket)
            topped.append(_ms(started))
        cold: list[float] = []
        for _ in range(30):
            started = time.perf_counter()
            await TicketService(
                store, DEFAULT_POLICY, snapshots=TicketSnapshots(store.engine)
            ).current(ticket)  # a new process: snapshot
            cold.append(_ms(started))
        await engine.dispose()
    return [
        "| load | p50 | p99 |",
        "|---|---|---|",
        f"| full replay of ~1,000 events | {percentile(full, 0.5):.1f} ms "
        f"| {percentile(full, 0.99):.1f} ms |",
        f"| state cache topped up (1 new event) | {percentile(topped, 0.5):.2f} ms "
        f"| {percentile(topped, 0.99):.2f} ms |",
        f"| cold process, from the snapshot | {percentile(cold, 0.5):.2f} ms "
        f"| {percentile(cold, 0.99):.2f} ms |",
    ]


async def our_cycle(count: int) -> Sample:
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=4)
        store = EventStore(engine)
        tickets = await open_tickets(store, 100)
        service = TicketService(store, DEFAULT_POLICY, snapshots=TicketSnapshots(store.engine))
        sample = Sample()
        started_all = time.perf_counter()
        for n in range(count):
            started = time.perf_counter()
            await service.execute(
                MANAGER, tickets[n % 100], lambda by, at: Comment(by=by, at=at, text="relance")
            )
            sample.latencies.append(_ms(started))
        sample.seconds = time.perf_counter() - started_all
        await engine.dispose()
    return sample


def _eventsourcing_run(database: str, count: int) -> Sample:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Ticket(Aggregate):
        @event("Opened")
        def __init__(self, subject: str) -> None:
            self.subject = subject
            self.comments = 0

        @event("Commented")
        def comment(self, text: str) -> None:
            self.comments += 1

    class Desk(Application[uuid.UUID]):
        def open(self, subject: str) -> Any:
            ticket = Ticket(subject)
            self.save(ticket)
            return ticket.id

        def comment(self, ticket_id: Any, text: str) -> None:
            ticket: Ticket = self.repository.get(ticket_id)
            ticket.comment(text)
            self.save(ticket)

    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "CREATE_TABLE": "y",
    }
    desk = Desk(env=env)
    tickets = [desk.open(f"ticket {i}") for i in range(100)]
    sample = Sample()
    started_all = time.perf_counter()
    for n in range(count):
        started = time.perf_counter()
        desk.comment(tickets[n % 100], "relance")
        sample.latencies.append(_ms(started))
    sample.seconds = time.perf_counter() - started_all
    desk.close()
    return sample


async def eventsourcing_cycle(count: int) -> Sample:
    async with scratch_database() as url:
        return await asyncio.to_thread(_eventsourcing_run, url.rsplit("/", 1)[1], count)


_SYNTHETIC = text(
    """
    INSERT INTO ticket.tickets (ticket_id, reference, type, status, category, priority,
        group_name, level, assignee, requester, requester_name, subject, description, channel,
        admissibility, received_at, opened_at, last_activity_at, version)
    SELECT gen_random_uuid(), 'DSI-2024-' || lpad(i::text, 6, '0'), 'incident',
        (ARRAY['opened','qualified','assigned','in_progress','on_hold','resolved','closed'])
            [1 + i % 7],
        (ARRAY['workstation','office_software','internet_access','printers','local_network',
               'servers','network','business_applications'])[1 + (i / 7) % 8],
        (ARRAY['P1','P2','P3','P4'])[1 + (i / 3) % 4],
        (ARRAY['desk','servers','network','business-apps'])[1 + (i / 11) % 4],
        1 + i % 3, 'agent' || (i % 50), 'user' || (i % 5000), 'Utilisateur ' || i,
        (ARRAY['Imprimante bloquée','Messagerie Outlook inaccessible',
               'Serveur de fichiers indisponible','Accès Internet lent',
               'Poste de travail qui redémarre'])[1 + i % 5] || ' n°' || i,
        'Description de la demande', 'web', 'admissible',
        now() - make_interval(mins => i), now() - make_interval(mins => i),
        now() - make_interval(mins => i), 1
    FROM generate_series(1, 100000) AS i
    """
)
QUERIES = {
    "status + group": "status=in_progress&group=network",
    "requester": "requester=user42",
    "category + priority": "category=printers&priority=P1",
    "French text: imprimantes": "q=imprimantes",
    "opened between": "opened_from=2020-01-01T00:00:00Z&opened_to=2100-01-01T00:00:00Z",
}


async def list_pages(quick: bool) -> list[str]:
    url = await fresh_database()
    engine = create_engine(url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(_SYNTHETIC)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE ticket.tickets"))
    await engine.dispose()
    token = issue_token(Settings(helpdesk_jwt_secret=SECRET), "bench", ["manager"])
    port = free_port()
    env = {"DATABASE_URL": url, "HELPDESK_JWT_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
    server = start_server("helpdesk_ticket.bootstrap:build_app", port, env, True)
    base = f"http://127.0.0.1:{port}"
    lines = ["| filter (page of 50) | p50 | p99 | next page p50 |", "|---|---|---|---|"]
    try:
        await wait_until_up(base, server)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for name, query in QUERIES.items():
                first, second = [], []
                for _ in range(10 if quick else 50):
                    started = time.perf_counter()
                    page = (await client.get(f"/v1/tickets?{query}&limit=50")).json()
                    first.append(_ms(started))
                    if page["next_cursor"]:
                        started = time.perf_counter()
                        cursor = page["next_cursor"]
                        await client.get(f"/v1/tickets?{query}&limit=50&cursor={cursor}")
                        second.append(_ms(started))
                lines.append(
                    f"| {name} | {percentile(first, 0.5):.1f} ms | "
                    f"{percentile(first, 0.99):.1f} ms | {percentile(second, 0.5):.1f} ms |"
                )
    finally:
        server.terminate()
        server.wait(10)
        await drop(url)
    return lines
