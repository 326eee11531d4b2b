"""Sending what the ledger holds, each (event, recipient) at most once in effect.

Each notification is sent inside its own short transaction that holds its (advisory) lock: a second
worker on the same notification (a redelivery to another replica) waits for it and then finds it
sent. The row is marked sent in the same transaction right after the server accepts the mail; if
the process dies between the two, the lock is released, the row is still pending and the mail is
sent again on redelivery with the same `Message-ID`, which mail clients show once. That window
(milliseconds) is the only way a mail is handed over twice, and it is shown as one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from helpdesk_notify.application.ports import DeliveryError, Mailer, NotifyUnits

log = logging.getLogger(__name__)

#: The name the wiring and the tests know the mail port by.
MailSender = Mailer


class DeliveryFailed(Exception):
    """Some mails could not be sent for a passing reason: the message is to be retried."""


@dataclass
class DeliveryReport:
    sent: list[uuid.UUID] = field(default_factory=list)
    refused: list[uuid.UUID] = field(default_factory=list)
    to_retry: dict[uuid.UUID, str] = field(default_factory=dict)

    def raise_for_retry(self) -> None:
        if self.to_retry:
            reasons = "; ".join(sorted(set(self.to_retry.values())))
            raise DeliveryFailed(f"{len(self.to_retry)} mail(s) not sent: {reasons}")


async def deliver(
    units: NotifyUnits, sender: Mailer, notifications: Sequence[uuid.UUID]
) -> DeliveryReport:
    """Send each notification not sent yet, each in a unit of work of its own; a failure is
    recorded and the others still go."""
    report = DeliveryReport()
    for notification in notifications:
        async with units() as unit:
            ledger = unit.ledger
            row = await ledger.lock(notification)
            if row is None or row.status == "sent" or not row.retryable:
                continue
            try:
                reply = await sender.send(row.mail())
            except DeliveryError as error:
                await ledger.mark_failed(row.id, str(error), retryable=not error.permanent)
                if error.permanent:
                    report.refused.append(row.id)
                else:
                    report.to_retry[row.id] = str(error)
                log.warning("mail %s to %s not sent: %s", row.id, row.recipient, error)
                continue
            await ledger.mark_sent(row.id, reply)
            report.sent.append(row.id)
    return report
