"""A steady stream of requests and commands, and the checks that nothing was lost or doubled.

The traffic opens tickets at intake and takes them through their life at the ticket service,
recording each request the services accepted. The witness is a queue of its own bound with `#`
on the run's exchange from the start: any event the relay published reaches it. The checks
compare what was accepted, stored, published, mailed and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aio_pika
import httpx

from helpdesk_notify.settings import Settings as NotifySettings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings

REQUESTER_EMAIL = "alice.martin@alpha.example"
FORM = {
    "channel": "phone",
    "subject": "Imprimante réseau hors service",
    "description": "L'imprimante du 2e étage ne répond plus depuis ce matin.",
    "category": "printers",
    "requester": {"login": "demo.alpha"},
}
#: (command, who, body, event it stores) of a ticket's life after its opening.
STEPS: tuple[tuple[str, str, dict[str, Any] | None, str], ...] = (
    ("take", "agent", None, "TicketTaken"),
    (
        "resolve",
        "manager",
        {"solution": "Port du switch réactivé", "resolution_code": "network_fix"},
        "TicketResolved",
    ),
    ("close", "manager", {"code": "resolved"}, "Closed"),
)
_MESSAGE_ID = re.compile(r"<ticket-([0-9a-f-]{36})(?:\.([0-9a-f-]{36})\.[0-9a-f]+)?@")


def tokens(secret: str) -> dict[str, str]:
    settings = CommonSettings(helpdesk_jwt_secret=secret)
    return {
        "agent": issue_token(settings, "agent.n1", ["agent"], level=1, groups=["desk"]),
        "manager": issue_token(settings, "chef.desk", ["manager"]),
    }


@dataclass
class Traffic:
    """Workers opening tickets and driving them to closure until told to stop."""

    urls: dict[str, str]
    tokens: dict[str, str]
    workers: int = 3
    pause: float = 0.03
    #: Seconds a request may take before it counts as hung (`ReadTimeout` and the like).
    timeout: float = 10
    #: Read the ticket back after each accepted command (the network scenario's reads).
    read_back: bool = False
    #: The label the answers' latencies are filed under (the network scenario's phases).
    phase: str = "all"
    accepted_tickets: list[str] = field(default_factory=list)
    accepted_commands: list[tuple[str, str]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    #: Each answer's latency in seconds, by phase.
    latencies: dict[str, list[float]] = field(default_factory=dict)
    #: Server errors a client could not act on: anything but a 503 problem with `Retry-After`.
    unactionable: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            await asyncio.gather(*(self._worker(client) for _ in range(self.workers)))

    async def _worker(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            await self._lifecycle(client)

    async def _lifecycle(self, client: httpx.AsyncClient) -> None:
        opened = await self._post(client, "agent", f"{self.urls['intake']}/v1/requests", FORM)
        if opened is None or opened.status_code != 201:
            return
        ticket_id = str(opened.json()["ticket_id"])
        self.accepted_tickets.append(ticket_id)
        for command, who, body, event_type in STEPS:
            url = f"{self.urls['ticket']}/v1/tickets/{ticket_id}/{command}"
            answer = await self._post(client, who, url, body)
            if answer is None or answer.status_code >= 300:
                return
            self.accepted_commands.append((ticket_id, event_type))
            if self.read_back:
                await self._send(
                    client, "agent", "GET", f"{self.urls['ticket']}/v1/tickets/{ticket_id}"
                )

    async def _post(
        self, client: httpx.AsyncClient, who: str, url: str, body: Any
    ) -> httpx.Response | None:
        return await self._send(client, who, "POST", url, body)

    async def _send(
        self, client: httpx.AsyncClient, who: str, method: str, url: str, body: Any = None
    ) -> httpx.Response | None:
        await asyncio.sleep(self.pause)
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        phase, started = self.phase, time.monotonic()
        try:
            answer = await client.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as error:
            self.statuses[type(error).__name__] += 1
            await asyncio.sleep(0.3)
            return None
        self.latencies.setdefault(phase, []).append(time.monotonic() - started)
        self.statuses[str(answer.status_code)] += 1
        if answer.status_code >= 500:
            if not actionable(answer):
                self.unactionable.append(f"{answer.status_code} {url}: {answer.text[:200]}")
            await asyncio.sleep(0.3)
        return answer


def actionable(answer: httpx.Response) -> bool:
    """A server error the client can act on: 503 problem details saying when to retry."""
    return (
        answer.status_code == 503
        and answer.headers.get("Retry-After", "").isdigit()
        and answer.headers.get("Content-Type") == "application/problem+json"
        and "dependency" in answer.json()
    )


async def with_traffic(
    traffic: Traffic, fault: Callable[[], Awaitable[None]], before: float = 3, after: float = 4
) -> None:
    """Run the traffic, apply the fault while it flows, let it flow a while more, stop it."""
    running = asyncio.create_task(traffic.run())
    try:
        await asyncio.sleep(before)
        await fault()
        await asyncio.sleep(after)
    finally:
        traffic.stop.set()
        await running


@dataclass
class Witness:
    """A durable queue bound with `#` on the exchange: what the relay published, with counts."""

    amqp_url: str
    exchange: str
    queue: str
    seen: Counter[str] = field(default_factory=Counter)

    async def declare(self) -> None:
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(
                self.queue, durable=True, arguments={"x-queue-type": "quorum"}
            )
            await queue.bind(exchange, "#")

    async def drain(self) -> None:
        with contextlib.suppress(OSError, aio_pika.exceptions.AMQPError):
            connection = await aio_pika.connect(self.amqp_url, timeout=5)
            async with connection:
                channel = await connection.channel()
                queue = await channel.get_queue(self.queue, ensure=False)
                while (message := await queue.get(no_ack=True, fail=False)) is not None:
                    self.seen[str(message.message_id)] += 1


@dataclass
class Figures:
    """What went through one fault, and what was lost or doubled (the goal: zeros)."""

    scenario: str
    requests_accepted: int = 0
    commands_accepted: int = 0
    events_stored: int = 0
    requests_lost: int = 0
    commands_lost: int = 0
    events_published: int = 0
    events_unpublished: int = 0
    deliveries_repeated: int = 0
    mails_expected: int = 0
    mails_missing: int = 0
    mails_duplicated: int = 0
    duplicated_message_ids: list[str] = field(default_factory=list)
    notifications_not_sent: int = 0
    metrics_events_applied: int = 0
    metrics_events_missing: int = 0
    kpis_equal_rebuild: bool = False
    dead_letters_replayed: int = 0
    http_statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return (
            self.requests_lost
            + self.commands_lost
            + self.events_unpublished
            + self.mails_missing
            + self.notifications_not_sent
            + self.metrics_events_missing
        )

    def line(self) -> str:
        return "FAULT-FIGURES " + json.dumps(asdict(self), sort_keys=True)


#: Mails notify may hand over twice when the fault cuts it between the SMTP server's acceptance and
#: the commit marking them sent (PostgreSQL restarted, notify SIGKILLed): at most the messages it
#: handles at once, its prefetch. Such a mail is re-sent with the same `Message-ID`, so mail
#: clients show it once (services/notify/README.md, docs/reliability.md). The RabbitMQ restart
#: opens the same window another way: the backlog held while the broker was down (300 to 400
#: events) reaches notify at once, and on a loaded machine an SMTP reply can come later than the
#: client's timeout, so an accepted mail is retried (seen once at load average 9). The relay and
#: SMTP scenarios send no such burst, so they allow no mail twice.
SEND_WINDOW = NotifySettings.model_fields["notify_consumer_prefetch"].default
NO_MAIL_TWICE = 0


def assert_nothing_lost_or_doubled(figures: Figures, mails_twice_allowed: int) -> None:
    assert figures.requests_accepted > 0, figures
    assert figures.events_stored > 0, figures
    assert figures.lost == 0, figures
    assert figures.mails_duplicated <= mails_twice_allowed, figures
    assert figures.kpis_equal_rebuild, figures


def mail_key(message_id: str) -> tuple[str, str | None] | None:
    """(ticket id, event id or None for the opening confirmation) from a notify Message-ID."""
    found = _MESSAGE_ID.search(message_id)
    return (found.group(1), found.group(2)) if found else None


async def eventually(check: Callable[[], Awaitable[bool]], within: float, pause: float = 1) -> bool:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(pause)


async def precondition(
    check: Callable[[], Awaitable[bool]], what: str, within: float = 30, pause: float = 0.2
) -> None:
    """Wait, with a pause between looks, until the fault's precondition holds; fail if it never
    does: a scenario whose fault did not happen would prove nothing."""
    if not await eventually(check, within, pause):
        raise AssertionError(f"precondition never met within {within} s: {what}")
