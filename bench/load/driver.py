"""Open-loop traffic: arrivals at a fixed rate whatever the answers' speed, bounded in time.

A closed loop (N users waiting for each answer) slows down with the server and hides its queue;
here arrival i is due at `start + i / rate`, and its latency runs from that due time to the
answer, so a server (or client) that falls behind shows up in the tail instead of lowering the
rate. In-flight requests are capped: an arrival finding the cap reached is dropped and counted
as an error (the machine did not hold the rate).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.load.mix import Call, Mix, Tickets

MAX_IN_FLIGHT = 256
TIMEOUT_SECONDS = 30.0
#: Idle connections are dropped by the client before uvicorn's keep-alive timeout (5 s) closes
#: them: with equal timeouts a request sent on a connection the server is closing fails with
#: `ReadError` (a race of the client, not an error of the service).
KEEPALIVE_EXPIRY_SECONDS = 2.0
#: Error samples kept for the report (status, kind, path, first bytes of the body).
KEPT_ERRORS = 10


@dataclass
class KindStats:
    """One route kind: each answer's latency and status."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    server_errors: int = 0


@dataclass
class Traffic:
    """What one run sent and got back."""

    rate: float
    seconds: float
    kinds: dict[str, KindStats] = field(default_factory=dict)
    sent: int = 0
    dropped: int = 0
    #: Arrivals the client itself started more than 100 ms after their due time.
    late_starts: int = 0
    elapsed: float = 0.0
    error_samples: list[str] = field(default_factory=list)
    tickets_opened: int = 0
    tickets_closed: int = 0
    #: Every answer as (seconds from the start of the run to the answer, its latency): the
    #: soak's p99 over time.
    timeline: list[tuple[float, float]] = field(default_factory=list)
    started: float = 0.0

    @property
    def answered(self) -> int:
        return sum(len(k.latencies) for k in self.kinds.values())

    @property
    def errors(self) -> int:
        return self.dropped + sum(k.errors for k in self.kinds.values())

    @property
    def server_errors(self) -> int:
        return sum(k.server_errors for k in self.kinds.values())

    def kind(self, name: str) -> KindStats:
        return self.kinds.setdefault(name, KindStats())


class Driver:
    """Sends the mix's calls to the services' URLs with the mix's tokens."""

    def __init__(self, urls: dict[str, str], tokens: dict[str, str], seed: int = 9) -> None:
        self.urls = urls
        self.tokens = tokens
        self.tickets = Tickets()
        self.mix = Mix(self.tickets, seed)

    async def run(self, rate: float, seconds: float) -> Traffic:
        """Arrivals every 1/rate s for `seconds`; returns once every answer is in."""
        traffic = Traffic(rate=rate, seconds=seconds)
        limits = httpx.Limits(
            max_connections=MAX_IN_FLIGHT,
            max_keepalive_connections=64,
            keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
        )
        in_flight: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, limits=limits) as client:
            start = traffic.started = time.perf_counter()
            total = int(rate * seconds)
            for i in range(total):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif -delay > 0.1:
                    traffic.late_starts += 1
                traffic.sent += 1
                if len(in_flight) >= MAX_IN_FLIGHT:
                    traffic.dropped += 1
                    continue
                task = asyncio.create_task(self._one(client, traffic, due))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.gather(*in_flight)
            traffic.elapsed = time.perf_counter() - start
        traffic.tickets_opened = len(self.tickets.known)
        traffic.tickets_closed = self.tickets.closed
        return traffic

    async def _one(self, client: httpx.AsyncClient, traffic: Traffic, due: float) -> None:
        call, claimed = self.mix.next_call()
        stats = traffic.kind(call.kind)
        status = await self._send(client, call, traffic)
        answered = time.perf_counter()
        stats.latencies.append(answered - due)
        traffic.timeline.append((answered - traffic.started, answered - due))
        stats.statuses[status] += 1
        ok = status.isdigit() and int(status) in call.expected
        if not ok:
            stats.errors += 1
            stats.server_errors += status.startswith("5")
        if claimed is not None:
            self.tickets.done(*claimed, ok)

    async def _send(self, client: httpx.AsyncClient, call: Call, traffic: Traffic) -> str:
        """The answer's status code, or the transport error's name."""
        headers = {"Authorization": f"Bearer {self.tokens[call.who]}"}
        url = f"{self.urls[call.service]}{call.path}"
        try:
            answer = await client.request(
                call.method, url, json=call.body, params=call.params, headers=headers
            )
        except httpx.HTTPError as error:
            self._keep(traffic, f"{type(error).__name__} {call.kind} {call.path}: {error}")
            return type(error).__name__
        if answer.status_code in call.expected:
            if call.kind.startswith("open_"):
                self.tickets.opened(str(answer.json()["ticket_id"]))
        else:
            self._keep(
                traffic, f"{answer.status_code} {call.kind} {call.path}: {answer.text[:300]}"
            )
        return str(answer.status_code)

    @staticmethod
    def _keep(traffic: Traffic, sample: str) -> None:
        if len(traffic.error_samples) < KEPT_ERRORS:
            traffic.error_samples.append(sample)
