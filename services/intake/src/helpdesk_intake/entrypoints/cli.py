"""`python -m helpdesk_intake.entrypoints.cli <tool>`: intake's command-line tools.

    demo-data   load the demo contracts and requesters (idempotent)

Every service keeps its tools here, as sub-commands of one argparse parser: `--help` answers
without touching anything.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from helpdesk_intake.adapters.demo_data import DEMO_REQUESTERS, load
from helpdesk_intake.domain.demo_contracts import DEMO_CONTRACTS
from helpdesk_intake.settings import Settings
from helpdesk_shared.db import DatabaseTimeouts, create_engine


async def demo_data(settings: Settings) -> str:
    """Load the demo data; the line to print."""
    engine = create_engine(
        settings.database_url,
        pool_size=1,
        application_name="intake-demo",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
    try:
        contracts, requesters = await load(engine)
    finally:
        await engine.dispose()
    return (
        f"demo data loaded: {len(DEMO_CONTRACTS)} contracts ({contracts} signed now), "
        f"{len(DEMO_REQUESTERS)} requesters ({requesters} new)"
    )


def parser() -> argparse.ArgumentParser:
    tools = argparse.ArgumentParser(
        prog="python -m helpdesk_intake.entrypoints.cli", description="Intake's tools."
    )
    commands = tools.add_subparsers(dest="tool", required=True, metavar="TOOL")
    commands.add_parser(
        "demo-data",
        help="load the demo contracts and requesters (idempotent)",
        description="Load the demo contracts and requesters into the intake directory.",
    )
    return tools


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.tool == "demo-data":
        print(asyncio.run(demo_data(Settings())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
