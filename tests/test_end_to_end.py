"""One ticket's whole life across the four running services, seen from outside.

The relay and the four services run as real processes (the local runner); the test talks to them
over HTTP only, while a separate AMQP subscriber bound to the run's exchange watches the events
as any other DSI system would, and a real SMTP server (aiosmtpd) receives the requester's mails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aio_pika
import httpx
import pytest
from cloudevents.core.bindings import rabbitmq
from cloudevents.core.formats.json import JSONFormat
from deploy.local.stack import Stack
from tests.support.mailbox import Mailbox

from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.broker import eventually

REQUESTER_EMAIL = "alice.martin@alpha.example"
CONTRACT_EVENTS = ["TicketOpened", "Escalated", "Routed", "Closed"]


@dataclass
class Subscriber:
    """Another DSI system: its own queue bound with `#` on the exchange."""

    queue: aio_pika.abc.AbstractQueue
    received: list[dict[str, Any]] = field(default_factory=list)

    async def collect(self) -> None:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            raw = rabbitmq.RabbitMQMessage(
                headers={}, content_type=message.content_type, body=message.body
            )
            event = rabbitmq.from_rabbitmq(raw, JSONFormat())
            self.received.append(
                {**event.get_attributes(), "data": event.get_data(), "key": message.routing_key}
            )

    def of(self, subject: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["subject"] == subject]


@pytest.fixture
async def subscriber(amqp_url: str, runner_env: dict[str, str]) -> AsyncIterator[Subscriber]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            runner_env["HELPDESK_EXCHANGE"], aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, "#")
        yield Subscriber(queue)


class Desk:
    """The front ends: HTTP calls with the tokens of the people at the desk."""

    def __init__(self, stack: Stack, secret: str) -> None:
        self.urls = stack.urls
        settings = CommonSettings(helpdesk_jwt_secret=secret)
        self.tokens = {
            "agent": issue_token(settings, "agent.n1", ["agent"], level=1, groups=["desk"]),
            "manager": issue_token(settings, "chef.desk", ["manager"]),
        }

    async def call(
        self, who: str, service: str, method: str, path: str, body: Any = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        async with httpx.AsyncClient(base_url=self.urls[service], timeout=30) as client:
            response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response

    async def command(self, who: str, ticket_id: str, name: str, body: Any = None) -> None:
        await self.call(who, "ticket", "POST", f"/v1/tickets/{ticket_id}/{name}", body)


async def test_a_ticket_lives_from_opening_to_closure_across_the_services(
    stack: Stack,
    subscriber: Subscriber,
    smtp_server: tuple[Mailbox, int],
    runner_env: dict[str, str],
) -> None:
    desk, mailbox = Desk(stack, runner_env["HELPDESK_JWT_SECRET"]), smtp_server[0]
    form = {
        "channel": "phone",
        "subject": "Imprimante réseau hors service",
        "description": "L'imprimante du 2e étage ne répond plus depuis ce matin.",
        "category": "printers",
        "requester": {"login": "demo.alpha"},
    }
    opened = (await desk.call("agent", "intake", "POST", "/v1/requests", form)).json()
    ticket_id, reference = opened["ticket_id"], opened["reference"]
    assert reference.startswith("INC-")

    await desk.command("agent", ticket_id, "take")
    await desk.command(
        "agent", ticket_id, "escalate", {"reason": "Panne matérielle", "to_level": 2}
    )
    route = {"to_group": "reseau", "reason": "Le switch d'étage est en cause", "domain": "network"}
    await desk.command("manager", ticket_id, "route", route)
    resolution = {"solution": "Port du switch réactivé", "resolution_code": "network_fix"}
    await desk.command("manager", ticket_id, "resolve", resolution)
    await desk.command("manager", ticket_id, "close", {"code": "resolved"})

    subject = f"ticket-{ticket_id}"

    async def contract_events_arrived() -> bool:
        await subscriber.collect()
        names = [e["type"] for e in subscriber.of(subject)]
        return all(name in names for name in CONTRACT_EVENTS)

    await eventually(contract_events_arrived, within=90, what="the four events on the exchange")
    events = subscriber.of(subject)
    contract = [e for e in events if e["type"] in CONTRACT_EVENTS]
    assert [e["type"] for e in contract] == CONTRACT_EVENTS
    assert [e["key"] for e in contract] == [
        "ticket.opened",
        "ticket.escalated",
        "ticket.routed",
        "ticket.closed",
    ]
    versions = [int(e["streamversion"]) for e in events]
    assert versions == sorted(versions)
    assert contract[0]["data"]["reference"] == reference

    def requester_mails() -> list[EmailMessage]:
        return mailbox.to(REQUESTER_EMAIL)

    await eventually(
        lambda: len(requester_mails()) >= 2, within=90, what="opening and closure mails"
    )
    subjects = [str(m["Subject"]) for m in requester_mails()]
    assert all(reference in s for s in subjects), subjects
    closure = requester_mails()[-1]
    body = closure.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Port du switch réactivé" in body.get_content()

    await _kpis_reflect_the_ticket(desk, reference)


async def _kpis_reflect_the_ticket(desk: Desk, reference: str) -> None:
    """The metrics service counted the ticket: opened, escalated, routed, no longer open."""

    async def counted() -> bool:
        kpis = (await desk.call("manager", "metrics", "GET", "/v1/kpis")).json()
        return (
            sum(sum(per_channel.values()) for per_channel in kpis["opened_per_day"].values()) >= 1
            and kpis["rates"]["escalation"]["count"] >= 1
            and kpis["rates"]["routing"]["count"] >= 1
        )

    await eventually(counted, within=90, what=f"/v1/kpis to count {reference}")
    async with httpx.AsyncClient(base_url=desk.urls["metrics"], timeout=30) as client:
        exposition = (await client.get("/metrics")).text
    opened = [
        line
        for line in exposition.splitlines()
        if line.startswith("helpdesk_tickets_opened_total") and 'channel="phone"' in line
    ]
    assert opened, exposition[:2000]
    assert float(opened[0].rsplit(" ", 1)[1]) >= 1
