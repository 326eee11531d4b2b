"""Sending what the ledger holds, each (event, recipient) at most once in effect.

The notifications are sent a few at a time (`MAILS_PER_UNIT`, 4), each few in one short transaction
that holds their (advisory) locks: a second worker on one of them (a redelivery to another
replica) waits for it and then finds it sent. The few go out concurrently, over the sender's
connections; the ones the server accepted are marked sent in one statement once all have been
answered, and committed. If the process dies in between, the locks are released, the rows are
still pending and those mails are sent again on redelivery with the same `Message-ID`, which mail
clients show once. That window (the few mails' SMTP exchanges, milliseconds) is the only way a
mail is handed over twice, and it is shown as one. A refusal or a passing failure is recorded on
its own row in the same transaction: it never undoes the marks of the mails that went.
"""

from __future__ import annotations

import asyncio
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


#: Mails per transaction: as many as the sender's SMTP connections by default, so the unit's mails
#: go out in one round and an accepted mail does not wait, unmarked, for the others' turn. A crash
#: between the server's acceptance and the commit may hand at most this many over twice per unit
#: (the consumer runs two batches at once: at most twice this in all, as its prefetch of 8 did).
MAILS_PER_UNIT = 4


async def deliver(
    units: NotifyUnits, sender: Mailer, notifications: Sequence[uuid.UUID]
) -> DeliveryReport:
    """Send each notification not sent yet, `MAILS_PER_UNIT` per unit of work; a failure is
    recorded and the others still go."""
    report = DeliveryReport()
    ids = list(dict.fromkeys(notifications))
    for start in range(0, len(ids), MAILS_PER_UNIT):
        await _deliver_some(units, sender, ids[start : start + MAILS_PER_UNIT], report)
    return report


async def _deliver_some(
    units: NotifyUnits, sender: Mailer, notifications: Sequence[uuid.UUID], report: DeliveryReport
) -> None:
    """One unit of work: lock the rows, send their mails concurrently, record every outcome.

    Anything but a `DeliveryError` from the sender (a bug, a cancelled send) is raised once the
    outcomes of the others are committed, so the mails that went are not sent again."""
    unexpected: BaseException | None = None
    async with units() as unit:
        ledger = unit.ledger
        entries = [
            entry
            for entry in await ledger.lock_all(notifications)
            if entry.status != "sent" and entry.retryable
        ]
        outcomes = await asyncio.gather(
            *(sender.send(entry.mail()) for entry in entries), return_exceptions=True
        )
        replies: dict[uuid.UUID, str] = {}
        for entry, outcome in zip(entries, outcomes, strict=True):
            if isinstance(outcome, DeliveryError):
                await ledger.mark_failed(entry.id, str(outcome), retryable=not outcome.permanent)
                if outcome.permanent:
                    report.refused.append(entry.id)
                else:
                    report.to_retry[entry.id] = str(outcome)
                log.warning("mail %s to %s not sent: %s", entry.id, entry.recipient, outcome)
            elif isinstance(outcome, BaseException):
                unexpected = unexpected or outcome
            else:
                replies[entry.id] = outcome
                report.sent.append(entry.id)
        await ledger.mark_sent_all(replies)
    if unexpected is not None:
        raise unexpected
