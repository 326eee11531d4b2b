"""Hostile mail and messages: malformed MIME to `/v1/inbound-emails` is opened or quarantined
(never a 500), a CRLF in a subject or a name never becomes a mail header (real SMTP server), and
a poison AMQP message is parked in the consumer's dead-letter queue (real RabbitMQ)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import aio_pika
import httpx
import pytest
from aiosmtpd.controller import Controller
from deploy.local.parts import consumer_queues
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters.smtp import SmtpSender
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.bootstrap import build_app as build_notify
from helpdesk_notify.domain.notifications import Routing
from helpdesk_notify.settings import Settings as NotifySettings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    PreQualification,
    RequesterSnapshot,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import delete_topology

Clients = dict[str, httpx.AsyncClient]
GATEWAY = ("mail-gateway", "service")
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def _mail(*lines: str, body: bytes = b"Bonjour") -> bytes:
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


def _mid() -> str:
    return f"Message-ID: <{uuid.uuid4()}@alpha.example>"


FROM = "From: Alice Martin <alice.martin@alpha.example>"
MALFORMED_MAIL = {
    "garbage bytes": bytes(range(256)) * 4,
    "headers only, no blank line": f"{FROM}\r\nSubject: x\r\n{_mid()}".encode(),
    "no From": _mail("Subject: sans expéditeur", _mid()),
    "broken multipart boundary": _mail(
        FROM,
        "Subject: pièce jointe",
        _mid(),
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="nulle-part"',
        body=b"--autre\r\nContent-Type: text/plain\r\n\r\nbonjour\r\n--autre--",
    ),
    "unknown charset": _mail(
        FROM, "Subject: x", _mid(), "Content-Type: text/plain; charset=x-klingon", body=b"\xff\xfe"
    ),
    "bad base64": _mail(
        FROM,
        "Subject: =?utf-8?B?////?=",
        _mid(),
        "Content-Transfer-Encoding: base64",
        body=b"!!!not base64!!!",
    ),
    "NUL bytes in body and subject": _mail(FROM, "Subject: a\x00b", _mid(), body=b"a\x00b\x00"),
    "CRLF header injection in From": _mail(
        "From: Alice <alice.martin@alpha.example>\r\nBcc: intrus@evil.example", "Subject: x", _mid()
    ),
    "very long header line": _mail(FROM, "Subject: " + "x" * 100_000, _mid()),
    "8-bit headers": _mail(FROM, "Subject: écran noir", _mid()) + b"\xe9\xe8",
    "lone surrogate escape": _mail(FROM, "Subject: \udcff", _mid()),
}


@pytest.mark.parametrize("raw", MALFORMED_MAIL.values(), ids=MALFORMED_MAIL.keys())
async def test_malformed_mail_is_opened_or_quarantined_never_a_server_error(
    raw: bytes, hostile_clients: Clients, token_for: Any
) -> None:
    client = hostile_clients["intake"]
    response = await client.post(
        "/v1/inbound-emails",
        content=raw,
        headers=token_for(*GATEWAY) | {"Content-Type": "message/rfc822"},
    )
    # A mail is never refused for its content: the gateway would bounce it. It opens a ticket
    # (or threads as a reply), or it is kept in quarantine with the reason.
    assert response.status_code in {200, 201, 202}, response.text
    if response.status_code == 202:
        assert response.json()["disposition"] == "quarantined"
    healthy = await client.post(
        "/v1/inbound-emails",
        content=_mail(FROM, "Subject: écran noir", _mid(), "Content-Type: text/plain"),
        headers=token_for(*GATEWAY) | {"Content-Type": "message/rfc822"},
    )
    assert healthy.status_code in {200, 201}, healthy.text


class _Catcher:
    """A real SMTP server (aiosmtpd) that keeps what it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _opened_with_crlf(ticket_id: uuid.UUID, address: str) -> ReceivedEvent:
    event = TicketOpened(
        ticket_id=ticket_id,
        occurred_at=NOW,
        reference="INC-2026-000777",
        type=TicketType.INCIDENT,
        channel=Channel.EMAIL,
        requester=RequesterSnapshot(
            login="eve", name="Eve\r\nBcc: intrus@evil.example", email=address
        ),
        subject="Imprimante\r\nBcc: intrus@evil.example\r\nX-Injected: oui",
        description="Ligne 1\r\n.\r\nRCPT TO:<intrus@evil.example>",
        pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
        received_at=NOW,
    )
    return ReceivedEvent(
        event_id=uuid.uuid4(),
        type=event.event_type(),
        stream_id=f"ticket-{ticket_id}",
        version=1,
        global_position=1,
        recorded_at=NOW,
        schema_version=event.schema_version,
        data=event.to_data(),
    )


async def test_crlf_in_subject_and_name_never_becomes_a_mail_header(engine: AsyncEngine) -> None:
    catcher = _Catcher()
    port = _free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = SmtpSender(host="127.0.0.1", port=port, sender="helpdesk@helpdesk.local")
        handler = NotifyHandler(units=PostgresNotifyUnits(engine), sender=sender, routing=Routing())
        ticket_id = uuid.uuid4()
        address = f"eve.{ticket_id.hex[:8]}@ac-paris.fr"
        async with engine.begin() as conn:
            await handler(_opened_with_crlf(ticket_id, address), conn)
    finally:
        controller.stop()
    (envelope,) = [e for e in catcher.envelopes if address in e.rcpt_tos]
    assert envelope.rcpt_tos == [address]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert "\n" not in str(message["Subject"])
    assert "INC-2026-000777" in str(message["Subject"])


async def test_a_poison_message_is_parked_and_the_consumer_keeps_serving(
    database_url: str, engine: AsyncEngine, amqp_url: str, exchange_name: str, queue_prefix: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.poison-{suffix}", f"{queue_prefix}-poison-{suffix}"
    settings = NotifySettings(
        database_url=database_url,
        amqp_url=amqp_url,
        helpdesk_exchange=exchange,
        helpdesk_queue_prefix=prefix,
        helpdesk_jwt_secret="poison-tests-secret-0123456789abcdef",
        smtp_port=_free_port(),
        notify_digest_hour=None,
    )
    app = build_notify(settings, engine=engine)
    token = issue_token(settings, "manager.poison", ["manager"])
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://notify") as client,
        ):
            await _consumer_ready(app.state.consumers[0])
            await _publish_poison(amqp_url, exchange)
            letters = await _wait_for_dead_letters(client, headers)
            assert letters[0]["reason"].startswith("poison")
            assert (await client.get("/healthz")).status_code == 200
            listed = await client.get("/v1/notifications", headers=headers)
            assert listed.status_code == 200
    finally:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await delete_topology(
                channel, exchange=exchange, queue_prefix=prefix, consumers=consumer_queues()
            )


async def _consumer_ready(consumer: Any) -> None:
    for _ in range(300):
        try:
            await consumer.ready()
            return
        except ConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError("the consumer never connected")


async def _publish_poison(amqp_url: str, exchange_name: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(exchange_name)
        poison = aio_pika.Message(
            b'{"not": "a cloudevent", "data": \x00',
            content_type="application/cloudevents+json",
            message_id=str(uuid.uuid4()),
        )
        await exchange.publish(poison, routing_key="ticket.opened")


async def _wait_for_dead_letters(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> list[dict[str, Any]]:
    for _ in range(100):
        response = await client.get("/v1/dead-letters", headers=headers)
        assert response.status_code == 200, response.text
        if response.json()["count"]:
            return list(response.json()["items"])
        await asyncio.sleep(0.1)
    raise AssertionError("the poison message was never parked")
