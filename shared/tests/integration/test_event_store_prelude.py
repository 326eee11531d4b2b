"""`append_with`: a caller's writes in the append's own statement, committed with it or not at all,
and a value they made merged into the events (a number taken from a counter, gapless), in the
caller's transaction or in autocommit."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ConcurrencyConflict, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore, Prelude

WRITERS = 8

_COUNTER = """counter AS (
        INSERT INTO public.prelude_counters (name, last_value) VALUES (:name, 1)
        ON CONFLICT (name) DO UPDATE SET last_value = public.prelude_counters.last_value + 1
        RETURNING last_value
    )"""
_NUMBER = "(SELECT jsonb_build_object('number', last_value) FROM counter)"


@pytest.fixture
async def wide_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=WRITERS, application_name="test-prelude")
    async with eng.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS public.prelude_counters"
                " (name text PRIMARY KEY, last_value bigint NOT NULL)"
            )
        )
    yield eng
    await eng.dispose()


def _numbered(name: str) -> Prelude:
    return Prelude(_COUNTER, {"name": name}, _NUMBER)


async def _counter(engine: AsyncEngine, name: str) -> int | None:
    async with engine.connect() as conn:
        query = text("SELECT last_value FROM public.prelude_counters WHERE name = :n")
        return (await conn.execute(query, {"n": name})).scalar_one_or_none()


async def test_the_preludes_value_is_merged_into_the_events_and_returned(
    wide_engine: AsyncEngine,
) -> None:
    store, name, stream = EventStore(wide_engine), f"c-{uuid.uuid4()}", f"prelude-{uuid.uuid4()}"
    events = [
        NewEvent(type="Opened", data={"number": 0, "kept": "yes"}),
        NewEvent(type="Noted", data={}),
    ]
    async with wide_engine.begin() as conn:
        result, merged = await store.append_with(
            _numbered(name), stream, ExpectedVersion.NO_STREAM, events, conn=conn
        )
    assert merged == {"number": 1}
    assert (result.first_version, result.last_version) == (1, 2)
    stored = await store.read_stream(stream)
    assert [e.data for e in stored] == [{"number": 1, "kept": "yes"}, {"number": 1}]
    assert await _counter(wide_engine, name) == 1


async def test_concurrent_writers_take_consecutive_numbers_each_in_its_event(
    wide_engine: AsyncEngine,
) -> None:
    store, name = EventStore(wide_engine), f"c-{uuid.uuid4()}"

    async def one() -> tuple[int, str]:
        stream = f"prelude-{uuid.uuid4()}"
        async with wide_engine.begin() as conn:
            _, merged = await store.append_with(
                _numbered(name),
                stream,
                ExpectedVersion.NO_STREAM,
                [NewEvent("Opened", {})],
                conn=conn,
            )
        return int(merged["number"]), stream

    taken = await asyncio.gather(*(one() for _ in range(WRITERS * 3)))
    assert sorted(n for n, _ in taken) == list(range(1, WRITERS * 3 + 1))
    for number, stream in taken:
        (event,) = await store.read_stream(stream)
        assert event.data == {"number": number}


async def test_a_conflict_raises_and_the_rolled_back_prelude_leaves_no_gap(
    wide_engine: AsyncEngine,
) -> None:
    store, name, stream = EventStore(wide_engine), f"c-{uuid.uuid4()}", f"prelude-{uuid.uuid4()}"
    async with wide_engine.begin() as conn:
        await store.append_with(
            _numbered(name), stream, ExpectedVersion.NO_STREAM, [NewEvent("Opened", {})], conn=conn
        )
    with pytest.raises(ConcurrencyConflict):
        async with wide_engine.begin() as conn:
            await store.append_with(
                _numbered(name),
                stream,
                ExpectedVersion.NO_STREAM,
                [NewEvent("Opened", {})],
                conn=conn,
            )
    assert await _counter(wide_engine, name) == 1
    assert len(await store.read_stream(stream)) == 1


async def test_a_batch_stored_before_raises_rather_than_leave_the_prelude_alone(
    wide_engine: AsyncEngine,
) -> None:
    store, name, stream = EventStore(wide_engine), f"c-{uuid.uuid4()}", f"prelude-{uuid.uuid4()}"
    events = [NewEvent("Opened", {})]
    await store.append(stream, ExpectedVersion.NO_STREAM, events)
    with pytest.raises(ConcurrencyConflict):
        async with wide_engine.begin() as conn:
            await store.append_with(_numbered(name), stream, 0, events, conn=conn)
    assert await _counter(wide_engine, name) is None


async def test_in_autocommit_the_statement_commits_the_number_with_the_events(
    wide_engine: AsyncEngine,
) -> None:
    store, name = EventStore(wide_engine), f"c-{uuid.uuid4()}"

    async def one() -> tuple[int, str]:
        stream = f"prelude-{uuid.uuid4()}"
        async with store.autocommit() as conn:
            _, merged = await store.append_with(
                _numbered(name), stream, ExpectedVersion.NO_STREAM, [NewEvent("Opened", {})],
                conn=conn,
            )  # fmt: skip
        return int(merged["number"]), stream

    taken = await asyncio.gather(*(one() for _ in range(WRITERS * 2)))
    assert sorted(n for n, _ in taken) == list(range(1, WRITERS * 2 + 1))
    for number, stream in taken:
        (event,) = await store.read_stream(stream)
        assert event.data == {"number": number}


@pytest.mark.parametrize("expected", [ExpectedVersion.NO_STREAM, 0, 5])
async def test_in_autocommit_a_statement_that_stores_nothing_leaves_no_number_taken(
    wide_engine: AsyncEngine, expected: int | ExpectedVersion
) -> None:
    """Without the transaction to roll back, the statement itself must fail: a conflict (the
    stream exists, or is not at the expected version) and a batch stored before alike."""
    store, name, stream = EventStore(wide_engine), f"c-{uuid.uuid4()}", f"prelude-{uuid.uuid4()}"
    stored = [NewEvent("Opened", {})]
    await store.append(stream, ExpectedVersion.NO_STREAM, stored)
    for events in ([NewEvent("Opened", {})], stored):
        async with store.autocommit() as conn:
            with pytest.raises(ConcurrencyConflict):
                await store.append_with(_numbered(name), stream, expected, events, conn=conn)
    assert await _counter(wide_engine, name) is None
    assert len(await store.read_stream(stream)) == 1


async def test_any_in_autocommit_and_the_appends_own_parameter_names_are_refused(
    wide_engine: AsyncEngine,
) -> None:
    store, stream = EventStore(wide_engine), f"prelude-{uuid.uuid4()}"
    events = [NewEvent("Opened", {})]
    async with store.autocommit() as conn:
        with pytest.raises(ValueError, match="autocommit"):
            await store.append_with(_numbered("x"), stream, ExpectedVersion.ANY, events, conn=conn)
    clashing = Prelude(_COUNTER, {"name": "x", "stream_id": "y"}, _NUMBER)
    async with wide_engine.begin() as conn:
        with pytest.raises(ValueError, match="stream_id"):
            await store.append_with(clashing, stream, 0, events, conn=conn)
    assert await store.read_stream(stream) == []
