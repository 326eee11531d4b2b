"""One load run against a running stack, and a stack of the run's own to run it against.

`own_stack` creates a database (migrated), exchange and queue names and free ports for this run
only, starts the local runner's stack (relay, four services, SMTP catcher, demo data) on them,
and removes all of it afterwards. `run_load` drives the mix, samples memory, and reads the lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
from deploy.local.parts import SERVICES, consumer_queues, free_port
from deploy.local.stack import Stack, start_stack

from bench.load.driver import Driver, Traffic
from bench.load.mix import tokens
from bench.load.probes import Lag, MemorySamples, lag, settle, state_cache_entries
from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.migrations import upgrade_all
from helpdesk_testkit.servers import (
    LOCAL_AMQP_URL,
    LOCAL_DATABASE_URL,
    create_database,
    drop_database,
    with_database,
)

SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class Target:
    """A running stack: its URLs, the pids of its processes, its database and exchange."""

    urls: dict[str, str]
    pids: dict[str, int]
    database_url: str
    exchange: str
    jwt_secret: str


@dataclass
class LoadResult:
    """Everything the report shows."""

    traffic: Traffic
    memory: MemorySamples
    lag_at_end: Lag
    lag_settled: Lag
    settle_seconds: float
    load_average: list[tuple[float, float, float]] = field(default_factory=list)
    #: (seconds since the start, ticket states held by the ticket service) at each sample.
    cache_entries: list[tuple[float, int | None]] = field(default_factory=list)


def target_of(stack: Stack, env: dict[str, str]) -> Target:
    """The `Target` of a stack started by `start_stack` with `env`."""
    pids = {launched.name: launched.pid for launched in stack.launched}
    pids.pop("smtp-catcher", None)
    return Target(
        urls=dict(stack.urls),
        pids=pids,
        database_url=env["DATABASE_URL"],
        exchange=env["HELPDESK_EXCHANGE"],
        jwt_secret=env["HELPDESK_JWT_SECRET"],
    )


async def run_load(
    target: Target, rate: float, seconds: float, sample_every: float = 30.0
) -> LoadResult:
    """Drive the mix at `rate` for `seconds`, sampling memory; then measure and await the lag."""
    memory = MemorySamples(target.pids)
    load_average = [os.getloadavg()]
    cache: list[tuple[float, int | None]] = []
    memory.take()
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(memory, cache, target.urls["ticket"], sample_every, stop))
    try:
        traffic = await Driver(target.urls, tokens(target.jwt_secret)).run(rate, seconds)
    finally:
        stop.set()
        await sampler
    memory.take()
    load_average.append(os.getloadavg())
    dsn = asyncpg_dsn(target.database_url)
    at_end = await lag(dsn, target.exchange)
    settled, waited = await settle(dsn, target.exchange, SETTLE_SECONDS)
    return LoadResult(traffic, memory, at_end, settled, waited, load_average, cache)


async def _sample(
    memory: MemorySamples,
    cache: list[tuple[float, int | None]],
    ticket_url: str,
    every: float,
    stop: asyncio.Event,
) -> None:
    """Every `every` s until `stop`: each process's RSS and the ticket state cache's entries."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            memory.take()
            cache.append((memory.samples[-1][0], await state_cache_entries(ticket_url)))


@contextlib.asynccontextmanager
async def own_stack(replicas: int = 1) -> AsyncIterator[Target]:
    """A stack on a database, exchange, queue prefix and ports of this run only; removed after.
    With `replicas` above 1, every service runs that many replicas behind its one address, and
    two relays run (the shape of `make up REPLICAS=2`)."""
    run = uuid.uuid4().hex[:10]
    base_url = os.environ.get("DATABASE_URL", LOCAL_DATABASE_URL)
    amqp_url = os.environ.get("AMQP_URL", LOCAL_AMQP_URL)
    admin_url, database = with_database(base_url, "postgres"), f"helpdesk_load_{run}"
    env = _env(with_database(base_url, database), amqp_url, run)
    await create_database(admin_url, database)
    try:
        await asyncio.to_thread(upgrade_all, env["DATABASE_URL"])
        with tempfile.TemporaryDirectory(prefix="helpdesk-load-") as run_dir:
            env["HELPDESK_RUN_DIR"] = run_dir
            stack = await asyncio.to_thread(
                start_stack, Path(run_dir), env=env, demo=True, timeout=240, replicas=replicas
            )
            try:
                yield target_of(stack, env)
            finally:
                await asyncio.to_thread(stack.stop)
                _keep_logs(Path(run_dir), run)
    finally:
        await _remove_topology(amqp_url, env)
        await drop_database(admin_url, database)


def _keep_logs(run_dir: Path, run: str) -> None:
    """The processes' logs outlive the run directory (an error is investigated from them)."""
    kept = Path(tempfile.gettempdir()) / f"helpdesk-load-{run}-logs"
    shutil.copytree(run_dir / "logs", kept, dirs_exist_ok=True)
    print(f"logs of the stack: {kept}", file=sys.stderr)


def _env(database_url: str, amqp_url: str, run: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SMTP_HOST", "SMTP_PORT"}}
    env.update(
        DATABASE_URL=database_url,
        AMQP_URL=amqp_url,
        HELPDESK_EXCHANGE=f"helpdesk.load-{run}",
        HELPDESK_QUEUE_PREFIX=f"load-{run}",
        HELPDESK_JWT_SECRET=secrets.token_hex(24),
        HELPDESK_JWT_ALGORITHM="HS256",
        HELPDESK_DEMO="0",
        SMTP_CATCHER_PORT=str(free_port()),
        RELAY_METRICS_PORT=str(free_port()),
    )
    for spec in SERVICES:
        env[f"{spec.name.upper()}_PORT"] = str(free_port())
    return env


async def _remove_topology(amqp_url: str, env: dict[str, str]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_topology(
            channel,
            exchange=env["HELPDESK_EXCHANGE"],
            queue_prefix=env["HELPDESK_QUEUE_PREFIX"],
            consumers=consumer_queues(),
        )
