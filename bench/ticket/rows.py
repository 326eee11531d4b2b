"""The ticket service's rows of `make bench`: commands over HTTP beside a plain endpoint.

`bench.ticket`'s command measurement (`commands`), run once: `POST /v1/tickets/{id}/comment`
against a plain FastAPI endpoint inserting one row with asyncpg, both closed loop with 32
workers, then paced at `RATE` commands per second (open loop) for the latency goal.
"""

from __future__ import annotations

from bench.summary import SummaryRow, load_during
from bench.ticket.__main__ import commands
from bench.ticket.support import Sample, percentile

RATIO_GOAL, P99_GOAL_MS, RATE = 0.5, 25.0, 400
PLAIN, OURS = "plain FastAPI + asyncpg insert", "ticket command (comment)"


async def summary_rows(quick: bool) -> list[SummaryRow]:
    samples: dict[str, Sample] = {}
    with load_during() as load:
        await commands(quick, RATE, samples)
    plain, ours = samples[f"{PLAIN}, 32 workers"], samples[f"{OURS}, 32 workers"]
    paced_plain, paced = samples[f"{PLAIN}, {RATE}/s"], samples[f"{OURS}, {RATE}/s"]
    p99, plain_p99 = percentile(paced.latencies, 0.99), percentile(paced_plain.latencies, 0.99)
    return [
        SummaryRow(
            path="ticket commands over HTTP, 32 clients",
            figure=ours.rate,
            unit="commands/s",
            baseline=plain.rate,
            baseline_label=PLAIN,
            goal=f">= {RATIO_GOAL:g}x {PLAIN}",
            met=ours.rate >= RATIO_GOAL * plain.rate and ours.errors == 0,
            load=load.mean,
            rounds=1,
        ),
        SummaryRow(
            path=f"ticket commands over HTTP, p99 at {RATE} commands/s",
            figure=p99,
            unit="ms",
            baseline=plain_p99,
            baseline_label=f"{PLAIN} at the same rate",
            goal=f"p99 < {P99_GOAL_MS:g} ms",
            met=p99 < P99_GOAL_MS and paced.errors == 0,
            load=load.mean,
            rounds=1,
        ),
    ]
