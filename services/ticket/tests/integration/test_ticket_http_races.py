"""Lost races over HTTP, on PostgreSQL: a competing writer is staged between the handler's load
and its append (the kernel's `before_append`), so each outcome is deterministic."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.events.problem import WorkaroundRecorded
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings

Opener = Callable[..., Awaitable[uuid.UUID]]
Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def app(ticket_settings: Settings, engine: AsyncEngine) -> FastAPI:
    return build_app(ticket_settings, engine=engine)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as client:
        yield client


def compete(store: EventStore, ticket_id: uuid.UUID) -> Callable[[str], Awaitable[None]]:
    """Every time the handler is about to append, intake threads a mail reply first."""

    async def reply(stream: str) -> None:
        event = CommentAdded(
            ticket_id=ticket_id,
            occurred_at=datetime.now(UTC),
            text="réponse par courriel",
            visibility=Visibility.PUBLIC,
            by="intake",
        )
        await store.append(stream, ExpectedVersion.ANY, [NewEvent.from_domain(event)])

    return reply


async def test_retries_used_up_answer_409_naming_the_allowed_commands(
    app: FastAPI, http: httpx.AsyncClient, auth: Auth, open_ticket: Opener, event_store: EventStore
) -> None:
    ticket_id = await open_ticket()
    tickets = app.state.ticket_service
    tickets.aggregates.before_append = compete(event_store, ticket_id)
    manager = auth("max", "manager")
    answer = await http.post(
        f"/v1/tickets/{ticket_id}/comment", json={"text": "relance"}, headers=manager
    )
    assert answer.status_code == 409
    body = answer.json()
    assert body["type"] == "urn:helpdesk:problem:concurrency-conflict"
    assert "comment" in body["allowed"]
    assert "take" in body["allowed"]
    stored = await event_store.read_stream(f"ticket-{ticket_id}")
    assert len(stored) == 1 + tickets.aggregates.attempts  # the replies, none of ours
    assert all(e.data.get("text") != "relance" for e in stored)

    tickets.aggregates.before_append = None
    answer = await http.post(
        f"/v1/tickets/{ticket_id}/comment", json={"text": "relance"}, headers=manager
    )
    assert answer.status_code == 200
    assert answer.headers["ETag"] == f'"{len(stored) + 1}"'


async def test_a_stale_if_match_answers_412_and_appends_nothing(
    http: httpx.AsyncClient, auth: Auth, open_ticket: Opener, event_store: EventStore
) -> None:
    ticket_id = await open_ticket()
    manager = {**auth("max", "manager"), "If-Match": '"1"'}
    first = await http.post(f"/v1/tickets/{ticket_id}/take", headers=manager)
    assert first.status_code == 200
    stale = await http.post(
        f"/v1/tickets/{ticket_id}/comment", json={"text": "en retard"}, headers=manager
    )
    assert stale.status_code == 412
    assert stale.headers["ETag"] == '"2"'
    assert await event_store.stream_version(f"ticket-{ticket_id}") == 2


async def test_a_problem_command_that_keeps_losing_answers_409_naming_its_commands(
    app: FastAPI, http: httpx.AsyncClient, auth: Auth, event_store: EventStore
) -> None:
    agent = auth("nina", "agent", level=2, groups=["desk"])
    made = await http.post(
        "/v1/problems", json={"title": "Switch", "description": "coupures"}, headers=agent
    )
    problem_id = made.json()["id"]

    problems = app.state.problem_service
    problems.aggregates.before_append = _workaround_elsewhere(event_store, problem_id)
    answer = await http.post(
        f"/v1/problems/{problem_id}/resolve", json={"resolution": "remplacé"}, headers=agent
    )
    assert answer.status_code == 409
    assert answer.json()["allowed"] == ["link", "unlink", "workaround", "resolve"]
    assert await event_store.stream_version(f"problem-{problem_id}") == 1 + 3


def _workaround_elsewhere(store: EventStore, problem_id: str) -> Callable[[str], Awaitable[None]]:
    async def record(stream: str) -> None:
        event = WorkaroundRecorded(
            problem_id=uuid.UUID(problem_id),
            occurred_at=datetime.now(UTC),
            by="someone-else",
            workaround="redémarrer le switch",
            known_error=False,
        )
        await store.append(stream, ExpectedVersion.ANY, [NewEvent.from_domain(event)])

    return record
