"""The paths `bench.growth` times at each size, each through the services' own code.

The projections are brought up to date by the services' own code first (the ticket list's
catch-up subscription, the metrics rebuild), both timed as paths of their own. The ticket
command and the metrics endpoints go through the services' FastAPI apps in-process (httpx's
ASGI transport: no sockets, so the figure is the service's, not the network's).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import growth_data, publish
from bench.ticket.support import SECRET
from helpdesk_metrics.bootstrap import build_app as metrics_app
from helpdesk_metrics.entrypoints.cli import rebuild
from helpdesk_metrics.settings import Settings as MetricsSettings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import asyncpg_dsn, create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.adapters.queries.tickets import TicketFilter, list_tickets
from helpdesk_ticket.bootstrap import build_app as ticket_app
from helpdesk_ticket.bootstrap import build_components
from helpdesk_ticket.settings import Settings as TicketSettings

#: Tickets appended at the tail for the relay's measurement (about 470 events).
RELAY_TICKETS = 50
#: Tickets of each step left to the ticket list's subscription (about 930 events), timed.
TAIL_TICKETS = 100
COMMANDS, READS, REPORTS = 100, 20, 5


@dataclass(frozen=True)
class Path:
    name: str
    #: True: its work does not depend on the history's size; False: it grows with it.
    flat: bool


PATHS = (
    Path("ticket command over HTTP, p50", True),
    Path("ticket command over HTTP, p99", True),
    Path("ticket list, filtered page of 50", True),
    Path("ticket list, French search, page of 50", True),
    Path("read_all, first 1,000 events", True),
    Path(f"relay at the tail, {RELAY_TICKETS} tickets", True),
    Path("ticket list projection, per 1,000 events", True),
    Path("metrics rebuild, whole log", False),
    Path("/v1/kpis, a month", False),
    Path("/v1/kpis, a year", False),
    Path("/metrics, 30-day window", False),
    Path("/metrics, 365-day window", False),
)


@dataclass
class Measured:
    ms: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    tickets_added: int = 0
    #: Seconds each path may take to be timed (beyond its first call); see `_times`.
    budget: float = 15.0

    #: The paths that failed at this size, with what they answered.
    failures: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, why: str) -> None:
        self.ms[name], self.rounds[name], self.failures[name] = math.nan, 0, why

    def add(self, name: str, samples: list[float], q: float = 0.5) -> None:
        ordered = sorted(samples)
        self.ms[name] = ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
        self.rounds[name] = len(samples)


async def _times(call: Callable[[], Awaitable[object]], repeat: int, budget: float) -> list[float]:
    """Up to `repeat` timings in ms after a first call (connections, plans, caches), within
    `budget` seconds: a report that takes seconds at a million events is timed fewer times, and
    when the first call alone takes a third of the budget, it is the one sample."""
    started = time.perf_counter()
    await call()
    first = time.perf_counter() - started
    if first > budget / 3:
        return [first * 1000]
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < repeat and (not samples or time.perf_counter() < deadline):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure_all(
    url: str, amqp_url: str, exchange: str, prefix: str, tickets: int, budget: float = 15.0
) -> Measured:
    """Every path of `PATHS` at the store's present size."""
    measured = Measured(budget=budget)
    engine = create_engine(url, pool_size=4, application_name="bench-growth")
    try:
        await _project(engine, url, measured)
        await _analyze(url)
        await _ticket_paths(engine, url, tickets, measured)
        await _metrics_paths(engine, url, measured)
        await _log_paths(engine, url, amqp_url, exchange, prefix, tickets, measured)
    finally:
        await engine.dispose()
    return measured


async def _project(engine: AsyncEngine, url: str, measured: Measured) -> None:
    """The ticket list caught up (by its subscription) and the metrics rebuilt, both timed."""
    settings = TicketSettings(database_url=url, helpdesk_jwt_secret=SECRET)
    projection = build_components(settings, engine).projection
    dsn = asyncpg_dsn(url)
    # The log is read only up to the oldest transaction running on the server (a neighbour's
    # may be open): wait, untimed, until everything copied is readable, for both projections.
    await publish.wait_readable(dsn)
    started = time.perf_counter()
    handled = await projection.catch_up()
    took = (time.perf_counter() - started) * 1000
    if await projection.position() != await publish.end_of_log(dsn):
        raise RuntimeError("the ticket list did not reach the end of the log")
    measured.add(PATHS[6].name, [took * 1000 / max(handled, 1)])
    started = time.perf_counter()
    await rebuild(MetricsSettings(database_url=url))
    measured.add(PATHS[7].name, [(time.perf_counter() - started) * 1000])


