"""`python -m bench.profile_notify_planning`: the client CPU per mail of notify's planning step.

The consumer's planning unit (`NotifyHandler.record`: the tickets' views read and locked, the
events applied, the views and the ledger written, in one transaction) run alone on a scratch
database, batch after batch (no concurrency, so the process's CPU time is the step's), with
`TicketOpened` events of fresh tickets, each planning one mail: the burst's shape. Reports the
process CPU and the wall time per mail; nothing is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Sequence

from bench.notify_delivery import opened
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.domain.notifications import Routing
from helpdesk_shared.db import create_engine
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database


class _NoMail:
    async def send(self, mail: object) -> str:  # never called: `record` sends nothing
        raise AssertionError("record sends nothing")


def received(n: int) -> ReceivedEvent:
    ticket_id = uuid.uuid4()
    event = opened(ticket_id, n)
    return ReceivedEvent(
        event_id=uuid.uuid4(),
        type=event.event_type(),
        stream_id=f"ticket-{ticket_id}",
        version=1,
        global_position=n,
        recorded_at=event.occurred_at,
        schema_version=event.schema_version,
        data=event.to_data(),
    )


async def measure(database_url: str, batches: int, batch: int, rounds: int) -> list[str]:
    admin = with_database(database_url, "postgres")
    name = f"helpdesk_bench_planning_{uuid.uuid4().hex[:10]}"
    await create_database(admin, name)
    lines = []
    try:
        url = with_database(database_url, name)
        await asyncio.to_thread(upgrade_all, url)
        engine = create_engine(url, pool_size=2, application_name="bench-notify-planning")
        handler = NotifyHandler(
            units=PostgresNotifyUnits(engine), sender=_NoMail(), routing=Routing()
        )
        try:
            await handler.record(received(0))  # warm: connections, prepared statements
            for round_ in range(rounds):
                events = [[received(b * batch + i) for i in range(batch)] for b in range(batches)]
                cpu, wall = time.process_time(), time.perf_counter()
                for chunk in events:
                    await handler.record(*chunk)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                mails = batches * batch
                lines.append(
                    f"round {round_ + 1}: {mails} mails in batches of {batch}: "
                    f"CPU {cpu / mails * 1e6:.0f} µs/mail, wall {wall / mails * 1e6:.0f} µs/mail"
                )
        finally:
            await engine.dispose()
    finally:
        await drop_database(admin, name)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_notify_planning")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8, help="events per unit (burst: 4-16)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=CommonSettings().database_url)
    args = parser.parse_args(argv)
    for line in asyncio.run(measure(args.database_url, args.batches, args.batch, args.rounds)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
