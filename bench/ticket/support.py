"""Helpers of the ticket benchmark: databases, servers, load generators, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from bench.ticket.raw_client import TransportError
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import upgrade_all
from helpdesk_testkit.servers import create_database, drop_database, with_database
from helpdesk_ticket.testing import opened

ADMIN_URL = with_database(
    os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"),
    "postgres",
)
#: Signs the tokens of the benchmark's own short-lived servers; nothing else trusts it.
SECRET = "bench-secret-0123456789-abcdefghijkl"  # noqa: S105


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Sample:
    """Latencies in milliseconds and how many requests failed, over `seconds`."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self, name: str) -> str:
        p50, p99 = percentile(self.latencies, 0.5), percentile(self.latencies, 0.99)
        return (
            f"| {name} | {len(self.latencies)} | {self.rate:.0f}/s | {p50:.1f} ms | "
            f"{p99:.1f} ms | {self.errors} |"
        )


async def fresh_database() -> str:
    name = f"ticket_bench_{uuid.uuid4().hex[:8]}"
    await create_database(ADMIN_URL, name)
    url = with_database(ADMIN_URL, name)
    await asyncio.to_thread(upgrade_all, url)
    return url


async def drop(url: str) -> None:
    await drop_database(ADMIN_URL, url.rsplit("/", 1)[1])


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A migrated database of its own for one step, dropped however the step ends (an
    interrupted run would otherwise leave it on the shared server)."""
    url = await fresh_database()
    try:
        yield url
    finally:
        await drop(url)


def start_server(
    module: str, port: int, env: dict[str, str], factory: bool
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", module, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"] + (["--factory"] if factory else [])
    # The command is built from constants and a port number, never from outside input.
    return subprocess.Popen(command, env={**os.environ, **env})


async def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"server {base} exited with {process.returncode}")
            try:
                if (await client.get(f"{base}/openapi.json")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server {base} did not start")


async def open_tickets(store: EventStore, count: int) -> list[uuid.UUID]:
    async def one() -> uuid.UUID:
        event = opened(at=datetime.now(UTC), requester=f"user{uuid.uuid4().hex[:6]}")
        stream = f"ticket-{event.ticket_id}"
        await store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)])
        return event.ticket_id

    ids: list[uuid.UUID] = []
    for start in range(0, count, 50):
        ids += await asyncio.gather(*(one() for _ in range(min(50, count - start))))
    return ids


Make = Callable[[], tuple[str, dict[str, str], dict[str, str]]]


class Answer(Protocol):
    @property
    def status_code(self) -> int: ...


class Client(Protocol):
    """What the load loops need: `RawClient` (the lean one they run on) or httpx's."""

    async def post(self, url: str, *, headers: dict[str, str], json: Any) -> Answer: ...


async def _timed(client: Client, make: Make, sample: Sample) -> None:
    url, headers, body = make()
    started = time.perf_counter()
    try:
        answer = await client.post(url, headers=headers, json=body)
        ok = answer.status_code == 200
    except (httpx.HTTPError, TransportError):
        ok = False
    if ok:
        sample.latencies.append((time.perf_counter() - started) * 1000)
    else:
        sample.errors += 1


async def open_loop(
    client: Client,
    make: Make,
    rate: float,
    seconds: float,
) -> Sample:
    """Requests sent on a fixed schedule (`rate` per second), whatever the answers' speed."""
    sample, tasks = Sample(), []
    started = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(client, make, sample)))
    await asyncio.gather(*tasks)
    sample.seconds = time.perf_counter() - started
    return sample


async def closed_loop(
    client: Client,
    make: Make,
    concurrency: int,
    seconds: float,
) -> Sample:
    """`concurrency` workers sending back to back: the throughput the server sustains."""
    sample = Sample()
    started = time.perf_counter()
    stop = started + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            await _timed(client, make, sample)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample.seconds = time.perf_counter() - started
    return sample