async def _analyze(url: str) -> None:
    """Fresh planner statistics, as autovacuum would have after a bulk load this size."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def _ticket_paths(engine: AsyncEngine, url: str, tickets: int, measured: Measured) -> None:
    settings = TicketSettings(
        database_url=url, helpdesk_jwt_secret=SECRET, ticket_background_tasks=False
    )
    headers = {"Authorization": f"Bearer {issue_token(settings, 'bench', ['manager'])}"}
    open_ids = growth_data.open_ticket_ids(tickets)
    app = ticket_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as client:

        async def comment() -> None:
            ticket = random.choice(open_ids)
            answer = await client.post(
                f"/v1/tickets/{ticket}/comment", headers=headers, json={"text": "relance"}
            )
            if answer.status_code != 200:
                raise RuntimeError(f"comment on {ticket}: {answer.status_code} {answer.text}")

        samples = await _times(comment, COMMANDS, measured.budget)
    measured.add(PATHS[0].name, samples, 0.5)
    measured.add(PATHS[1].name, samples, 0.99)
    page = TicketFilter(statuses=("in_progress",), group="reseau")
    search = TicketFilter(q="imprimante")
    measured.add(
        PATHS[2].name, await _times(lambda: list_tickets(engine, page, 50), READS, measured.budget)
    )
    measured.add(
        PATHS[3].name,
        await _times(lambda: list_tickets(engine, search, 50), READS, measured.budget),
    )


async def _metrics_paths(engine: AsyncEngine, url: str, measured: Measured) -> None:
    for window, kpis_path, scrape_path in ((30, 8, 10), (365, 9, 11)):
        await _metrics_app_paths(
            engine, url, window, measured, (PATHS[kpis_path].name, PATHS[scrape_path].name)
        )


async def _metrics_app_paths(
    engine: AsyncEngine, url: str, window: int, measured: Measured, names: tuple[str, str]
) -> None:
    """`/v1/kpis` over the last `window` days and `/metrics` with a `window`-day window.

    An answer other than 200 is recorded as the path's failure at this size (a report that
    outgrows a timeout is what this benchmark is for), not as the end of the run.
    """
    now = datetime.now(UTC)
    settings = MetricsSettings(
        database_url=url,
        helpdesk_jwt_secret=SECRET,
        metrics_consumer_enabled=False,
        metrics_scrape_cache_seconds=0,
        metrics_window_days=window,
    )
    headers = {"Authorization": f"Bearer {issue_token(settings, 'bench', ['manager'])}"}
    period = {"from": (now - timedelta(days=window)).isoformat(), "to": now.isoformat()}
    transport = httpx.ASGITransport(app=metrics_app(settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:

        async def get(path: str, query: dict[str, str]) -> None:
            answer = await client.get(path, headers=headers, params=query)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")

        for name, path, query in ((names[0], "/v1/kpis", period), (names[1], "/metrics", {})):
            try:
                samples = await _times(lambda: get(path, query), REPORTS, measured.budget)  # noqa: B023
            except RuntimeError as error:
                measured.fail(name, str(error).split(" {", 1)[0])
            else:
                measured.add(name, samples)


async def _log_paths(
    engine: AsyncEngine,
    url: str,
    amqp_url: str,
    exchange: str,
    prefix: str,
    tickets: int,
    measured: Measured,
) -> None:
    """A page of the log from its start; the relay publishing what was just appended."""
    store = EventStore(engine)
    measured.add(
        PATHS[4].name, await _times(lambda: store.read_all(None, 1000), READS, measured.budget)
    )
    dsn = asyncpg_dsn(url)
    relay = publish.make_relay(engine, amqp_url, exchange, prefix, 500)
    try:
        await publish.wait_readable(dsn)
        await publish.move_checkpoint(dsn, relay.checkpoint_name, await publish.end_of_log(dsn))
        await relay.publish_pending()  # connect and declare before the clock starts
        appended = await growth_data.fill(dsn, tickets, RELAY_TICKETS)
        await publish.wait_readable(dsn)
        rate = await publish.publish_relay(relay, appended)
        measured.add(PATHS[5].name, [appended / rate.per_second * 1000])
        await publish.purge_queues(amqp_url, prefix)
    finally:
        await relay.stop()
    measured.tickets_added = RELAY_TICKETS
