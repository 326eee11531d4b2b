"""A seconds-long smoke of the notify benchmark (`python -m bench.notify_delivery`).

The figures in `docs/performance.md` come from the full run; this proves the tool still drives
the whole path (store, relay, RabbitMQ, notify's handler, a real aiosmtpd server) to one accepted
mail per ticket, and reports notify's rows beside the baseline's. No timing is asserted.
"""

from __future__ import annotations

from bench.notify_delivery import run

from helpdesk_shared.settings import CommonSettings


async def test_the_notify_benchmark_reports_every_row_beside_the_baseline() -> None:
    settings = CommonSettings()
    table = await run(settings.database_url, settings.amqp_url, rate=20, seconds=1.0, count=20)
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert [(row[0].lstrip("| "), int(row[1])) for row in rows] == [
        ("baseline: aiosmtplib alone, 20 mails/s", 20),
        ("baseline: aiosmtplib alone, burst of 20", 20),
        ("steady, 20 tickets/s", 20),
        ("burst of 20", 20),
    ]
