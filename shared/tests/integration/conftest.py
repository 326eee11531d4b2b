"""The consumer toolkit's test world, in both of its modes."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

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
