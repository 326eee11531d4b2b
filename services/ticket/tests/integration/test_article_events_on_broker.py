"""Article events reach the topic exchange through the shared relay (real broker), with the
routing keys that follow from their names."""

import uuid
from collections.abc import AsyncIterator

import aio_pika
import httpx
import pytest

from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import drain, eventually
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings


@pytest.fixture
async def article_queue(
    amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[tuple[str, str, aio_pika.abc.AbstractQueue]]:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.article-{suffix}", f"{queue_prefix}.article-{suffix}"
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(f"{prefix}.subscriber", exclusive=True)
    await queue.bind(topic, "article.#")
    try:
        yield exchange, prefix, queue
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix)
        await connection.close()


async def test_article_events_reach_the_exchange(
    fresh_database_url: str,
    amqp_url: str,
    article_queue: tuple[str, str, aio_pika.abc.AbstractQueue],
) -> None:
    exchange, prefix, queue = article_queue
    settings = Settings(
        database_url=fresh_database_url,
        amqp_url=amqp_url,
        helpdesk_jwt_secret="ticket-tests-secret-0123456789-abcdef",
        ticket_background_tasks=False,
    )
    engine = create_engine(fresh_database_url, pool_size=2)
    try:
        app = build_app(settings, engine=engine)
        headers = {"Authorization": f"Bearer {issue_token(settings, 'bob', ['agent'])}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as http:
            body = {"title": "Messagerie lente", "symptom": "Outlook met du temps à s'ouvrir"}
            created = await http.post("/v1/articles", headers=headers, json=body)
            base = created.headers["location"]
            for step in ("revise", "publish", "retire"):
                payload = {**body, "cause": "PST trop gros"} if step == "revise" else None
                answer = await http.post(f"{base}/{step}", headers=headers, json=payload)
                assert answer.status_code == 200, answer.text

        relay = Relay(
            engine=engine,
            amqp_url=amqp_url,
            exchange=exchange,
            queue_prefix=prefix,
            source="helpdesk-ticket",
            retry_seconds=0.05,
        )
        published = 0

        async def all_published() -> bool:
            nonlocal published
            published += await relay.publish_pending()
            return published >= 4

        try:
            await eventually(all_published, within=30, what="4 events published")
        finally:
            await relay.stop()
        messages = await drain(queue, expect=4)
        assert [m.routing_key for m in messages] == [
            "article.drafted",
            "article.revised",
            "article.published",
            "article.retired",
        ]
    finally:
        await engine.dispose()
