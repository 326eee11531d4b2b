"""Parking a message a consumer gives up on in its dead-letter queue, with the reason.

A copy goes to the dead-letter exchange with headers saying why it was parked, after how many
attempts and under which routing key it came; the broker confirms that copy before the original
is acknowledged, so a parked message is never lost. If the copy cannot be published, the original
is rejected instead: the queue's dead-letter exchange parks it anyway, only without our reason.
`dead_letters.py` lists and replays what was parked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from helpdesk_shared.messaging.envelope import persistent_copy
from helpdesk_shared.messaging.topology import dead_letter_exchange_name, dead_letter_queue_name

#: The consumer's logger: its warnings come under one name, whichever module of it logs them.
log = logging.getLogger("helpdesk_shared.messaging.consumer")

#: Header set on a message this toolkit dead-letters: why it was parked.
REASON_HEADER = "x-helpdesk-dead-letter-reason"
ATTEMPTS_HEADER = "x-helpdesk-attempts"
ORIGINAL_ROUTING_KEY_HEADER = "x-helpdesk-original-routing-key"


@dataclass(frozen=True)
class DeadLetterParking:
    """Where consumer `consumer` parks: the DLQ of `{queue_prefix}.{consumer}` on `exchange`.

    `publish_timeout` is how long the copy's publish waits for the broker's confirmation before
    the original is rejected instead (`HELPDESK_BROKER_TIMEOUT_SECONDS`).
    """

    consumer: str
    exchange: str
    queue_prefix: str
    publish_timeout: float

    async def park(
        self,
        channel: AbstractChannel | None,
        message: AbstractIncomingMessage,
        reason: str,
        attempts: int,
    ) -> None:
        """Park a copy in the DLQ with the reason (confirmed), then ack the original.

        If the copy cannot be published, reject the original instead: the queue's dead-letter
        exchange parks it anyway, only without our reason header.
        """
        try:
            await self._publish_copy(channel, message, reason, attempts)
        except (TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError) as error:
            log.warning("consumer %s: dead-lettering by reject (%r)", self.consumer, error)
            await message.nack(requeue=False)
            return
        await message.ack()

    async def _publish_copy(
        self,
        channel: AbstractChannel | None,
        message: AbstractIncomingMessage,
        reason: str,
        attempts: int,
    ) -> None:
        if channel is None:
            raise RuntimeError("consumer is not started")
        dlx = await channel.get_exchange(dead_letter_exchange_name(self.exchange))
        headers = dict(message.headers or {})
        headers[REASON_HEADER] = reason[:1000]
        headers[ATTEMPTS_HEADER] = attempts
        headers[ORIGINAL_ROUTING_KEY_HEADER] = message.routing_key or ""
        copy = persistent_copy(message, headers)
        await dlx.publish(
            copy,
            dead_letter_queue_name(self.queue_prefix, self.consumer),
            mandatory=False,
            timeout=self.publish_timeout,
        )
