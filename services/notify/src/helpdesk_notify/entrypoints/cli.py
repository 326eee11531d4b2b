"""`python -m helpdesk_notify.entrypoints.cli <tool>`: notify's command-line tools.

    digest   send today's follow-up digest of every group, now

Every service keeps its tools here, as sub-commands of one argparse parser: `--help` answers
without touching anything.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from helpdesk_notify.application.digest import send_digests
from helpdesk_notify.bootstrap import smtp_sender, units_on
from helpdesk_notify.settings import Settings
from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.logging import configure_logging


async def digest(settings: Settings) -> int:
    """Send the digests; 1 when some could not be sent (they stay failed in the ledger and are
    retried by the next run of the day)."""
    engine = create_engine(
        settings.database_url,
        pool_size=2,
        application_name="notify-digest",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
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


def parser() -> argparse.ArgumentParser:
    tools = argparse.ArgumentParser(
        prog="python -m helpdesk_notify.entrypoints.cli", description="Notify's tools."
    )
    commands = tools.add_subparsers(dest="tool", required=True, metavar="TOOL")
    commands.add_parser(
        "digest",
        help="send today's follow-up digest of every group, now",
        description="Send today's follow-up digest of every group now (for a cron job; the app "
        "can also schedule it with NOTIFY_DIGEST_HOUR). Exits 1 when some digests could not be "
        "sent: the next run of the day retries them.",
    )
    return tools


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    if args.tool == "digest":
        configure_logging("notify-digest", settings.log_level, settings.log_json)
        return asyncio.run(digest(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
