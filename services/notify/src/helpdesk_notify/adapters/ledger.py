"""The ledger of notifications in `notify.notifications`: one row per (event, recipient).

The row is written before anything is sent and keeps the rendered mail, so a re-send (after a
crash, a retry or a replay) sends exactly what was planned the first time, and the unique
(event_id, recipient) constraint means a redelivered event never plans a second row. This is the
write side; what the routes read (`search`) is in `queries.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.domain.notifications import Notification

_NAMESPACE = uuid.UUID("6f3a3c1e-1b7e-4c55-9a53-0c8f2a6e7d01")

#: The columns of a `StoredNotification`, in its order (the read side selects them too).
COLUMNS = """id, ticket_id, event_id, recipient, template, language, status, retryable,
    attempts, message_id, in_reply_to, subject, body_text, body_html, smtp_response, error,
    created_at, updated_at, sent_at"""


def notification_id(event_id: uuid.UUID, recipient: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{event_id}/{recipient}")


@dataclass(frozen=True)
class StoredNotification:
    id: uuid.UUID
    ticket_id: uuid.UUID | None
    event_id: uuid.UUID
    recipient: str
    template: str
    language: str
    status: str
    retryable: bool
    attempts: int
    message_id: str | None
    in_reply_to: str | None
    subject: str | None
    body_text: str | None
    body_html: str | None
    smtp_response: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    def mail(self) -> Mail:
        """The mail as rendered when the notification was planned."""
        assert self.message_id is not None
        assert self.subject is not None
        return Mail(
            recipient=self.recipient,
            subject=self.subject,
            text=self.body_text or "",
            html=self.body_html or "",
            message_id=self.message_id,
            in_reply_to=self.in_reply_to,
            references=(self.in_reply_to,) if self.in_reply_to else (),
        )


_INSERT = text(
    """
    INSERT INTO notify.notifications (id, ticket_id, event_id, recipient, template,
        language, status, retryable, message_id, in_reply_to, subject, body_text,
        body_html, error)
    VALUES (:id, :ticket_id, :event_id, :recipient, :template, :language, :status,
        :retryable, :message_id, :in_reply_to, :subject, :body_text, :body_html,
        :error)
    ON CONFLICT (event_id, recipient) DO NOTHING
    """
)

#: Every notification's lock, taken in the order of the lock keys: two transactions locking
#: overlapping sets (a batch and a redelivery handled alone elsewhere) take them in the same
#: order, so neither can hold one the other waits for while waiting for one the other holds.
_LOCK_ALL = text(
    """
    SELECT pg_advisory_xact_lock(keys.key)
    FROM (SELECT DISTINCT hashtextextended('notify:' || CAST(id AS text), 0) AS key
          FROM unnest(:ids) AS id ORDER BY key) AS keys
    """
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))

_READ_ALL = text(
    f"SELECT {COLUMNS} FROM notify.notifications WHERE id = ANY(:ids)"  # noqa: S608 - constant column list
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))

_MARK_SENT_ALL = text(
    """
    UPDATE notify.notifications AS n SET status = 'sent', attempts = n.attempts + 1,
        smtp_response = sent.response, error = NULL, sent_at = now(), updated_at = now()
    FROM unnest(:ids, :responses) AS sent(id, response)
    WHERE n.id = sent.id
    """
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("responses", type_=ARRAY(Text())),
)


async def record(conn: AsyncConnection, notifications: Sequence[Notification]) -> list[uuid.UUID]:
    """Write each planned notification once, all in one call; a row already there (a
    redelivery) is kept. The ids of those with a mail to send."""
    if notifications:
        await conn.execute(_INSERT, [_row(n) for n in notifications])
    return [notification_id(n.event_id, n.recipient) for n in notifications if n.mail]


def _row(n: Notification) -> dict[str, object]:
    mail = n.mail
    return {
        "id": notification_id(n.event_id, n.recipient),
        "ticket_id": n.ticket_id,
        "event_id": n.event_id,
        "recipient": n.recipient,
        "template": n.template,
        "language": n.language,
        "status": "pending" if mail else "failed",
        "retryable": mail is not None,
        "message_id": mail.message_id if mail else None,
        "in_reply_to": mail.in_reply_to if mail else None,
        "subject": mail.subject if mail else None,
        "body_text": mail.text if mail else None,
        "body_html": mail.html if mail else None,
        "error": n.problem,
    }


async def lock_all(
    conn: AsyncConnection, notifications: Sequence[uuid.UUID]
) -> list[StoredNotification]:
    """The rows, once this transaction holds every one's lock: a second worker on any of them
    waits, then reads it sent. Two statements whatever the number of rows: the read must come
    after the wait, in a statement of its own, to see what the worker waited on committed.

    Advisory locks rather than `FOR UPDATE`: they take no transaction id, so the SMTP exchanges
    made while holding them do not hold back the readers of the event log (they read only below
    the oldest running transaction id of the cluster).
    """
    if not notifications:
        return []
    ids = list(notifications)
    await conn.execute(_LOCK_ALL, {"ids": ids})
    rows = await conn.execute(_READ_ALL, {"ids": ids})
    found = {row["id"]: StoredNotification(**row) for row in rows.mappings()}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def mark_sent_all(conn: AsyncConnection, replies: Mapping[uuid.UUID, str]) -> None:
    """Mark every notification in `replies` sent with the server's reply, in one statement."""
    if replies:
        await conn.execute(
            _MARK_SENT_ALL, {"ids": list(replies), "responses": list(replies.values())}
        )


async def mark_failed(
    conn: AsyncConnection, notification: uuid.UUID, error: str, *, retryable: bool
) -> None:
    await conn.execute(
        text(
            "UPDATE notify.notifications SET status = 'failed', attempts = attempts + 1, "
            "error = :error, retryable = :retryable, updated_at = now() WHERE id = :id"
        ),
        {"id": notification, "error": error, "retryable": retryable},
    )
