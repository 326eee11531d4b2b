"""`RELAY_PUBLISH_TIMEOUT_SECONDS` bounds each confirmed publish of the relay: a broker that stops
answering mid-batch does not hold the relay for ever; it starts over from its checkpoint and,
once the broker answers again, publishes what was stored meanwhile. The broker is the real
RabbitMQ behind a proxy the test stalls."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import pytest

from helpdesk_testkit.broker import drain, eventually
from helpdesk_testkit.stalling import pausable_proxy

from .test_relay_publish import (  # noqa: F401
    RelayWorld,
    append_some,
    event_ids,
    running,
    whole_log,
    world,
)


async def test_a_publish_past_its_timeout_makes_the_relay_start_over_and_lose_nothing(
    world: RelayWorld,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = urlsplit(world.amqp_url)
    async with pausable_proxy(broker.hostname or "127.0.0.1", broker.port or 5672) as proxy:
        credentials = broker.netloc.rsplit("@", 1)[0]
        through_proxy = urlunsplit(broker._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}"))
        relay = world.relay(
            amqp_url=through_proxy, publish_timeout=1.0
        )  # also its lock check: not too tight
        with caplog.at_level(logging.WARNING, logger="helpdesk_shared.relay.relay"):
            async with running(relay):
                await append_some(world.store, tickets=1, per_ticket=2)
                delivered = event_ids(await drain(world.subscriber, expect=2))
                proxy.pause()
                await append_some(world.store, tickets=1, per_ticket=2)
                await eventually(
                    lambda: "TimeoutError" in caplog.text,
                    within=6.0,  # well below the 10 s default: the setting is the one honoured
                    what="the relay's publish timed out",
                )
                proxy.resume()
                log = await whole_log(world.store, 4)

                async def caught_up() -> bool:
                    return await relay.checkpoint() == log[-1].log_position

                await eventually(caught_up, within=30.0, what="the relay to publish the rest")
                delivered += event_ids(await drain(world.subscriber, expect=2))
    assert "relay interrupted, resuming from its checkpoint" in caplog.text
    assert set(delivered) == {e.event_id for e in log}  # at least once: nothing lost
