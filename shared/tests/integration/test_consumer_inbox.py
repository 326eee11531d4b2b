"""The consumer toolkit against the real RabbitMQ and PostgreSQL: inbox, retries, dead letters.

Every test runs twice (the `world` fixture): one delivery per transaction, and in batches.
"""

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.auth import issue_token
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.app import create_app
from helpdesk_shared.messaging.dead_letters import (
    dead_letter_router,
    list_dead_letters,
    replay_dead_letters,
)
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import declare_consumer_queues
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.broker import close_broker_connections, eventually, synthetic_event
from helpdesk_testkit.consumers import ConsumerWorld, dead_letters_when, failing


async def test_a_redelivered_event_is_applied_once(world: ConsumerWorld) -> None:
    consumer = await world.start(world.recorder())
    event = synthetic_event()

    await world.publish(event, event, event)

    await eventually(lambda: consumer.handled + consumer.duplicates == 3, what="3 deliveries")
    assert (consumer.handled, consumer.duplicates) == (1, 2)
    assert await world.effects() == [(event.event_id, 1)]


async def test_events_of_one_stream_are_handled_in_order(world: ConsumerWorld) -> None:
    consumer = await world.start(world.recorder(), prefetch=16)
    stream = f"storetest-{uuid.uuid4()}"
    events = [synthetic_event(stream_id=stream, version=v) for v in range(1, 21)]

    await world.publish(*events)

    await eventually(lambda: consumer.handled == 20, what="20 events handled")
    assert [version for _, version in await world.effects()] == list(range(1, 21))


async def test_a_handler_that_fails_then_succeeds_is_retried(world: ConsumerWorld) -> None:
    calls: list[int] = []
    tries = 2 + world.batch_try
    consumer = await world.start(failing(tries, world.recorder(), calls), max_attempts=5)
    event = synthetic_event()

    await world.publish(event)

    await eventually(lambda: consumer.handled == 1, what="the event handled")
    assert len(calls) == 3 + world.batch_try
    assert await world.effects() == [(event.event_id, 1)]  # the two failed attempts rolled back
    assert consumer.dead_lettered == 0
    assert consumer.retried == 2
    assert consumer.lag.count == 1
    assert 0 <= consumer.lag.total < 60  # recorded just now (the synthetic event's time)


async def test_a_handler_that_keeps_failing_parks_the_event_for_replay(
    world: ConsumerWorld,
) -> None:
    calls: list[int] = []
    tries = 3 + world.batch_try
    consumer = await world.start(failing(tries, world.recorder(), calls), max_attempts=3)
    event = synthetic_event()

    await world.publish(event)

    await eventually(lambda: consumer.dead_lettered == 1, what="the event dead-lettered")
    assert consumer.retried == 2  # the third failure parks it instead
    letters = await dead_letters_when(world, 1)
    assert await list_dead_letters(world.amqp_url, world.prefix, world.name) == letters  # peeked
    [letter] = letters
    assert letter.message_id == str(event.event_id)
    assert letter.event_type == "Escalated"
    assert letter.routing_key == "ticket.escalated"
    assert letter.attempts == 3
    assert letter.reason == f"RuntimeError: transient failure {tries}"
    assert await world.effects() == []

    assert await replay_dead_letters(world.amqp_url, world.prefix, world.name) == 1

    await eventually(lambda: consumer.handled == 1, what="the replayed event handled")
    assert await world.effects() == [(event.event_id, 1)]
    assert await list_dead_letters(world.amqp_url, world.prefix, world.name) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x00 definitely not json", "application/cloudevents+json"),
        (
            b'{"specversion": "1.0", "id": "1", "source": "x", "type": "Nope"}',
            "application/cloudevents+json",
        ),
    ],
)
async def test_a_poison_message_is_parked_and_the_consumer_keeps_serving(
    world: ConsumerWorld, body: bytes, content_type: str
) -> None:
    calls: list[ReceivedEvent] = []
    consumer = await world.start(world.recorder(calls))
    event = synthetic_event()

    await world.publish_raw(body, content_type)
    await world.publish(event)

    await eventually(lambda: consumer.handled == 1, what="the good event handled")
    assert [c.event_id for c in calls] == [event.event_id]
    [letter] = await dead_letters_when(world, 1)
    assert letter.message_id == "poison-1"
    assert letter.reason is not None
    assert letter.reason.startswith("poison: ")
    assert letter.attempts == 0


