"""The ledger of notifications in `notify.notifications`: one row per (event, recipient).

The row is written before anything is sent and keeps the rendered mail, so a re-send (after a
crash, a retry or a replay) sends exactly what was planned the first time, and the unique
(event_id, recipient) constraint means a redelivered event never plans a second row. This is the
write side; what the routes read (`search`) is in `queries.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def lock(conn: AsyncConnection, notification: uuid.UUID) -> StoredNotification | None:
    """The row, once this transaction holds the notification's lock: a second worker on the same
    notification waits, then reads it sent. One lock per transaction, so no two can deadlock.

    An advisory lock rather than `FOR UPDATE`: it takes no transaction id, so the SMTP exchange
    made while holding it does not hold back the readers of the event log (they read only below
    the oldest running transaction id of the cluster).
    """
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": lock_key(notification)},
    )
    row = await conn.execute(
        text(f"SELECT {COLUMNS} FROM notify.notifications WHERE id = :id"),  # noqa: S608 - constant column list
        {"id": notification},
    )
    found = row.mappings().one_or_none()
    return None if found is None else StoredNotification(**found)


def lock_key(notification: uuid.UUID) -> str:
    """The text of the notification's advisory lock key (hashed by `hashtextextended`)."""
    return f"notify:{notification}"


async def mark_sent(conn: AsyncConnection, notification: uuid.UUID, smtp_response: str) -> None:
    """Mark the notification sent with the server's reply; a second mark (written again after
    a commit whose answer was lost) changes nothing."""
    await conn.execute(
        text(
            "UPDATE notify.notifications SET status = 'sent', attempts = attempts + 1, "
            "smtp_response = :response, error = NULL, sent_at = now(), updated_at = now() "
            "WHERE id = :id AND status <> 'sent'"
        ),
        {"id": notification, "response": smtp_response},
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
