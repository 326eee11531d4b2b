"""Catch-up subscriptions against the real PostgreSQL: checkpoint, retries, restarts, wake-up.

Each test has an empty log of its own. The handler writes a projection row per event through the
subscription's connection; the primary key on the event id makes a second application of an event
fail loudly, so "handled once in effect" is checked by the database.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.eventstore.subscription import CatchUpSubscription
from helpdesk_shared.retry import RetryPolicy

PATIENCE_S = 30.0
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05)


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(fresh_database_url, pool_size=4, application_name="test-subscription")
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE projection (event_id uuid PRIMARY KEY, n int NOT NULL)")
        )
    yield EventStore(engine)
    await engine.dispose()


class Projection:
    """A handler that projects each event into a row, remembering the calls it committed."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.fail_on = fail_on or set()
        self.calls: list[int] = []

    async def __call__(self, event: RecordedEvent, conn: AsyncConnection) -> None:
        n = int(event.data["n"])
        self.calls.append(n)
        if n in self.fail_on:
            self.fail_on.discard(n)  # fails once, then succeeds on the retry
            raise RuntimeError(f"handler failed on {n}")
        await conn.execute(
            text("INSERT INTO projection (event_id, n) VALUES (:id, :n)"),
            {"id": event.event_id, "n": n},
        )


async def _append(store: EventStore, numbers: range) -> None:
    """Append one event per number, and wait until the log shows them.

    `read_all` (hence `catch_up`) only shows events once every older transaction in the cluster
    has ended, and other test runs may hold one open for a moment.
    """
    for n in numbers:
        stream = f"storetest-{uuid.uuid4()}"
        await store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent("Noted", {"n": n})])

    async def readable() -> bool:
        return len(await store.read_all(limit=100_000)) >= numbers.stop

    await _until(readable)


async def _projected(store: EventStore) -> list[int]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT n FROM projection ORDER BY n"))
        return [int(n) for n in rows.scalars()]


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_S
    while not await check():
        assert loop.time() < deadline, "gave up waiting"
        await asyncio.sleep(0.01)


async def test_catch_up_handles_the_log_in_order_then_nothing(store: EventStore) -> None:
    await _append(store, range(7))
    projection = Projection()
    subscription = CatchUpSubscription(store, "in-order", projection, batch_size=3)
    assert await subscription.catch_up() == 7
    assert projection.calls == list(range(7))
    assert await subscription.catch_up() == 0
    assert await _projected(store) == list(range(7))
    last = (await store.read_all())[-1]
    assert await subscription.position() == last.log_position


async def test_checkpoint_survives_a_restart(store: EventStore) -> None:
    await _append(store, range(10))
    first = Projection()
    subscription = CatchUpSubscription(store, "restarted", first, batch_size=4)
    task = asyncio.create_task(subscription.run())

    async def some_handled() -> bool:
        return len(await _projected(store)) == 10

    await _until(some_handled)
    await subscription.stop()
    await task
    await _append(store, range(10, 15))
    second = Projection()
    assert await CatchUpSubscription(store, "restarted", second).catch_up() == 5
    assert second.calls == list(range(10, 15))
    assert await _projected(store) == list(range(15))


async def test_a_failing_handler_rolls_back_its_batch_and_is_retried(store: EventStore) -> None:
    await _append(store, range(6))
    projection = Projection(fail_on={4})
    subscription = CatchUpSubscription(store, "retried", projection, batch_size=3)
    with pytest.raises(RuntimeError, match="failed on 4"):
        await subscription.catch_up()
    first_batch_end = (await store.read_all())[2].log_position
    assert await subscription.position() == first_batch_end
    assert await _projected(store) == [0, 1, 2]  # event 3's row rolled back with the failure
    assert await subscription.catch_up() == 3
    assert projection.calls == [0, 1, 2, 3, 4, 3, 4, 5]
    assert await _projected(store) == list(range(6))


async def test_run_retries_after_a_handler_failure(store: EventStore) -> None:
    await _append(store, range(3))
    projection = Projection(fail_on={1})
    subscription = CatchUpSubscription(store, "run-retry", projection, error_backoff=FAST_RETRY)
    task = asyncio.create_task(subscription.run())

    async def all_handled() -> bool:
        return await _projected(store) == [0, 1, 2]

    try:
        await _until(all_handled)
    finally:
        await subscription.stop()
        await task
    assert projection.calls == [0, 1, 0, 1, 2]


async def test_an_idle_subscription_wakes_for_a_new_event(store: EventStore) -> None:
    projection = Projection()
    subscription = CatchUpSubscription(store, "wakes", projection)
    task = asyncio.create_task(subscription.run())
    try:
        await asyncio.sleep(0.6)  # long enough to reach the longest idle wait
        assert projection.calls == []
        await _append(store, range(1))

        async def handled() -> bool:
            return await _projected(store) == [0]

        await _until(handled)
    finally:
        await subscription.stop()
        await task
    assert task.done()


