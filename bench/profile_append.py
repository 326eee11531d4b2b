"""`python -m bench.profile_append [--writers 8] [--batch 1]`: where an append's time goes.

Runs, in rounds and in its own throwaway database:
  - the plain INSERT, and `EventStore.append` on the services' engine (`db.create_engine`, with
    its own asyncpg connections for the store), with as many of those as writers, and without
    them (every append takes a connection from SQLAlchemy's pool, as before they existed);
  - the same store on an engine without `pool_pre_ping` (a round trip on every checkout);
  - the append statement as the store ran it before commit 8d34308: through SQLAlchemy in a
    transaction (BEGIN, execute, COMMIT; pre-ping) with PostgreSQL's default plan cache, which
    re-plans it on every call, and the same with `plan_cache_mode=force_generic_plan`.
The differences between the rows are what `docs/performance.md` attributes to each overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Callable, Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import appends
from bench.appends import StreamCursor
from bench.timing import AsyncStep, Rate, run_async_writers
from bench.workload import make_batch, to_new_event
from helpdesk_shared.db import asyncpg_dsn, create_engine
from helpdesk_shared.eventstore.append_sql import APPEND
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

GENERIC = {"plan_cache_mode": "force_generic_plan"}
AUTO = {"plan_cache_mode": "auto"}


def sqlalchemy_steps(engine: AsyncEngine, writers: int, batch: int) -> list[AsyncStep]:
    """The append statement through SQLAlchemy in a transaction of its own."""

    def make(cursor: StreamCursor) -> AsyncStep:
        async def step() -> int:
            events = [to_new_event(e) for e in make_batch(batch)]
            stream, expected = cursor.next(batch)
            params = {
                "stream_id": stream,
                "expected": expected,
                "event_ids": [e.event_id for e in events],
                "types": [e.type for e in events],
                "schema_versions": [e.schema_version for e in events],
                "datas": [json.dumps(e.data) for e in events],
                "metadatas": [json.dumps(e.metadata.to_json()) for e in events],
            }
            async with engine.begin() as conn:
                await conn.execute(APPEND, params)
            return batch

        return step

    return [make(StreamCursor("ticket")) for _ in range(writers)]


async def profile(
    url: str, writers: int, batch: int, rounds: int, seconds: float, before: bool = False
) -> str:
    dsn = asyncpg_dsn(url)
    size = {"pool_size": writers, "max_overflow": writers, "pool_pre_ping": True}
    services = create_engine(url, pool_size=writers)
    as_many = create_engine(url, pool_size=writers, driver_connections=writers)
    pooled = create_engine(url, pool_size=writers, driver_connections=0)
    replanned = create_async_engine(url, connect_args={"server_settings": AUTO}, **size)
    generic = create_async_engine(url, connect_args={"server_settings": GENERIC}, **size)
    no_ping = create_async_engine(
        url, connect_args={"server_settings": GENERIC}, **{**size, "pool_pre_ping": False}
    )
    connections = [await asyncpg.connect(dsn) for _ in range(writers)]
    cases: dict[str, Callable[[], list[AsyncStep]]] = {
        "plain INSERT": lambda: appends.plain_steps(connections, batch),
        "plain INSERT, store's unique constraints": lambda: appends.plain_steps(
            connections, batch, unique=True
        ),
        "EventStore.append (services' engine)": lambda: appends.store_steps(
            EventStore(services), writers, batch
        ),
        "EventStore.append, a driver connection/writer": lambda: appends.store_steps(
            EventStore(as_many), writers, batch
        ),
        "EventStore.append, SQLAlchemy's pool only": lambda: appends.store_steps(
            EventStore(pooled), writers, batch
        ),
        "EventStore.append, engine without pre-ping": lambda: appends.store_steps(
            EventStore(no_ping), writers, batch
        ),
    }
    if before:
        cases["before: SQLAlchemy tx, re-planned"] = lambda: sqlalchemy_steps(
            replanned, writers, batch
        )
        cases["before: SQLAlchemy tx, generic plans"] = lambda: sqlalchemy_steps(
            generic, writers, batch
        )
    results: dict[str, list[Rate]] = {name: [] for name in cases}
    try:
        for _ in range(rounds):
            for name, steps in cases.items():
                results[name].append(await run_async_writers(steps(), seconds, 0.2))
    finally:
        for conn in connections:
            await conn.close()
        for engine in (services, as_many, pooled, no_ping, replanned, generic):
            await engine.dispose()
    lines = [f"{writers} writer(s), {batch} event(s)/tx: events/s per round | client CPU us/event"]
    for name, rates in results.items():
        shown = " ".join(f"{r.per_second:8,.0f}" for r in rates)
        cpu = " ".join(f"{r.cpu_per_event * 1e6:5.0f}" for r in rates)
        lines.append(f"{name:44s} {shown} | {cpu}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> str:
    admin = with_database(args.database_url, "postgres")
    name = f"helpdesk_bench_profile_{uuid.uuid4().hex[:8]}"
    await create_database(admin, name)
    try:
        url = with_database(args.database_url, name)
        await asyncio.to_thread(upgrade_all, url)
        await appends.create_plain_table(asyncpg_dsn(url))
        return await profile(url, args.writers, args.batch, args.rounds, args.seconds, args.before)
    finally:
        await drop_database(admin, name)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_append", description=__doc__)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument(
        "--before", action="store_true", help="also the statement as run before commit 8d34308"
    )
    parser.add_argument("--database-url", default=CommonSettings().database_url)
    print(asyncio.run(main_async(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
