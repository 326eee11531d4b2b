"""Sending what the ledger holds, each (event, recipient) at most once in effect.

Each notification is sent in its own short unit that holds its (advisory) lock: a second worker
on the same notification (a redelivery to another replica) waits for it and then finds it sent.
The row is marked sent right after the server accepts the mail, and committed before the lock is
released and before the next mail of its ticket goes, so a batch that fails later (its consumer
transaction lost to a PostgreSQL restart) finds the mails that went marked and does not send them
again. If that commit itself fails once the server accepted the mail, the mark is written again
on a fresh connection, retried while PostgreSQL comes back, before anything can resend the mail.
Only the process dying in that window (milliseconds) hands a mail over twice, with the same
`Message-ID`, which mail clients show once.

A batch's mails are sent as chains, one per ticket: a ticket's mails one after the other in the
order of its stream (a closure never overtakes its opening), the chains concurrently, at most
`MAILS_IN_FLIGHT` mails at once (the sender's connections). A mail to retry stops its chain: the
later mails of that ticket wait for it, as they would have one event at a time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from helpdesk_notify.application.ports import DeliveryError, Mailer, NotifyUnits
from helpdesk_shared.retry import RetryPolicy, retrying

log = logging.getLogger(__name__)

#: The name the wiring and the tests know the mail port by.
MailSender = Mailer

#: Mails in flight at once per delivery: the sender's SMTP connections by default; a fifth mail
#: would only wait for a connection while holding a database connection of its own.
MAILS_IN_FLIGHT = 4

#: How long a mail the server accepted waits for its mark to be written when PostgreSQL is away
#: (a restart takes a few seconds): past that the handler fails and the mail may be sent again.
MARK_RETRY = RetryPolicy(initial=0.2, maximum=2.0, max_attempts=20)


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
    units: NotifyUnits,
    sender: Mailer,
    chains: Sequence[Sequence[uuid.UUID]],
    *,
    in_flight: int = MAILS_IN_FLIGHT,
) -> DeliveryReport:
    """Send each notification not sent yet, each chain in its order, the chains concurrently;
    a failure is recorded and the other chains still go.

    Anything but a `DeliveryError` from the sender (a bug, a lost database) stops its chain and
    is raised once the other chains are done, so the mails that went are all marked."""
    report = DeliveryReport()
    slots = asyncio.Semaphore(in_flight)
    outcomes = await asyncio.gather(
        *(_deliver_chain(units, sender, list(dict.fromkeys(c)), slots, report) for c in chains),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return report


async def _deliver_chain(
    units: NotifyUnits,
    sender: Mailer,
    chain: list[uuid.UUID],
    slots: asyncio.Semaphore,
    report: DeliveryReport,
) -> None:
    """One ticket's mails in order, each committed before the next; a mail to retry holds back
    the ones after it (they are reported to retry too, so the delivery is retried)."""
    for position, notification in enumerate(chain):
        async with slots:
            retry = await _deliver_one(units, sender, notification, report)
        if retry:
            for later in chain[position + 1 :]:
                report.to_retry[later] = "an earlier mail of its ticket is to be retried"
            return


async def _deliver_one(
    units: NotifyUnits, sender: Mailer, notification: uuid.UUID, report: DeliveryReport
) -> bool:
    """Send one notification in its own unit of work; whether it is to be retried."""
    reply: str | None = None
    try:
        async with units.deliveries() as unit:
            row = await unit.ledger.lock(notification)
            if row is None or row.status == "sent" or not row.retryable:
                return False
            try:
                reply = await sender.send(row.mail())
            except DeliveryError as error:
                await unit.ledger.mark_failed(row.id, str(error), retryable=not error.permanent)
                log.warning("mail %s to %s not sent: %s", row.id, row.recipient, error)
                if error.permanent:
                    report.refused.append(row.id)
                    return False
                report.to_retry[row.id] = str(error)
                return True
            await unit.ledger.mark_sent(row.id, reply)
    except Exception:
        if reply is None:
            raise
        await _mark_sent_again(units, notification, reply)
    report.sent.append(notification)
    return False


async def _mark_sent_again(units: NotifyUnits, notification: uuid.UUID, reply: str) -> None:
    """The server accepted the mail but its mark was not committed (PostgreSQL restarted, the
    connection was cut): write it again until it holds, before anything can send it again."""
    log.warning("mail %s accepted, its mark not committed: writing it again", notification)

    async def mark() -> None:
        async with units() as unit:
            await unit.ledger.mark_sent(notification, reply)

    await retrying(mark, MARK_RETRY, on=(Exception,))
