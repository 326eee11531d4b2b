"""Rates measured the same way for every system: N writers loop until a deadline, events counted.

Each writer first runs uncounted transactions for the warm-up (connections opened, statements
prepared, caches filled), then counts the events of the transactions it completes before the
deadline. The rate divides every counted event by the time from the end of the warm-up to the
moment the last writer finished its last transaction.

Beside the rate, the CPU time this process spent per event (warm-up included, all threads) is
kept: on a machine shared with other work, wall-clock rates move with the neighbours' load, while
the client's own cost per event barely does, so it shows where a system's overhead is.
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
    """Events handled in a measured interval, and this process's CPU time per event."""

    events: int
    seconds: float
    cpu_per_event: float = 0.0

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Tally:
    counted: int = 0
    warmup: int = 0
    finished: float = 0.0


def _rate(tallies: Sequence[_Tally], start: float, cpu_before: float) -> Rate:
    cpu = time.process_time() - cpu_before
    every = sum(t.counted + t.warmup for t in tallies)
    return Rate(
        events=sum(t.counted for t in tallies),
        seconds=max(t.finished for t in tallies) - start,
        cpu_per_event=cpu / every if every else 0.0,
    )


async def run_async_writers(steps: Sequence[AsyncStep], seconds: float, warmup: float) -> Rate:
    """Run every step in a loop concurrently (one asyncio task per writer)."""
    cpu_before = time.process_time()
    start = time.perf_counter() + warmup
    end = start + seconds

    async def writer(step: AsyncStep) -> _Tally:
        tally = _Tally()
        while time.perf_counter() < start:
            tally.warmup += await step()
        while time.perf_counter() < end:
            tally.counted += await step()
        tally.finished = time.perf_counter()
        return tally

    tallies = await asyncio.gather(*(writer(step) for step in steps))
    return _rate(tallies, start, cpu_before)


def run_thread_writers(steps: Sequence[SyncStep], seconds: float, warmup: float) -> Rate:
    """Run every blocking step in a loop concurrently (one thread per writer)."""
    cpu_before = time.process_time()
    start = time.perf_counter() + warmup
    end = start + seconds
    tallies = [_Tally() for _ in steps]
    errors: list[BaseException] = []

    def writer(step: SyncStep, tally: _Tally) -> None:
        try:
            while time.perf_counter() < start:
                tally.warmup += step()
            while time.perf_counter() < end:
                tally.counted += step()
            tally.finished = time.perf_counter()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(error)

    threads = [
        threading.Thread(target=writer, args=pair) for pair in zip(steps, tallies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return _rate(tallies, start, cpu_before)


async def timed(work: Callable[[], Awaitable[int]]) -> Rate:
    """Time one piece of work that reports how many events it handled."""
    cpu_before = time.process_time()
    began = time.perf_counter()
    events = await work()
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu_before
    return Rate(events, seconds, cpu / events if events else 0.0)


def best(rates: Sequence[Rate]) -> Rate:
    """The fastest of several rounds (like `timeit`, the least disturbed one)."""
    return max(rates, key=lambda rate: rate.per_second)
