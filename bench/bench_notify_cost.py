"""What a NOTIFY on every append costs the append rate (ADR 0002, subscription wake-up).

A transaction that called `pg_notify` takes one database-wide lock at commit and keeps it until its
commit is durable, so notifying committers flush their commits one after another instead of in a
group. This measures the event store's append rate (one event per transaction, as the services
append) in three set-ups, alternated over several rounds on one scratch database:

- `plain`: the table as migration 0001 leaves it;
- `noop-trigger`: a statement-level AFTER INSERT trigger that does nothing (the trigger's own cost);
- `notify-trigger`: the same trigger calling `pg_notify`, with one session LISTENing (option a).

The Python client needs far more CPU per append than the server, so on a small or busy machine it
saturates before the commit lock matters. The same three set-ups are therefore also measured with
`pgbench` (a C client, when installed) inserting rows straight into `eventstore.events`.

Run: `uv run --frozen python -m bench.bench_notify_cost [--seconds 3] [--rounds 3] [--async-commit]`
(PostgreSQL from `DATABASE_URL`, else localhost; the scratch database is dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from helpdesk_shared.db import asyncpg_dsn, create_engine
from helpdesk_shared.eventstore.model import NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import SHARED
from helpdesk_testkit.servers import (
    create_database,
    drop_database,
    postgres_server,
    with_database,
)

CHANNEL = "bench_notify_cost"

SETUPS: dict[str, str] = {
    "plain": """
        DROP TRIGGER IF EXISTS bench_appended ON eventstore.events;
    """,
    "noop-trigger": """
        CREATE OR REPLACE FUNCTION eventstore.bench_appended() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        DROP TRIGGER IF EXISTS bench_appended ON eventstore.events;
        CREATE TRIGGER bench_appended AFTER INSERT ON eventstore.events
            FOR EACH STATEMENT EXECUTE FUNCTION eventstore.bench_appended();
    """,
    "notify-trigger": f"""
        CREATE OR REPLACE FUNCTION eventstore.bench_appended() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$;
        DROP TRIGGER IF EXISTS bench_appended ON eventstore.events;
        CREATE TRIGGER bench_appended AFTER INSERT ON eventstore.events
            FOR EACH STATEMENT EXECUTE FUNCTION eventstore.bench_appended();
    """,
}


async def append_rate(store: EventStore, writers: int, seconds: float) -> float:
    """Events per second of `writers` tasks appending one event per transaction to own streams."""
    warmup_end = time.perf_counter() + 0.5
    end = warmup_end + seconds

    async def writer() -> int:
        stream, version, counted = f"bench-{uuid.uuid4()}", 0, 0
        while (now := time.perf_counter()) < end:
            await store.append(stream, version, [NewEvent("BenchNoted", {"n": version})])
            version += 1
            counted += now >= warmup_end
        return counted

    counts = await asyncio.gather(*(writer() for _ in range(writers)))
    return sum(counts) / (time.perf_counter() - warmup_end)


PGBENCH_INSERT = """INSERT INTO eventstore.events (stream_id, version, event_id, type, data)
VALUES ('bench-' || gen_random_uuid(), 1, gen_random_uuid(), 'BenchNoted', '{"n": 1}');
"""


def find_pgbench() -> str | None:
    found = shutil.which("pgbench") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if isinstance(found, list):
        return found[-1] if found else None
    return found


def pgbench_rate(pgbench: str, url: str, writers: int, seconds: float) -> float:
    """Transactions (one INSERT each) per second of `writers` pgbench clients."""
    parts = urlsplit(url.replace("+asyncpg", ""))
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "insert.sql"
        script.write_text(PGBENCH_INSERT)
        command = [pgbench, "-n", "-h", parts.hostname or "127.0.0.1"]
        command += ["-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
        command += ["-f", str(script), "-c", str(writers), "-j", str(min(writers, 2))]
        command += ["-T", str(max(1, round(seconds))), parts.path[1:]]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^tps = ([0-9.]+)", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"no tps in pgbench output: {out}")
    return float(match.group(1))


async def measure(url: str, writers: tuple[int, ...], seconds: float, rounds: int) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url))
    listener = await asyncpg.connect(asyncpg_dsn(url))
    received = 0

    def on_notify(*_: object) -> None:
        nonlocal received
        received += 1

    await listener.add_listener(CHANNEL, on_notify)
    engine = create_engine(url, pool_size=max(writers), application_name="bench-notify")
    store = EventStore(engine)
    rates: dict[tuple[str, int], list[float]] = {}
    pg_rates: dict[tuple[str, int], list[float]] = {}
    pgbench = find_pgbench()
    try:
        for _ in range(rounds):
            for setup, ddl in SETUPS.items():
                await admin.execute(ddl)
                for count in writers:
                    rate = await append_rate(store, count, seconds)
                    rates.setdefault((setup, count), []).append(rate)
                    if pgbench:
                        pg_rate = await asyncio.to_thread(
                            pgbench_rate, pgbench, url, count, seconds
                        )
                        pg_rates.setdefault((setup, count), []).append(pg_rate)
    finally:
        await engine.dispose()
        await listener.close()
        await admin.close()
    print("EventStore.append (Python, asyncpg), one event per transaction:\n")
    report(rates, writers)
    if pg_rates:
        print("\npgbench, one INSERT into eventstore.events per transaction:\n")
        report(pg_rates, writers)
    print(f"\nmedians of {rounds} interleaved rounds; notifications heard: {received}")


def report(rates: dict[tuple[str, int], list[float]], writers: tuple[int, ...]) -> None:
    print("| set-up | " + " | ".join(f"{w} writer(s), appends/s" for w in writers) + " |")
    print("|---|" + "---|" * len(writers))
    for setup in SETUPS:
        cells = []
        for count in writers:
            median = statistics.median(rates[(setup, count)])
            base = statistics.median(rates[("plain", count)])
            cells.append(f"{median:,.0f} ({median / base:.2f}x)")
        print(f"| {setup} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="synchronous_commit=off: the lock's cost without waiting for the WAL flush",
    )
    args = parser.parse_args(argv)
    name = f"bench_notify_{uuid.uuid4().hex[:10]}"
    with postgres_server() as admin_url:
        scratch = with_database(admin_url, name)
        run(create_database(admin_url, name))
        if args.async_commit:
            run(execute(admin_url, f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        try:
            SHARED.upgrade(scratch)
            run(measure(scratch, tuple(args.writers), args.seconds, args.rounds))
        finally:
            run(drop_database(admin_url, name))


async def execute(url: str, statement: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def run(coro: Awaitable[None]) -> None:
    async def wrapped() -> None:
        await coro

    asyncio.run(wrapped())


if __name__ == "__main__":
    main()
