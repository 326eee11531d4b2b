"""The consumer toolkit's test world, in both of its modes; an event store on an engine of its
own, for the tests that break its connections."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, stream_id
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_testkit.consumers import ConsumerWorld, consumer_world


@pytest.fixture(params=[1, 8], ids=["one-by-one", "batches"])
async def world(
    request: pytest.FixtureRequest,
    engine: AsyncEngine,
    amqp_url: str,
    exchange_name: str,
    queue_prefix: str,
) -> AsyncIterator[ConsumerWorld]:
    """A consumer world whose consumers handle one delivery, or up to 8, per transaction."""
    async with consumer_world(
        engine, amqp_url, exchange_name, queue_prefix, batch_size=request.param
    ) as world:
        yield world


@dataclass(frozen=True)
class OwnStore:
    """A store on an engine of its own, whose sessions carry `name` (so that a test finds and
    kills them), and a stream of it holding one event (version 1)."""

    engine: AsyncEngine
    store: EventStore
    stream: str
    name: str


OwnStores = Callable[..., Awaitable[OwnStore]]


@pytest.fixture
async def own_store(database_url: str) -> AsyncIterator[OwnStores]:
    """Makes `OwnStore`s (`category` names the stream and the sessions; `pool_size` the
    engine's): each engine is disposed after the test, whatever it left."""
    engines: list[AsyncEngine] = []

    async def make(category: str, *, pool_size: int = 1) -> OwnStore:
        name = f"{category}-{uuid.uuid4().hex[:8]}"
        engine = create_engine(database_url, pool_size=pool_size, application_name=name)
        engines.append(engine)
        store = EventStore(engine)
        stream = stream_id(category, uuid.uuid4())
        await store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent(type="Noted", data={})])
        return OwnStore(engine, store, stream, name)

    yield make
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def killer(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine apart, to terminate another engine's sessions with."""
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()