async def test_wake_cuts_an_idle_wait_short(store: EventStore) -> None:
    projection = Projection()
    never_polls = RetryPolicy(initial=3600.0, maximum=3600.0, jitter=0.0)
    subscription = CatchUpSubscription(store, "woken", projection, idle_backoff=never_polls)
    task = asyncio.create_task(subscription.run())
    try:
        await asyncio.sleep(0.1)
        await _append(store, range(1))
        subscription.wake()

        async def handled() -> bool:
            return await _projected(store) == [0]

        await _until(handled)
    finally:
        await subscription.stop()
        await task


async def test_reset_replays_the_whole_log(store: EventStore) -> None:
    await _append(store, range(4))
    projection = Projection()
    subscription = CatchUpSubscription(store, "rebuilt", projection)
    assert await subscription.catch_up() == 4
    await subscription.reset()
    assert await subscription.position() == LogPosition.start()
    async with store.engine.begin() as conn:
        await conn.execute(text("DELETE FROM projection"))
    assert await subscription.catch_up() == 4
    assert await _projected(store) == list(range(4))


async def test_subscriptions_keep_their_own_checkpoints(store: EventStore) -> None:
    await _append(store, range(3))
    first, second = Projection(), Projection()
    async with store.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE projection DROP CONSTRAINT projection_pkey"))
    assert await CatchUpSubscription(store, "one", first).catch_up() == 3
    await _append(store, range(3, 4))
    assert await CatchUpSubscription(store, "two", second).catch_up() == 4
    assert await CatchUpSubscription(store, "one", first).catch_up() == 1
    assert first.calls == second.calls == [0, 1, 2, 3]


async def test_two_instances_of_one_subscription_never_handle_an_event_twice(
    store: EventStore,
) -> None:
    await _append(store, range(40))
    projection = Projection()
    replicas = [CatchUpSubscription(store, "replicated", projection, batch_size=5) for _ in "ab"]
    counts = await asyncio.gather(*(r.catch_up() for r in replicas))
    assert sum(counts) == 40
    assert sorted(projection.calls) == list(range(40))
    assert await _projected(store) == list(range(40))


async def test_stop_before_run_returns_at_once(store: EventStore) -> None:
    subscription = CatchUpSubscription(store, "stopped", Projection())
    await subscription.stop()
    await asyncio.wait_for(subscription.run(), PATIENCE_S)  # a TimeoutError fails the test


async def test_an_event_committing_late_with_a_lower_position_is_not_skipped(
    store: EventStore,
) -> None:
    projection = Projection()
    subscription = CatchUpSubscription(store, "late", projection)
    async with store.engine.connect() as slow:
        transaction = await slow.begin()
        late = NewEvent("Noted", {"n": 0})
        await store.append(
            f"storetest-{uuid.uuid4()}", ExpectedVersion.NO_STREAM, [late], conn=slow
        )
        await store.append(
            f"storetest-{uuid.uuid4()}", ExpectedVersion.NO_STREAM, [NewEvent("Noted", {"n": 1})]
        )
        assert await subscription.catch_up() == 0  # event 1 waits for event 0's transaction
        await transaction.commit()

    async def both_handled() -> bool:
        await subscription.catch_up()
        return len(projection.calls) == 2

    await _until(both_handled)
    assert projection.calls == [0, 1]
    assert await _projected(store) == [0, 1]


class BatchedProjection(Projection):
    """A `Batching` handler: rows kept pending per event, written by `flush` once per batch."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        super().__init__(fail_on)
        self.pending: list[int] = []
        self.flushes: list[list[int]] = []

    async def __call__(self, event: RecordedEvent, conn: AsyncConnection) -> None:
        n = int(event.data["n"])
        self.calls.append(n)
        if n in self.fail_on:
            self.fail_on.discard(n)
            raise RuntimeError(f"handler failed on {n}")
        self.pending.append(n)

    async def flush(self, conn: AsyncConnection) -> None:
        self.flushes.append(self.pending)
        for n in self.pending:
            await conn.execute(
                text("INSERT INTO projection (event_id, n) VALUES (gen_random_uuid(), :n)"),
                {"n": n},
            )
        self.pending = []

    def discard(self) -> None:
        self.pending = []


async def test_a_batching_handler_flushes_once_per_batch_and_forgets_a_failed_one(
    store: EventStore,
) -> None:
    await _append(store, range(7))
    projection = BatchedProjection(fail_on={4})
    subscription = CatchUpSubscription(store, "batched", projection, batch_size=3)
    with pytest.raises(RuntimeError, match="failed on 4"):
        await subscription.catch_up()
    assert projection.flushes == [[0, 1, 2]]
    assert projection.pending == []  # event 3, left pending by the failed batch, is forgotten
    assert await subscription.catch_up() == 4
    assert projection.flushes == [[0, 1, 2], [3, 4, 5], [6]]
    assert await _projected(store) == list(range(7))
