"""Intake's rows of `make bench`: openings per second as more requests are in flight, and p99.

`bench.bench_intake`'s measurement (`measure`), run twice in one scratch database: with 16
clients back to back (and then paced at `RATE` requests per second, open loop), and with 64. The
rate must not fall when more requests are in flight (the pool and the event loop queue them
rather than thrash), and p99 stays under the goal at the paced rate. The plain FastAPI +
asyncpg insert of the same form runs beside intake in both.

`python -m bench.intake_rows [--total 1000] [--rounds 2]` measures the two saturated levels
alone (no paced row), each server's best round at 16 and at 64 in flight, in under two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from bench.bench_intake import BASELINE, INTAKE, P99_GOAL_MS, Plan, Result, measure, prepare
from bench.summary import SummaryRow, load_during
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

RATE, FEW, MANY = 150.0, 16, 64


async def summary_rows(quick: bool) -> list[SummaryRow]:
    admin = with_database(CommonSettings().database_url, "postgres")
    name = f"helpdesk_bench_intake_{uuid.uuid4().hex[:8]}"
    total, rounds, seconds = (300, 1, 3.0) if quick else (2000, 3, 15.0)
    await create_database(admin, name)
    try:
        scratch = with_database(admin, name)
        await prepare(scratch)
        with load_during() as load:
            few = await measure(scratch, Plan(FEW, total, rounds, (RATE,), seconds))
            many = await measure(scratch, Plan(MANY, total, rounds, (), seconds))
    finally:
        await drop_database(admin, name)
    return _rows(few, many, load.mean, rounds)


def _rows(few: list[Result], many: list[Result], load: float, rounds: int) -> list[SummaryRow]:
    by_name = {r.name: r for r in few[:2]}
    paced = {r.name: r for r in few[2:]}
    intake_few, intake_many = by_name[INTAKE], {r.name: r for r in many}[INTAKE]
    p99, base_p99 = paced[INTAKE].percentile(99), paced[BASELINE].percentile(99)
    return [
        SummaryRow(
            path=f"intake, {MANY} requests in flight",
            figure=intake_many.rate,
            unit="requests/s",
            baseline=intake_few.rate,
            baseline_label=f"intake with {FEW} in flight",
            goal=f">= 1x the rate at {FEW} in flight",
            met=intake_many.rate >= intake_few.rate and intake_many.errors == 0,
            load=load,
            rounds=rounds,
        ),
        SummaryRow(
            path=f"intake, p99 at {RATE:.0f} requests/s",
            figure=p99,
            unit="ms",
            baseline=base_p99,
            baseline_label=f"{BASELINE} at the same rate",
            goal=f"p99 < {P99_GOAL_MS:g} ms",
            met=p99 < P99_GOAL_MS and paced[INTAKE].errors == 0,
            load=load,
            rounds=1,
        ),
    ]


async def levels(total: int, rounds: int) -> None:
    """The saturated rows only, intake and the baseline at `FEW` then `MANY` in flight."""
    admin = with_database(CommonSettings().database_url, "postgres")
    name = f"helpdesk_bench_intake_{uuid.uuid4().hex[:8]}"
    await create_database(admin, name)
    try:
        scratch = with_database(admin, name)
        await prepare(scratch)
        with load_during() as load:
            for clients in (FEW, MANY):
                for r in await measure(scratch, Plan(clients, total, rounds, (), 0.0)):
                    print(f"{clients:>3} in flight  {r.name:<38} {r.rate:>6.0f}/s  p50"
                          f" {r.percentile(50):>6.1f} ms  p99 {r.percentile(99):>7.1f} ms"
                          f"  errors {r.errors}  server CPU {r.cpu_ms:.2f} ms/req")  # fmt: skip
        print("1-minute load average at start and end:", *(f"{x:.1f}" for x in load.samples))
    finally:
        await drop_database(admin, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--total", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; each server keeps its best")
    args = parser.parse_args()
    asyncio.run(levels(args.total, args.rounds))