async def test_the_consumer_reconnects_after_a_broker_side_drop(world: ConsumerWorld) -> None:
    consumer = await world.start(world.recorder())
    first, second = synthetic_event(), synthetic_event()
    await world.publish(first)
    await eventually(lambda: consumer.handled == 1, what="the first event handled")

    assert close_broker_connections(f"helpdesk-consumer {world.name}") == 1
    await world.publish(second)

    await eventually(lambda: consumer.handled == 2, what="an event handled after the drop")
    await consumer.ready()
    assert sorted(await world.effects()) == sorted([(first.event_id, 1), (second.event_id, 1)])


async def test_dead_letters_over_http_need_an_admin_or_a_manager(world: ConsumerWorld) -> None:
    tries = 1 + world.batch_try
    consumer = await world.start(failing(tries, world.recorder(), []), max_attempts=1)
    event = synthetic_event()
    await world.publish(event)
    await eventually(lambda: consumer.dead_lettered == 1, what="the event dead-lettered")
    await dead_letters_when(world, 1)
    settings = CommonSettings(helpdesk_jwt_secret="test-secret-for-dead-letters-0123456789")
    router = dead_letter_router(
        amqp_url=world.amqp_url, queue_prefix=world.prefix, consumers=[world.name]
    )
    app = create_app(
        service="test", version="0", settings=settings, routers=[router], readiness_checks={}
    )
    bearer: Callable[[str], dict[str, str]] = lambda role: {  # noqa: E731
        "Authorization": f"Bearer {issue_token(settings, 'someone', [role])}"
    }

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/v1/dead-letters")).status_code == 401
        assert (await client.get("/v1/dead-letters", headers=bearer("agent"))).status_code == 403
        listed = await client.get("/v1/dead-letters", headers=bearer("manager"))
        assert listed.status_code == 200
        assert [i["message_id"] for i in listed.json()["items"]] == [str(event.event_id)]
        unknown = await client.get(
            "/v1/dead-letters", params={"consumer": "nobody"}, headers=bearer("admin")
        )
        assert unknown.status_code == 422
        replayed = await client.post("/v1/dead-letters/replay", headers=bearer("admin"), json={})
        assert replayed.json() == {"consumer": world.name, "replayed": 1}

    await eventually(lambda: consumer.handled == 1, what="the replayed event handled")


async def test_events_outside_the_consumer_bindings_are_ignored(world: ConsumerWorld) -> None:
    # The relay binds every consumer queue with `#`; this consumer only wants tickets.
    await declare_consumer_queues(
        world.channel, exchange=world.exchange, queue_prefix=world.prefix, consumer=world.name
    )
    calls: list[ReceivedEvent] = []
    consumer = await world.start(world.recorder(calls), bindings=("ticket.#",))
    unwanted, wanted = synthetic_event(), synthetic_event()

    await world.publish(unwanted, routing_key="call.recorded")
    await world.publish(wanted, routing_key="ticket.escalated")

    await eventually(lambda: consumer.handled == 1, what="the ticket event handled")
    await eventually(lambda: consumer.ignored == 1, what="the call event ignored")
    assert [c.event_id for c in calls] == [wanted.event_id]
    assert consumer.dead_lettered == 0


async def test_a_slow_handler_does_not_hold_back_readers_of_the_log(
    world: ConsumerWorld, event_store: EventStore
) -> None:
    """The inbox claim is written last: until then the handler's transaction has no xid, so
    an event appended meanwhile is readable from the log (the relay is not stalled)."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(event: ReceivedEvent, conn: AsyncConnection) -> None:
        entered.set()
        await asyncio.wait_for(release.wait(), timeout=60)

    await world.start(slow)
    await world.publish(synthetic_event())
    await asyncio.wait_for(entered.wait(), timeout=30)
    stream = f"storetest-{uuid.uuid4()}"
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent("Noted", {"n": 1})])
    seen: list[str] = []

    async def appended_is_readable() -> bool:
        page = await event_store.read_all(LogPosition.start(), limit=100_000)
        seen[:] = [e.stream_id for e in page]
        return stream in seen

    try:
        await eventually(appended_is_readable, within=20, what="the append to be readable")
    finally:
        release.set()
