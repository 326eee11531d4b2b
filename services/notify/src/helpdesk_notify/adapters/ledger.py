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
from typing import Any

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


#: Every planned notification of a batch in one statement: one array per column. asyncpg's
#: prepared statement, no SQLAlchemy compilation or parameter processing per row.
_RECORD = """
    INSERT INTO notify.notifications (id, ticket_id, event_id, recipient, template,
        language, status, retryable, message_id, in_reply_to, subject, body_text,
        body_html, error)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
        $6::text[], $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::text[],
        $13::text[], $14::text[])
    ON CONFLICT (event_id, recipient) DO NOTHING
    """

#: The row, read once the transaction's lock on the notification is held (`lock`).
_READ = f"SELECT {COLUMNS} FROM notify.notifications WHERE id = $1"  # noqa: S608 - constant columns

_MARK_SENT = (
    "UPDATE notify.notifications SET status = 'sent', attempts = attempts + 1, "
    "smtp_response = $2, error = NULL, sent_at = now(), updated_at = now() "
    "WHERE id = $1 AND status <> 'sent'"
)

_MARK_FAILED = (
    "UPDATE notify.notifications SET status = 'failed', attempts = attempts + 1, "
    "error = $2, retryable = $3, updated_at = now() WHERE id = $1"
)


async def record(driver: Any, notifications: Sequence[Notification]) -> list[uuid.UUID]:
    """Write each planned notification once, all in one statement; a row already there (a
    redelivery) is kept. The ids of those with a mail to send. `driver`: an asyncpg
    connection, in the unit's transaction."""
    if notifications:
        rows = [_row(n) for n in notifications]
        await driver.execute(_RECORD, *(list(column) for column in zip(*rows, strict=True)))
    return [notification_id(n.event_id, n.recipient) for n in notifications if n.mail]


def _row(n: Notification) -> tuple[object, ...]:
    """The notification's row, in `_RECORD`'s order of arrays."""
    mail = n.mail
    return (
        notification_id(n.event_id, n.recipient),
        n.ticket_id,
        n.event_id,
        n.recipient,
        n.template,
        n.language,
        "pending" if mail else "failed",
        mail is not None,
        mail.message_id if mail else None,
        mail.in_reply_to if mail else None,
        mail.subject if mail else None,
        mail.text if mail else None,
        mail.html if mail else None,
        n.problem,
    )


async def lock(driver: Any, notification: uuid.UUID) -> StoredNotification | None:
    """The row, once this transaction holds the notification's lock: a second worker on the same
    notification waits, then reads it sent. One lock per transaction, so no two can deadlock.

    An advisory lock rather than `FOR UPDATE`: it takes no transaction id, so the SMTP exchange
    made while holding it does not hold back the readers of the event log (they read only below
    the oldest running transaction id of the cluster). The read is a statement of its own, so
    its snapshot is taken once the lock is held.
    """
    await driver.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lock_key(notification)
    )
    found = await driver.fetchrow(_READ, notification)
    return None if found is None else StoredNotification(**dict(found))


def lock_key(notification: uuid.UUID) -> str:
    """The text of the notification's advisory lock key (hashed by `hashtextextended`)."""
    return f"notify:{notification}"


async def mark_sent(driver: Any, notification: uuid.UUID, smtp_response: str) -> None:
    """Mark the notification sent with the server's reply; a second mark (written again after
    a commit whose answer was lost) changes nothing."""
    await driver.execute(_MARK_SENT, notification, smtp_response)


async def mark_failed(driver: Any, notification: uuid.UUID, error: str, *, retryable: bool) -> None:
    await driver.execute(_MARK_FAILED, notification, error, retryable)
