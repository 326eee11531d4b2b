"""Sending the daily follow-up digest of every group, and scheduling it in the app."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from helpdesk_notify.application.delivery import DeliveryReport, deliver
from helpdesk_notify.application.ports import Mailer, NotifyUnits
from helpdesk_notify.domain.digest import digest_notification, follow_up
from helpdesk_notify.domain.notifications import Routing

log = logging.getLogger(__name__)


async def send_digests(
    units: NotifyUnits, sender: Mailer, routing: Routing, now: datetime | None = None
) -> DeliveryReport:
    """Record and send today's digest of each group with something to follow (once a day)."""
    now = now or datetime.now(UTC)
    async with units() as unit:
        views = await unit.tickets.open_views()
        notifications = [
            digest_notification(followed, now.date(), now, routing)
            for followed in follow_up(views, now)
        ]
        to_send = await unit.ledger.record(notifications)
    return await deliver(units, sender, [[digest] for digest in to_send])


def next_run(now: datetime, hour: int) -> datetime:
    """The next `hour`:00 UTC strictly after `now`."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


async def run_daily(units: NotifyUnits, sender: Mailer, routing: Routing, hour: int) -> None:
    """Send the digests every day at `hour` UTC, until cancelled. Several replicas may run
    this: the digest's id per (group, day) and the ledger's row lock send each one once."""
    while True:
        now = datetime.now(UTC)
        await asyncio.sleep((next_run(now, hour) - now).total_seconds())
        try:
            report = await send_digests(units, sender, routing)
        except (OSError, SQLAlchemyError) as error:
            log.warning("daily digest not sent: %r", error)
            continue
        log.info("daily digest: %d sent, %d to retry", len(report.sent), len(report.to_retry))
