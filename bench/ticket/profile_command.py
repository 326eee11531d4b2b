"""`python -m bench.ticket.profile_command`: where a ticket command's CPU goes, over HTTP.

Starts the ticket service in a uvicorn process of its own (optionally under cProfile), sends
`POST /v1/tickets/{id}/comment` from a closed loop of workers, and prints the commands per second
and the CPU time per command of the server process and of the load generator (this process), read
from the kernel's accounting. `--plain` runs the same loop against the plain FastAPI + asyncpg
endpoint of the benchmark, for comparison. `--settled` also waits, after the window, until the
list projection has projected every event, and prints the server's CPU per command up to then:
the command's whole cost, the part the projection defers past the window included.
`--profile FILE` writes the server's cProfile stats of the measured window only (cProfile slows
the server down: read its figures as shares).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from bench.ticket.__main__ import round_robin
from bench.ticket.raw_client import RawClient
from bench.ticket.support import (
    SECRET,
    Make,
    closed_loop,
    free_port,
    open_loop,
    open_tickets,
    percentile,
    scratch_database,
    wait_until_up,
)
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.settings import Settings

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux `/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL process by pid (compare the pids alive at both ends)."""
    seconds: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(postgres"):
            fields = tail.split()
            seconds[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / _TICKS
    return seconds


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_command(module: str, port: int, factory: bool, profile: str | None) -> list[str]:
    command = [sys.executable]
    command += ["-m", "bench.ticket.profiled_server", profile] if profile else ["-m", "uvicorn"]
    command += [module, "--port", str(port)]
    return (
        command + ["--no-access-log", "--log-level", "warning"] + (["--factory"] if factory else [])
    )


def launch(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # The command is built from constants, a port number and the caller's own file name.
    return subprocess.Popen(command, env={**os.environ, **env})


async def warm_up(client: RawClient, make: Make, count: int) -> None:
    """`count` commands, by default one per ticket so that the measured window finds every state
    in the cache (the benchmark's first pass over its 2,000 tickets does not: `--cold`)."""
    todo = iter(range(count))

    async def worker() -> None:
        for _ in todo:
            url, headers, body = make()
            await client.post(url, headers=headers, json=body)

    await asyncio.gather(*(worker() for _ in range(16)))


async def projected(url: str) -> float:
    """Wait until the list shows every event of the log (each ticket's row at its stream's
    version); the seconds waited."""
    check = text(
        """SELECT (SELECT count(*) FROM eventstore.events)
                = (SELECT coalesce(sum(version), 0) FROM ticket.tickets)"""
    )
    engine = create_engine(url, pool_size=1)
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            while not (await conn.execute(check)).scalar():
                await conn.rollback()
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=10)
        settings = Settings(helpdesk_jwt_secret=SECRET)
        headers = {"Authorization": f"Bearer {issue_token(settings, 'bench', ['manager'])}"}
        tickets = await open_tickets(EventStore(engine), args.tickets)
        await engine.dispose()
        env = {"DATABASE_URL": url, "HELPDESK_JWT_SECRET": SECRET, "LOG_LEVEL": args.log_level}
        module, factory = (
            ("bench.ticket.plain_app:app", False)
            if args.plain
            else ("helpdesk_ticket.bootstrap:build_app", True)
        )
        port = free_port()
        server = launch(server_command(module, port, factory, args.profile), env)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_until_up(base, server)
            make = round_robin(base, headers, tickets)
            async with RawClient.for_url(base, max_connections=64) as c:
                await warm_up(c, make, 200 if args.cold else len(tickets))
                server_before, client_before = process_cpu(server.pid), own_cpu()
                database_before = postgres_cpu()
                if args.profile:
                    server.send_signal(signal.SIGUSR1)
                sample = await (
                    open_loop(c, make, args.rate, args.seconds)
                    if args.rate
                    else closed_loop(c, make, args.workers, args.seconds)
                )
                server_cpu = process_cpu(server.pid) - server_before
                client_cpu = own_cpu() - client_before
                database_after = postgres_cpu()
                database_cpu = sum(
                    database_after[pid] - cpu
                    for pid, cpu in database_before.items()
                    if pid in database_after
                )
                if args.profile:
                    server.send_signal(signal.SIGUSR2)
                    await asyncio.sleep(2)  # the stats are written
                if args.settled and not args.plain:
                    waited = await projected(url)
                    settled = process_cpu(server.pid) - server_before
        finally:
            server.terminate()
            server.wait(30)
    count = max(1, len(sample.latencies))
    print(
        f"{'plain' if args.plain else 'comment'}: {len(sample.latencies)} ok, "
        f"{sample.errors} errors, {sample.rate:.0f}/s, "
        f"p50 {percentile(sample.latencies, 0.5):.1f} ms, "
        f"p99 {percentile(sample.latencies, 0.99):.1f} ms; CPU per request: "
        f"server {server_cpu / count * 1000:.2f} ms, client {client_cpu / count * 1000:.2f} ms, "
        f"PostgreSQL {database_cpu / count * 1000:.2f} ms"
    )
    if args.settled and not args.plain:
        print(
            f"settled after {waited:.1f} s more: server CPU per command "
            f"{settled / count * 1000:.2f} ms, the list projection's included"
        )
    if args.profile:
        stats = pstats.Stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--rate", type=float, help="commands/s offered (open loop), not workers")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--cold", action="store_true", help="warm up with 200 commands only")
    parser.add_argument("--settled", action="store_true", help="CPU until the list caught up")
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(run(args))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
