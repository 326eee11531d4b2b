"""`POST /v1/inbound-emails`: raw messages open tickets, thread replies, and are never lost."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from helpdesk_shared.events.ticket import CommentAdded, TicketOpened
from helpdesk_shared.eventstore.store import EventStore

GATEWAY = ("mail-gateway", "service")
ALICE = "Alice Martin <alice.martin@alpha.example>"


def mail(
    sender: str = ALICE,
    subject: str = "Mon écran reste noir",
    *headers: str,
    message_id: str | None = None,
    body: str = "Bonjour,\nmon écran reste noir depuis ce matin.\nAlice",
) -> bytes:
    message_id = message_id or f"<{uuid.uuid4()}@alpha.example>"
    lines = [
        f"From: {sender}",
        "To: support@dsi.example.fr",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Mon, 02 Mar 2026 09:00:00 +0100",
        "Content-Type: text/plain; charset=utf-8",
        *headers,
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


async def post(client: httpx.AsyncClient, auth: Any, raw: bytes) -> httpx.Response:
    headers = auth(*GATEWAY) | {"content-type": "message/rfc822"}
    return await client.post("/v1/inbound-emails", content=raw, headers=headers)


async def opened(client: httpx.AsyncClient, auth: Any, raw: bytes) -> dict[str, Any]:
    response = await post(client, auth, raw)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["disposition"] == "opened"
    return body


async def test_a_new_mail_opens_a_ticket_for_its_sender(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    body = await opened(intake_client, auth, mail())
    events = await event_store.read_stream(f"ticket-{body['ticket_id']}")
    event = events[0].to_domain()
    assert isinstance(event, TicketOpened)
    assert (event.channel.value, event.requester.login) == ("email", "demo.alpha")
    assert event.subject == "Mon écran reste noir"
    assert "écran reste noir" in event.description
    assert event.reference == body["reference"]


async def test_an_unknown_sender_is_created_for_verification(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    sender = f"x{uuid.uuid4().hex[:8]}@inconnu.example"
    body = await opened(intake_client, auth, mail(f"Xavier <{sender}>"))
    listed = await intake_client.get(
        "/v1/requesters", params={"limit": 500}, headers=auth("a", "agent")
    )
    entry = next(r for r in listed.json() if r["login"] == sender)
    assert entry["needs_verification"] is True
    assert body["ticket_id"]


async def test_the_same_message_twice_opens_one_ticket(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    raw = mail()
    first = await opened(intake_client, auth, raw)
    again = await post(intake_client, auth, raw)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["ticket_id"] == first["ticket_id"]
    racing = mail()
    responses = await asyncio.gather(*(post(intake_client, auth, racing) for _ in range(3)))
    assert len({r.json()["ticket_id"] for r in responses}) == 1
    assert sorted(r.status_code for r in responses) == [200, 200, 201]


async def test_a_reply_with_the_reference_becomes_a_comment(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    ticket = await opened(intake_client, auth, mail())
    reply = mail(ALICE, f"RE: [{ticket['reference']}] Mon écran", body="C'est réparé, merci.")
    response = await post(intake_client, auth, reply)
    assert response.status_code == 200, response.text
    assert (response.json()["disposition"], response.json()["ticket_id"]) == (
        "reply",
        ticket["ticket_id"],
    )
    events = await event_store.read_stream(f"ticket-{ticket['ticket_id']}")
    comment = events[-1].to_domain()
    assert isinstance(comment, CommentAdded)
    assert (comment.text, comment.by, comment.visibility.value) == (
        "C'est réparé, merci.",
        "demo.alpha",
        "public",
    )


async def test_a_reply_threads_through_in_reply_to_without_a_reference(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    first_id = f"<{uuid.uuid4()}@alpha.example>"
    ticket = await opened(intake_client, auth, mail(message_id=first_id))
    reply = mail(ALICE, "Re: Mon écran reste noir", f"In-Reply-To: {first_id}")
    response = await post(intake_client, auth, reply)
    assert (response.json()["disposition"], response.json()["ticket_id"]) == (
        "reply",
        ticket["ticket_id"],
    )
    staff = mail("Agent <agent.dupont@dsi.example.fr>", "Re: écran", f"References: {first_id}")
    response = await post(intake_client, auth, staff)
    assert response.json()["disposition"] == "reply"


async def test_a_stranger_s_reply_never_lands_on_the_ticket(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    first_id = f"<{uuid.uuid4()}@alpha.example>"
    ticket = await opened(intake_client, auth, mail(message_id=first_id))
    stranger = mail(
        "Eve <eve@autre-client.example>",
        f"Re: [{ticket['reference']}] Mon écran",
        f"In-Reply-To: {first_id}",
    )
    response = await post(intake_client, auth, stranger)
    assert response.status_code == 201
    assert response.json()["disposition"] == "opened"
    assert response.json()["ticket_id"] != ticket["ticket_id"]
    assert "neither the requester" in response.json()["detail"]
    events = await event_store.read_stream(f"ticket-{ticket['ticket_id']}")
    assert [e.type for e in events] == ["TicketOpened"]


async def test_auto_replies_and_bounces_open_nothing(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    ticket = await opened(intake_client, auth, mail())
    automatic = [
        mail(ALICE, f"Absence [{ticket['reference']}]", "Auto-Submitted: auto-replied"),
        mail(ALICE, "Out of office", "X-Autoreply: yes"),
        mail(ALICE, "Lettre d'information", "Precedence: bulk"),
        mail("MAILER-DAEMON@mx.alpha.example", "Undelivered Mail Returned to Sender"),
    ]
    kinds = []
    for raw in automatic:
        response = await post(intake_client, auth, raw)
        assert response.status_code == 200
        assert response.json()["ticket_id"] is None
        kinds.append(response.json()["disposition"])
    assert kinds == ["auto_reply", "auto_reply", "auto_reply", "bounce"]


async def test_an_unreadable_message_is_quarantined_with_the_reason(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    raw = f"Subject: pas d'expéditeur {uuid.uuid4()}\r\n\r\ncorps\r\n".encode()
    response = await post(intake_client, auth, raw)
    assert response.status_code == 202
    body = response.json()
    assert (body["disposition"], body["detail"]) == ("quarantined", "no From header")
    kept = await intake_client.get("/v1/inbound-emails/quarantine", headers=auth("a", "agent"))
    assert body["mail_id"] in {q["mail_id"] for q in kept.json()}
    events = await event_store.read_stream(f"mail-{body['mail_id']}")
    assert [e.type for e in events] == ["MailQuarantined"]
    again = await post(intake_client, auth, raw)
    assert again.json()["mail_id"] == body["mail_id"]


async def test_mail_routes_check_the_caller_and_the_size(
    intake_client: httpx.AsyncClient, auth: Any, intake_settings: Any
) -> None:
    headers = auth("alice", "requester") | {"content-type": "message/rfc822"}
    refused = await intake_client.post("/v1/inbound-emails", content=mail(), headers=headers)
    assert refused.status_code == 403
    empty = await post(intake_client, auth, b"")
    assert empty.status_code == 422
    huge = mail(body="x" * (intake_settings.intake_max_email_bytes + 1))
    assert (await post(intake_client, auth, huge)).status_code == 413


async def test_a_reply_to_a_notification_threads_through_its_message_id(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    ticket = await opened(intake_client, auth, mail())
    root = f"<ticket-{ticket['ticket_id']}@dsi.example.fr>"
    reply = mail(ALICE, "Re: Votre demande", f"In-Reply-To: {root}", f"References: {root}")
    response = await post(intake_client, auth, reply)
    assert (response.json()["disposition"], response.json()["ticket_id"]) == (
        "reply",
        ticket["ticket_id"],
    )


async def test_a_mail_s_display_name_does_not_rewrite_the_directory(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    body = await opened(intake_client, auth, mail("Quelqu'un d'autre <alice.martin@alpha.example>"))
    events = await event_store.read_stream(f"ticket-{body['ticket_id']}")
    event = events[0].to_domain()
    assert isinstance(event, TicketOpened)
    assert (event.requester.login, event.requester.name) == ("demo.alpha", "Alice Martin")
