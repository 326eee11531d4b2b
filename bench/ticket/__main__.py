"""The ticket service's benchmark, against the real PostgreSQL, with baselines.

Run: `uv run --frozen python -m bench.ticket` (`--quick` for a short run).
Prints a Markdown report. Each part uses a database of its own.

- commands over HTTP (`POST /v1/tickets/{id}/comment` on 2,000 tickets) against a plain FastAPI
  endpoint inserting one row with asyncpg: throughput with 32 workers, p50/p99 at 200 commands/s;
- the list projection's lag behind the store during the 200/s run (from the command's answer to
  the row showing its version, sampled);
- loading a 1,000-event ticket: full replay, and the per-process state cache topped up;
- the load-decide-save cycle in process against the `eventsourcing` library's (PostgreSQL);
- filtered list pages over 100,000 projected tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
import uuid

import httpx
from sqlalchemy import text

from bench.ticket.cycles import eventsourcing_cycle, list_pages, long_ticket, our_cycle
from bench.ticket.raw_client import RawClient
from bench.ticket.support import (
    SECRET,
    Make,
    Sample,
    closed_loop,
    free_port,
    open_loop,
    open_tickets,
    percentile,
    scratch_database,
    start_server,
    wait_until_up,
)
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.settings import Settings


async def projection_lag(
    url: str, base: str, headers: dict[str, str], tickets: list[uuid.UUID], seconds: float
) -> list[float]:
    """Send commands at a steady pace and time how long each takes to show in the list."""
    engine = create_engine(url, pool_size=2)
    lags: list[float] = []
    query = text("SELECT version FROM ticket.tickets WHERE ticket_id = :id")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            ticket = random.choice(tickets)
            answer = await client.post(
                f"/v1/tickets/{ticket}/comment", headers=headers, json={"text": "lag"}
            )
            if answer.status_code != 200:
                continue
            version, sent = int(answer.headers["etag"].strip('"')), time.perf_counter()
            async with engine.connect() as conn:
                for _ in range(100_000):
                    seen = (await conn.execute(query, {"id": ticket})).scalar() or 0
                    if seen >= version:
                        break
                    await asyncio.sleep(0.002)
            lags.append((time.perf_counter() - sent) * 1000)
    await engine.dispose()
    return lags


def round_robin(base: str, headers: dict[str, str], tickets: list[uuid.UUID]) -> Make:
    """A comment on each ticket in turn (conflicts stay rare, as on a real desk)."""
    counter = itertools.count()

    def make() -> tuple[str, dict[str, str], dict[str, str]]:
        ticket = tickets[next(counter) % len(tickets)]
        return f"{base}/v1/tickets/{ticket}/comment", headers, {"text": "relance"}

    return make


async def commands(
    quick: bool, rate: int = 200, samples: dict[str, Sample] | None = None
) -> list[str]:
    """The report's lines; with `samples`, each row's `Sample` too, by its name."""
    seconds = 5 if quick else 20
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=10)
        settings = Settings(helpdesk_jwt_secret=SECRET)
        headers = {"Authorization": f"Bearer {issue_token(settings, 'bench', ['manager'])}"}
        tickets = await open_tickets(EventStore(engine), 2000)
        await engine.dispose()
        env = {"DATABASE_URL": url, "HELPDESK_JWT_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
        report = [
            "| endpoint | requests | throughput | p50 | p99 | errors |",
            "|---|---|---|---|---|---|",
        ]
        lags: list[float] = []
        for name, module, factory in (
            ("plain FastAPI + asyncpg insert", "bench.ticket.plain_app:app", False),
            ("ticket command (comment)", "helpdesk_ticket.bootstrap:build_app", True),
        ):
            port = free_port()
            server = start_server(module, port, env, factory)
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_until_up(base, server)
                make = round_robin(base, headers, tickets)
                async with RawClient.for_url(base, max_connections=64) as client:
                    await closed_loop(client, make, 8, 1)  # warm-up
                    closed = await closed_loop(client, make, 32, seconds)
                    report.append(closed.line(f"{name}, 32 workers"))
                    paced = await open_loop(client, make, rate, seconds)
                    report.append(paced.line(f"{name}, {rate}/s"))
                if samples is not None:
                    samples |= {f"{name}, 32 workers": closed, f"{name}, {rate}/s": paced}
                if factory and samples is None:  # the summary table has no lag row
                    lags = await projection_lag(url, base, headers, tickets, seconds / 2)
            finally:
                server.terminate()
                server.wait(10)
    report.append("")
    report.append(
        f"Projection lag (answer -> row at that version), {len(lags)} samples: "
        f"p50 {percentile(lags, 0.5):.1f} ms, p99 {percentile(lags, 0.99):.1f} ms"
    )
    return report


async def main(quick: bool) -> None:
    print("# Ticket service benchmark\n")
    for title, part in (
        ("Commands over HTTP", commands(quick)),
        ("Loading a 1,000-event ticket", long_ticket()),
        ("Load-decide-save cycle in process", cycles(quick)),
        ("Filtered list over 100,000 tickets", list_pages(quick)),
    ):
        print(f"## {title}\n")
        print("\n".join(await part), "\n", flush=True)


async def cycles(quick: bool) -> list[str]:
    count = 300 if quick else 2000
    ours: Sample = await our_cycle(count)
    theirs: Sample = await eventsourcing_cycle(count)
    return [
        "| implementation | cycles | rate | p50 | p99 | errors |",
        "|---|---|---|---|---|---|",
        ours.line("helpdesk TicketService.execute"),
        theirs.line("eventsourcing Application (postgres)"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args().quick))
