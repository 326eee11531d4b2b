"""`HELPDESK_BROKER_TIMEOUT_SECONDS` bounds a consumer's dead-letter publish: a broker that stops
answering while a failed event is being parked does not hold the consumer for ever; the original
is rejected instead (the queue's dead-letter exchange parks it, without our reason header), and
nothing is lost (the late copy may be parked too). The broker is the real RabbitMQ behind a
proxy the test stalls."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_testkit.broker import eventually, synthetic_event
from helpdesk_testkit.consumers import ConsumerWorld, dead_letters_when
from helpdesk_testkit.stalling import pausable_proxy


async def test_a_dead_letter_publish_past_its_timeout_rejects_the_original(
    world: ConsumerWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = urlsplit(world.amqp_url)
    async with pausable_proxy(broker.hostname or "127.0.0.1", broker.port or 5672) as proxy:
        through_proxy = urlunsplit(
            broker._replace(netloc=f"{broker.netloc.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}")
        )

        async def fails_as_the_broker_stalls(event: ReceivedEvent, conn: AsyncConnection) -> None:
            proxy.pause()
            raise RuntimeError("handler failure")

        with caplog.at_level(logging.WARNING, logger="helpdesk_shared.messaging.consumer"):
            consumer = await world.start(
                fails_as_the_broker_stalls,
                amqp_url=through_proxy,
                max_attempts=1,
                publish_timeout=0.3,
            )
            await world.publish(synthetic_event())
            await eventually(
                lambda: "dead-lettering by reject" in caplog.text,
                within=5.0,  # well below the 10 s default: the setting is the one honoured
                what="the dead-letter publish timed out",
            )
        assert "TimeoutError" in caplog.text
        assert consumer.dead_lettered == 1
        # Once the broker answers again, the reject reaches it and its dead-letter exchange
        # parks the event; the copy whose confirmation timed out arrives too (it was on its
        # way): parked twice rather than lost, and a replay applies it once (the inbox).
        proxy.resume()
        letters = await dead_letters_when(world, 2)
    assert len(letters) == 2
