"""`python -m bench.run [--quick]` (`make bench`): every benchmark in sequence, one summary table.

Each benchmark module exposes `async def summary_rows(quick: bool) -> list[SummaryRow]`: its
figures beside baselines measured in the same run, with their goals. They run one after the
other (never two at once: each would be the other's noise), each in its own throwaway database
and broker names on the configured PostgreSQL and RabbitMQ (`DATABASE_URL`, `AMQP_URL`). The
table, the machine's facts and the command are printed and written to `docs/performance.md`
between its generated markers; the growth benchmark's plot goes beside it.

Modules are imported only when their turn comes, and every one is looked for before anything
runs: a missing module stops the run at once, naming it, rather than after twenty minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import cast

import aio_pika
import asyncpg

from bench.report import Machine, host_facts, render, write
from bench.summary import SummaryRow
from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import with_database

COMMAND = "make bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
#: Every benchmark of `make bench`, in the order they run.
MODULES = (
    "bench.foundation",
    "bench.ticket.rows",
    "bench.intake_rows",
    "bench.notify_rows",
    "bench.metrics_rows",
    "bench.consumers",
    "bench.growth",
)

PREAMBLE = """# Performance

`make bench` measures every path of the desk beside a baseline doing the same work with nothing
of ours on top, in the same run on the same servers.
"""

Rows = Callable[[bool], Awaitable[list[SummaryRow]]]


class MissingBenchmark(RuntimeError):
    """A module of the list is not there (or has no `summary_rows`)."""


def check_modules(names: Sequence[str]) -> None:
    """Fail before anything runs when a module of the list cannot be found."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingBenchmark(
            f"benchmark module(s) not found: {', '.join(missing)}; each of {list(names)} must"
            " exist and expose `async def summary_rows(quick: bool) -> list[SummaryRow]`"
        )


def summary_rows_of(name: str) -> Rows:
    """The module's `summary_rows`, imported now (its imports are its own to pay for)."""
    module = importlib.import_module(name)
    rows = getattr(module, "summary_rows", None)
    if rows is None:
        raise MissingBenchmark(f"{name} has no `summary_rows(quick: bool)`")
    return cast(Rows, rows)


async def run_all(names: Sequence[str], quick: bool) -> tuple[list[SummaryRow], list[str]]:
    """Every module's rows, in order, and a note of each one's duration."""
    rows: list[SummaryRow] = []
    notes = [f"load average at the start {_load()}"]
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        module_rows = await summary_rows_of(name)(quick)
        rows += module_rows
        took = time.perf_counter() - started
        notes.append(f"{name}: {len(module_rows)} row(s) in {took:.0f} s")
    notes.append(f"load average at the end {_load()}")
    return rows, notes


async def describe_machine(database_url: str, amqp_url: str) -> Machine:
    cpus, model, memory, system, python = host_facts()
    conn = await asyncpg.connect(asyncpg_dsn(with_database(database_url, "postgres")))
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        settings = [
            f"{name}={await conn.fetchval(f'SHOW {name}')}"
            for name in ("synchronous_commit", "fsync", "shared_buffers", "max_wal_size")
        ]
    finally:
        await conn.close()
    broker = await aio_pika.connect(amqp_url)
    try:
        transport = broker.transport
        properties = transport.connection.server_properties if transport else {}
        rabbitmq = str(properties.get("version", "unknown"))
    finally:
        await broker.close()
    return Machine(cpus, model, memory, system, python, version, ", ".join(settings), rabbitmq)


def _load() -> str:
    """The 1/5/15-minute load averages: a shared machine's neighbours show up here."""
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds-long sizes (smoke tests)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report file")
    parser.add_argument(
        "--only",
        action="append",
        choices=MODULES,
        help="run only this module (repeatable); the default runs them all",
    )
    parser.add_argument("--database-url", help="PostgreSQL (default: DATABASE_URL)")
    parser.add_argument("--amqp-url", help="RabbitMQ (default: AMQP_URL)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.only or list(MODULES)
    try:
        check_modules(names)
    except MissingBenchmark as missing:
        print(f"bench.run: {missing}", file=sys.stderr)
        return 2
    # Every module reads the servers from the settings' environment variables.
    for variable, value in (("DATABASE_URL", args.database_url), ("AMQP_URL", args.amqp_url)):
        if value:
            os.environ[variable] = value
    # The growth plot goes beside the report (a test's report goes to a temporary directory).
    os.environ.setdefault("BENCH_GROWTH_PLOT", str(args.output.with_name("performance-growth.png")))
    rows, notes = asyncio.run(run_all(names, args.quick))
    settings = CommonSettings()
    machine = asyncio.run(describe_machine(settings.database_url, settings.amqp_url))
    flags = (["--quick"] if args.quick else []) + [f"--only {name}" for name in args.only or []]
    command = " ".join(["python -m bench.run", *flags]) if flags else COMMAND
    generated = render(rows, machine, "quick" if args.quick else "full", command, notes)
    write(args.output, generated, PREAMBLE)
    print(generated)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
