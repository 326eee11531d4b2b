"""`read_all` is gapless and final: an event that commits late is never skipped by a reader.

A reader only sees rows whose writing transaction is older than every transaction still running in
the cluster, so an unrelated open transaction (another test run, another database) can delay what
`read_all` returns, never reorder it. Hence the tests wait for events to appear instead of expecting
them on the first read.
"""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore

WRITERS = 8
EVENTS_PER_WRITER = 200
PATIENCE_S = 60.0


@pytest.fixture
async def empty_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(fresh_database_url, pool_size=WRITERS + 2, application_name="test-gapless")
    yield eng
    await eng.dispose()


class Follower:
    """Reads the log page by page from where it stopped, as a subscription does."""

    def __init__(self, store: EventStore, page: int) -> None:
        self.store = store
        self.page = page
        self.seen: list[RecordedEvent] = []

    @property
    def after(self) -> LogPosition:
        return self.seen[-1].log_position if self.seen else LogPosition.start()

    async def poll(self) -> list[RecordedEvent]:
        """Everything readable now, in pages; checks that the order only ever moves forward."""
        fresh: list[RecordedEvent] = []
        while page := await self.store.read_all(self.after, self.page):
            for event in page:
                assert event.log_position > self.after, "read_all went backwards"
                self.seen.append(event)
                fresh.append(event)
        return fresh

    async def wait_for(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE_S
        while len(self.seen) < count and loop.time() < deadline:
            if not await self.poll():
                await asyncio.sleep(0.01)
        assert len(self.seen) >= count, f"saw {len(self.seen)} of {count} events"


def _event(label: str) -> NewEvent:
    return NewEvent(type="Noted", data={"label": label})


def _labels(events: list[RecordedEvent]) -> list[str]:
    return [e.data["label"] for e in events]


@pytest.mark.parametrize("early_xid", [False, True], ids=["lower-position", "older-transaction"])
async def test_an_uncommitted_append_holds_back_later_commits(
    empty_engine: AsyncEngine, early_xid: bool
) -> None:
    """`early_xid`: the slow transaction got its id before the fast one, but inserts after it."""
    store = EventStore(empty_engine)
    reader = Follower(store, page=1)
    async with empty_engine.connect() as slow:
        transaction = await slow.begin()
        if early_xid:
            await slow.execute(text("SELECT pg_current_xact_id()"))
        else:
            await store.append(
                f"storetest-{uuid.uuid4()}", ExpectedVersion.ANY, [_event("slow")], conn=slow
            )
        await store.append(f"storetest-{uuid.uuid4()}", ExpectedVersion.ANY, [_event("fast")])
        if early_xid:
            await store.append(
                f"storetest-{uuid.uuid4()}", ExpectedVersion.ANY, [_event("slow")], conn=slow
            )
        assert await reader.poll() == []  # "fast" is committed but must wait for "slow"
        await transaction.commit()
    await reader.wait_for(2)
    assert _labels(reader.seen) == ["slow", "fast"]
    if early_xid:  # the log order is the transactions' order, not the positions'
        assert reader.seen[0].global_position > reader.seen[1].global_position
    assert _labels(await store.read_all()) == ["slow", "fast"]


async def test_a_rolled_back_append_releases_later_commits(empty_engine: AsyncEngine) -> None:
    store = EventStore(empty_engine)
    reader = Follower(store, page=1)
    await store.append(f"storetest-{uuid.uuid4()}", ExpectedVersion.ANY, [_event("before")])
    await reader.wait_for(1)
    async with empty_engine.connect() as slow:
        transaction = await slow.begin()
        await store.append(
            f"storetest-{uuid.uuid4()}", ExpectedVersion.ANY, [_event("lost")], conn=slow
        )
        await store.append(f"storetest-{uuid.uuid4()}", ExpectedVersion.ANY, [_event("after")])
        assert await reader.poll() == []
        await transaction.rollback()
    await reader.wait_for(2)
    assert _labels(reader.seen) == ["before", "after"]
    assert _labels(await store.read_all()) == ["before", "after"]


async def _write(store: EventStore, engine: AsyncEngine, writer: int) -> list[uuid.UUID]:
    """Appends one by one, each commit a little late, so positions commit out of order."""
    rng = random.Random(writer)
    stream = f"storetest-{uuid.uuid4()}"
    ids: list[uuid.UUID] = []
    for n in range(EVENTS_PER_WRITER):
        event = _event(f"{writer}/{n}")
        async with engine.begin() as conn:
            await store.append(stream, n, [event], conn=conn)
            await asyncio.sleep(rng.random() / 1000)
        ids.append(event.event_id)
    return ids


async def test_a_reader_following_concurrent_writers_sees_each_event_once(
    empty_engine: AsyncEngine,
) -> None:
    store = EventStore(empty_engine)
    reader = Follower(store, page=7)
    writers = asyncio.gather(*(_write(store, empty_engine, w) for w in range(WRITERS)))
    while not writers.done():
        if not await reader.poll():
            await asyncio.sleep(0.001)
    written = {i for ids in writers.result() for i in ids}
    await reader.wait_for(len(written))
    followed = [e.event_id for e in reader.seen]
    assert len(followed) == len(set(followed)) == WRITERS * EVENTS_PER_WRITER
    assert set(followed) == written
    again = Follower(store, page=13)
    await again.wait_for(len(written))
    assert [e.event_id for e in again.seen] == followed
    per_stream: dict[str, list[int]] = {}
    for event in reader.seen:
        per_stream.setdefault(event.stream_id, []).append(event.version)
    assert all(v == list(range(1, EVENTS_PER_WRITER + 1)) for v in per_stream.values())


async def test_sessions_cannot_idle_in_a_transaction_for_long(empty_engine: AsyncEngine) -> None:
    """A writer that stalls inside its transaction would hold back every reader of the log."""
    async with empty_engine.connect() as conn:
        setting = await conn.execute(text("SHOW idle_in_transaction_session_timeout"))
        assert setting.scalar_one() not in ("0", "0ms")
