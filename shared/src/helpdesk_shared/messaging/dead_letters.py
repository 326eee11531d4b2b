"""Seeing and replaying the messages a consumer parked in its dead-letter queue.

Listing peeks without losing anything: it takes up to `limit` messages without acknowledging
them, then hands them all back to the queue. Replaying moves each message back to the consumer's
queue through the default exchange (confirmed) before removing it from the DLQ, so a crash in
between duplicates a message (the inbox absorbs it) rather than losing one.
"""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from helpdesk_shared.auth import Role, require_roles
from helpdesk_shared.http.problems import VALIDATION, Problem, Where, field_error
from helpdesk_shared.messaging.envelope import persistent_copy
from helpdesk_shared.messaging.parking import (
    ATTEMPTS_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    REASON_HEADER,
)
from helpdesk_shared.messaging.topology import (
    DEAD_LETTER_QUEUE_ARGUMENTS,
    dead_letter_queue_name,
    queue_name,
)

_BODY_PREVIEW = 2000
#: Headers describing a past failure: dropped when a message is replayed.
_FAILURE_HEADERS = {
    REASON_HEADER,
    ATTEMPTS_HEADER,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
}


@dataclass(frozen=True)
class DeadLetter:
    """One parked message, as an operator sees it."""

    consumer: str
    message_id: str | None
    event_type: str | None
    routing_key: str | None
    reason: str | None
    attempts: int | None
    timestamp: dt.datetime | None
    body: str

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["timestamp"] = self.timestamp.isoformat() if self.timestamp else None
        return raw


async def list_dead_letters(
    amqp_url: str, queue_prefix: str, consumer: str, limit: int = 100, broker_timeout: float = 10.0
) -> list[DeadLetter]:
    """Up to `limit` messages of the consumer's DLQ, oldest first, left in the queue."""
    async with _dlq_channel(amqp_url, broker_timeout) as channel:
        queue = await channel.declare_queue(
            dead_letter_queue_name(queue_prefix, consumer),
            durable=True,
            arguments=DEAD_LETTER_QUEUE_ARGUMENTS,
        )
        taken: list[AbstractIncomingMessage] = []
        while len(taken) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            taken.append(message)
        if taken:
            await taken[-1].nack(multiple=True, requeue=True)
    return [_describe(consumer, message) for message in taken]


async def replay_dead_letters(
    amqp_url: str,
    queue_prefix: str,
    consumer: str,
    limit: int | None = None,
    broker_timeout: float = 10.0,
) -> int:
    """Move up to `limit` (default: all present now) messages back to the consumer's queue;
    `broker_timeout` bounds the connection and each confirmed publish."""
    async with _dlq_channel(amqp_url, broker_timeout) as channel:
        dlq = await channel.declare_queue(
            dead_letter_queue_name(queue_prefix, consumer),
            durable=True,
            arguments=DEAD_LETTER_QUEUE_ARGUMENTS,
        )
        present = dlq.declaration_result.message_count or 0
        # Bounded by what is there now: a message that fails again must not loop forever.
        budget = present if limit is None else min(limit, present)
        target = queue_name(queue_prefix, consumer)
        replayed = 0
        while replayed < budget:
            message = await dlq.get(no_ack=False, fail=False)
            if message is None:
                break
            await channel.default_exchange.publish(
                _replay_copy(message), target, mandatory=True, timeout=broker_timeout
            )
            await message.ack()
            replayed += 1
    return replayed


def _replay_copy(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _FAILURE_HEADERS}
    replays = headers.get("x-helpdesk-replays", 0)
    headers["x-helpdesk-replays"] = (replays if isinstance(replays, int) else 0) + 1
    return persistent_copy(message, headers)


def _describe(consumer: str, message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    reason = headers.get(REASON_HEADER) or _death_reason(headers)
    attempts = headers.get(ATTEMPTS_HEADER)
    routing_key = headers.get(ORIGINAL_ROUTING_KEY_HEADER) or _death_routing_key(headers)
    return DeadLetter(
        consumer=consumer,
        message_id=message.message_id,
        event_type=message.type,
        routing_key=str(routing_key) if routing_key else message.routing_key,
        reason=str(reason) if reason else None,
        attempts=attempts if isinstance(attempts, int) else None,
        timestamp=message.timestamp,
        body=body_preview(message.body),
    )


def body_preview(body: bytes) -> str:
    """The body's first `_BODY_PREVIEW` bytes as text, never ending on a broken character.

    A cut through a multi-byte UTF-8 character (an accented French word is likely) would end the
    preview with a replacement mark; the incremental decoder holds such a tail back instead.
    Bytes that are not UTF-8 at all still show as replacement marks.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(body[:_BODY_PREVIEW], final=len(body) <= _BODY_PREVIEW)


def _death_reason(headers: dict[str, Any]) -> str | None:
    """The broker's own reason (`rejected`, `delivery_limit`, ...) when it dead-lettered."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return str(deaths[0].get("reason", "")) or None
    return None


def _death_routing_key(headers: dict[str, Any]) -> str | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        keys = deaths[0].get("routing-keys")
        if isinstance(keys, list) and keys:
            return str(keys[0])
    return None


@asynccontextmanager
async def _dlq_channel(amqp_url: str, broker_timeout: float) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(amqp_url, timeout=broker_timeout)
    try:
        yield await connection.channel(publisher_confirms=True, on_return_raises=True)
    finally:
        await connection.close()


class ReplayRequest(BaseModel):
    """Which consumer's dead letters to replay, and how many (default: all of them)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"consumer": "notify", "limit": 100}]}
    )

    consumer: str | None = None
    limit: int | None = Field(default=None, ge=1, le=100_000)


def dead_letter_router(
    *, amqp_url: str, queue_prefix: str, consumers: Sequence[str], timeout: float = 10.0
) -> APIRouter:
    """`GET /v1/dead-letters` and `POST /v1/dead-letters/replay`, for admins and managers; a
    broker that does not answer within `timeout` is a 503 (`helpdesk_shared.http.unavailable`)."""
    router = APIRouter(
        prefix="/v1/dead-letters",
        tags=["dead letters"],
        dependencies=[Depends(require_roles(Role.ADMIN, Role.MANAGER))],
    )

    def pick(consumer: str | None, where: Where) -> str:
        if consumer is None and len(consumers) == 1:
            return consumers[0]
        if consumer is None or consumer not in consumers:
            message = f"consumer must be one of: {', '.join(consumers)}"
            error = field_error(where, ["consumer"], message, "enum")
            raise Problem(
                422,
                "Consommateur inconnu",
                message,
                type_=VALIDATION,
                errors=[{**error, "allowed": list(consumers)}],
            )
        return consumer

    @router.get("", summary="Messages parked in a consumer's dead-letter queue")
    async def get_dead_letters(
        consumer: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        name = pick(consumer, "query")
        letters = await list_dead_letters(amqp_url, queue_prefix, name, limit, timeout)
        return {"consumer": name, "count": len(letters), "items": [d.to_json() for d in letters]}

    @router.post("/replay", summary="Move dead letters back to the consumer's queue")
    async def replay(request: ReplayRequest | None = None) -> dict[str, Any]:
        request = request or ReplayRequest()
        name = pick(request.consumer, "body")
        count = await replay_dead_letters(amqp_url, queue_prefix, name, request.limit, timeout)
        return {"consumer": name, "replayed": count}

    return router
