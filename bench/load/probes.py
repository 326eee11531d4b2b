"""What the stack's processes hold while the load runs: memory, and how far behind each reader is.

Memory is each process's resident set (`VmRSS` of `/proc/<pid>/status`), read from outside, so
nothing in the services is needed for it. Lag is read in the stack's database: the events stored,
the relay's checkpoint against the log's head, and each consumer's inbox (one row per event it
applied) against the events its bindings deliver.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

#: Consumer -> stream categories its queue is bound to (`ticket.#`, `call.#`).
CONSUMERS: dict[str, tuple[str, ...]] = {"metrics": ("ticket", "call"), "notify": ("ticket",)}


def rss_kib(pid: int) -> int | None:
    """The process's resident set in KiB, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class MemorySamples:
    """RSS of each process at each sample: (seconds since the start, {name: KiB})."""

    pids: dict[str, int]
    samples: list[tuple[float, dict[str, int | None]]] = field(default_factory=list)
    _start: float = field(default_factory=time.monotonic)

    def take(self) -> None:
        now = time.monotonic() - self._start
        self.samples.append((now, {name: rss_kib(pid) for name, pid in self.pids.items()}))


@dataclass(frozen=True)
class Lag:
    """How far each reader of the log is behind, in events."""

    events_stored: int
    relay_behind: int
    consumers_behind: dict[str, int]
    inbox: dict[str, int]

    @property
    def settled(self) -> bool:
        return self.relay_behind == 0 and not any(self.consumers_behind.values())


_STORED = "SELECT count(*) FROM eventstore.events"
_CHECKPOINT = "SELECT tx_id, global_position FROM infra.checkpoints WHERE name = $1"
_AFTER = """SELECT count(*) FROM eventstore.events
    WHERE (tx_id::text::bigint, global_position) > ($1::bigint, $2::bigint)"""
_OF_CATEGORIES = (
    "SELECT count(*) FROM eventstore.events WHERE split_part(stream_id, '-', 1) = ANY($1)"
)
_INBOX = "SELECT count(*) FROM infra.inbox WHERE consumer = $1"


async def lag(dsn: str, exchange: str) -> Lag:
    """The relay's and the consumers' distance to the log's head, right now."""
    conn = await asyncpg.connect(dsn)
    try:
        stored = int(await conn.fetchval(_STORED))
        row = await conn.fetchrow(_CHECKPOINT, f"relay:{exchange}")
        relay = stored if row is None else int(await conn.fetchval(_AFTER, *row))
        behind, inbox = {}, {}
        for consumer, categories in CONSUMERS.items():
            delivered = int(await conn.fetchval(_OF_CATEGORIES, list(categories)))
            inbox[consumer] = int(await conn.fetchval(_INBOX, consumer))
            behind[consumer] = delivered - inbox[consumer]
    finally:
        await conn.close()
    return Lag(stored, relay, behind, inbox)


async def settle(dsn: str, exchange: str, within: float) -> tuple[Lag, float]:
    """Wait (at most `within` s) for every reader to catch up; the last lag and the wait."""
    start = time.monotonic()
    current = await lag(dsn, exchange)
    while not current.settled and time.monotonic() - start < within:
        await asyncio.sleep(1)
        current = await lag(dsn, exchange)
    return current, time.monotonic() - start


_CACHE_ENTRIES = 'helpdesk_state_cache_entries{aggregate="ticket"} '


async def state_cache_entries(ticket_url: str) -> int | None:
    """The ticket states the ticket service holds in memory (from its `/metrics`), or None."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{ticket_url}/metrics")).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith(_CACHE_ENTRIES):
            return int(float(line.removeprefix(_CACHE_ENTRIES)))
    return None
