"""Reference counters, the index of the tickets intake opened, inbound mail and quarantine."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_intake.application.ports import InboundMail, IndexedTicket, Opening
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, stream_id
from helpdesk_shared.eventstore.store import EventStore, Prelude

#: The counter row stays locked until commit: taken in the append's own statement, after every
#: other write of the opening, it is held for that one statement and the commit only.
_NUMBER_AND_INDEX = """counter AS (
        INSERT INTO intake.reference_counters (prefix, year, last_value)
        VALUES (:prefix, :year, 1)
        ON CONFLICT (prefix, year)
        DO UPDATE SET last_value = intake.reference_counters.last_value + 1
        RETURNING last_value
    ), indexed AS (
        INSERT INTO intake.tickets
            (ticket_id, reference, requester_login, requester_email, channel)
        SELECT :id, :prefix || '-' || :year_text || '-' || lpad(last_value::text,
                   greatest(6, length(last_value::text)), '0'),
               :login, :email, :channel
        FROM counter
        RETURNING reference
    )"""
_REFERENCE = "(SELECT jsonb_build_object('reference', reference) FROM indexed)"


async def open_numbered(
    conn: AsyncConnection,
    store: EventStore,
    opening: Opening,
    event: NewEvent,
) -> str:
    """Take the next number, index the ticket under its reference and append `event` as its
    stream's first, with that reference in its data, in one statement: the reference."""
    ticket = opening.ticket
    prelude = Prelude(
        _NUMBER_AND_INDEX,
        {
            "prefix": opening.prefix,
            "year": opening.year,
            "year_text": f"{opening.year:04d}",
            "id": ticket.ticket_id,
            "login": ticket.requester_login,
            "email": ticket.requester_email,
            "channel": opening.channel,
        },
        _REFERENCE,
    )
    stream = stream_id("ticket", ticket.ticket_id)
    _, merged = await store.append_with(
        prelude, stream, ExpectedVersion.NO_STREAM, [event], conn=conn
    )
    return str(merged["reference"])


_TICKET_COLUMNS = "ticket_id, reference, requester_login, requester_email"


def _indexed(row: Any) -> IndexedTicket:
    return IndexedTicket(row.ticket_id, row.reference, row.requester_login, row.requester_email)


async def ticket_by_reference(conn: AsyncConnection, reference: str) -> IndexedTicket | None:
    sql = f"SELECT {_TICKET_COLUMNS} FROM intake.tickets WHERE reference = :ref"  # noqa: S608
    row = (await conn.execute(text(sql), {"ref": reference.upper()})).first()
    return _indexed(row) if row else None


async def ticket_by_id(conn: AsyncConnection, ticket_id: uuid.UUID) -> IndexedTicket | None:
    sql = f"SELECT {_TICKET_COLUMNS} FROM intake.tickets WHERE ticket_id = :id"  # noqa: S608
    row = (await conn.execute(text(sql), {"id": ticket_id})).first()
    return _indexed(row) if row else None


async def ticket_by_message_ids(
    conn: AsyncConnection, message_ids: list[str]
) -> IndexedTicket | None:
    """The ticket the nearest earlier message of this thread (opening or reply) landed on."""
    if not message_ids:
        return None
    sql = """SELECT t.ticket_id, t.reference, t.requester_login, t.requester_email
        FROM intake.tickets t JOIN intake.inbound_emails m ON m.ticket_id = t.ticket_id
        WHERE m.message_id = ANY(:ids)
        ORDER BY array_position(CAST(:ids AS text[]), m.message_id) LIMIT 1"""
    row = (await conn.execute(text(sql), {"ids": message_ids})).first()
    return _indexed(row) if row else None


async def claim_message(conn: AsyncConnection, mail: InboundMail) -> InboundMail | None:
    """Record the message; if it was handed over before, the earlier handling instead.

    A concurrent transaction handling the same Message-ID makes this one wait for it (an
    advisory lock on the Message-ID: two `INSERT ... ON CONFLICT` racing on a table with two
    unique indexes can deadlock), so the same mail delivered twice at once is handled once.
    """
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"intake-mail:{mail.message_id}"},
    )
    row = (
        await conn.execute(
            text(
                """INSERT INTO intake.inbound_emails
                (message_id, mail_id, disposition, detail, ticket_id, from_address, subject)
                VALUES (:message_id, :mail_id, :disposition, :detail, :ticket_id, :from_, :subject)
                ON CONFLICT (message_id) DO NOTHING RETURNING message_id"""
            ),
            _mail_params(mail),
        )
    ).first()
    if row is not None:
        return None
    sql = text(
        """SELECT message_id, mail_id, disposition, detail, ticket_id, from_address, subject
        FROM intake.inbound_emails WHERE message_id = :message_id"""
    )
    prior = (await conn.execute(sql, {"message_id": mail.message_id})).one()
    return InboundMail(*prior)


async def settle_message(conn: AsyncConnection, mail: InboundMail) -> None:
    """Write the final handling of a message claimed in this transaction."""
    await conn.execute(
        text(
            """UPDATE intake.inbound_emails SET disposition = :disposition, detail = :detail,
            ticket_id = :ticket_id WHERE message_id = :message_id"""
        ),
        _mail_params(mail),
    )


def _mail_params(mail: InboundMail) -> dict[str, Any]:
    return {
        "message_id": mail.message_id,
        "mail_id": mail.mail_id,
        "disposition": mail.disposition,
        "detail": mail.detail,
        "ticket_id": mail.ticket_id,
        "from_": mail.from_address,
        "subject": mail.subject,
    }


async def quarantine(
    conn: AsyncConnection, mail_id: uuid.UUID, message_id: str | None, reason: str, raw: bytes
) -> None:
    await conn.execute(
        text(
            """INSERT INTO intake.quarantine (mail_id, message_id, reason, raw)
            VALUES (:id, :message_id, :reason, :raw) ON CONFLICT (mail_id) DO NOTHING"""
        ),
        {"id": mail_id, "message_id": message_id, "reason": reason, "raw": raw},
    )


_TICKETS_OF_CLIENT = text(
    """SELECT t.ticket_id FROM intake.tickets t
    LEFT JOIN intake.requesters r ON r.login = t.requester_login
    WHERE t.opened_at >= :since
      AND (t.requester_login = :login
           OR lower(btrim(r.data->>'organisation')) = lower(btrim(CAST(:org AS text))))
    ORDER BY t.opened_at"""
)


async def tickets_of_client(
    conn: AsyncConnection, organisation: str | None, login: str | None, since: datetime
) -> list[uuid.UUID]:
    """The tickets opened since `since` for a contract's client: the requesters the directory
    puts in the organisation, or the person by login. Candidates only: the caller checks each
    opening's own snapshot of who asked."""
    params = {"since": since, "org": organisation, "login": login}
    rows = await conn.execute(_TICKETS_OF_CLIENT, params)
    return [row.ticket_id for row in rows]
