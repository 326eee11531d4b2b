"""Notify's rows of `make bench`: a burst of mails, and the steady latency, beside aiosmtplib.

`bench.notify_delivery`'s measurement: tickets opened in the store, the relay, RabbitMQ,
notify's consumer and handler and a real aiosmtpd server, beside aiosmtplib alone handing the
same number of prepared mails to the same server.
"""

from __future__ import annotations

import statistics

from bench.notify_delivery import Result, measure_all
from bench.summary import SummaryRow, load_during
from helpdesk_shared.settings import CommonSettings

RATIO_GOAL, P99_GOAL_MS, RATE = 0.5, 250.0, 50


def _p99(result: Result) -> float:
    ordered = sorted(result.latencies_ms)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


async def summary_rows(quick: bool) -> list[SummaryRow]:
    settings = CommonSettings()
    seconds, count = (2.0, 100) if quick else (20.0, 2000)
    with load_during() as load:
        results = await measure_all(settings.database_url, settings.amqp_url, RATE, seconds, count)
    plain_steady, plain_burst, steady, burst = results
    plain_rate = plain_burst.mails / plain_burst.seconds
    rate = burst.mails / burst.seconds
    label = "aiosmtplib alone, same SMTP server"
    return [
        SummaryRow(
            path=f"notify, burst of {count:,} mails",
            figure=rate,
            unit="mails/s",
            baseline=plain_rate,
            baseline_label=label,
            goal=f">= {RATIO_GOAL:g}x {label}",
            met=burst.mails == count and rate >= RATIO_GOAL * plain_rate,
            load=load.mean,
            rounds=1,
        ),
        SummaryRow(
            path=f"notify, p99 from the event to the mail at {RATE} tickets/s",
            figure=_p99(steady),
            unit="ms",
            baseline=_p99(plain_steady),
            baseline_label=f"{label}, from the hand-over",
            goal=f"p99 < {P99_GOAL_MS:g} ms (p50 {statistics.median(steady.latencies_ms):.0f} ms)",
            met=_p99(steady) < P99_GOAL_MS,
            load=load.mean,
            rounds=1,
        ),
    ]
