"""Rates measured the same way for every system: N writers loop until a deadline, events counted.

Each writer first runs uncounted transactions for the warm-up (connections opened, statements
prepared, caches filled), then counts the events of the transactions it completes before the
deadline. The rate divides every counted event by the time from the end of the warm-up to the
moment the last writer finished its last transaction.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

#: One transaction of one writer; returns how many events it wrote.
AsyncStep = Callable[[], Awaitable[int]]
SyncStep = Callable[[], int]


@dataclass(frozen=True)
class Rate:
    """Events handled in a measured interval."""

    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def run_async_writers(steps: Sequence[AsyncStep], seconds: float, warmup: float) -> Rate:
    """Run every step in a loop concurrently (one asyncio task per writer)."""
    start = time.perf_counter() + warmup
    end = start + seconds

    async def writer(step: AsyncStep) -> tuple[int, float]:
        while time.perf_counter() < start:
            await step()
        events = 0
        while time.perf_counter() < end:
            events += await step()
        return events, time.perf_counter()

    results = await asyncio.gather(*(writer(step) for step in steps))
    return Rate(sum(n for n, _ in results), max(t for _, t in results) - start)


def run_thread_writers(steps: Sequence[SyncStep], seconds: float, warmup: float) -> Rate:
    """Run every blocking step in a loop concurrently (one thread per writer)."""
    start = time.perf_counter() + warmup
    end = start + seconds
    results: list[tuple[int, float]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(step: SyncStep) -> None:
        try:
            while time.perf_counter() < start:
                step()
            events = 0
            while time.perf_counter() < end:
                events += step()
            with lock:
                results.append((events, time.perf_counter()))
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=writer, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return Rate(sum(n for n, _ in results), max(t for _, t in results) - start)


async def timed(work: Callable[[], Awaitable[int]]) -> Rate:
    """Time one piece of work that reports how many events it handled."""
    began = time.perf_counter()
    events = await work()
    return Rate(events, time.perf_counter() - began)


def best(rates: Sequence[Rate]) -> Rate:
    """The fastest of several rounds (like `timeit`, the least disturbed one)."""
    return max(rates, key=lambda rate: rate.per_second)
