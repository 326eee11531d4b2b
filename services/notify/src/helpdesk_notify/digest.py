"""`python -m helpdesk_notify.digest`: send today's follow-up digest of every group, now.

For a cron job or a Kubernetes CronJob; the app can also schedule it (`NOTIFY_DIGEST_HOUR`).
Exits 1 when some digests could not be sent (they stay failed in the ledger and are retried by
the next run of the day).
"""

from __future__ import annotations

import asyncio
import sys

from helpdesk_notify.application.digest import send_digests
from helpdesk_notify.bootstrap import smtp_sender, units_on
from helpdesk_notify.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.logging import configure_logging


async def run(settings: Settings) -> int:
    engine = create_engine(settings.database_url, pool_size=2, application_name="notify-digest")
    sender = smtp_sender(settings)
    try:
        report = await send_digests(units_on(engine), sender, settings.routing())
    finally:
        await sender.close()
        await engine.dispose()
    print(
        f"digests sent: {len(report.sent)}, refused: {len(report.refused)}, "
        f"to retry: {len(report.to_retry)}"
    )
    return 1 if report.to_retry else 0


def main() -> None:
    settings = Settings()
    configure_logging("notify-digest", settings.log_level, settings.log_json)
    sys.exit(asyncio.run(run(settings)))


if __name__ == "__main__":
    main()
