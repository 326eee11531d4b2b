"""Every loop that waits before trying again takes its waits from a `RetryPolicy`.

No I/O: the parts that would talk to a server are replaced by stand-ins, the waits are recorded
instead of slept, and each policy is seeded so that the waits it should give are known.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.eventstore.subscription import CatchUpSubscription
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.relay.relay import Relay
from helpdesk_shared.retry import RetryPolicy

ENGINE = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")


def _expected(policy: RetryPolicy, count: int) -> list[float]:
    return list(itertools.islice(policy.delays(), count))


class _Waits:
    """Records the waits; once `until` of them were asked for, calls `then`."""

    def __init__(self, until: int = 10**9, then: Any = None) -> None:
        self.seconds: list[float] = []
        self._until = until
        self._then = then

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if len(self.seconds) == self._until and self._then is not None:
            await self._then()


# --- the consumer ---------------------------------------------------------------------------


class _FailingHandlerConsumer(Consumer):
    """A consumer whose handler always fails and whose dead-letter queue is a list."""

    parked: list[tuple[str, int]]

    async def _apply(self, event: Any) -> bool:
        raise RuntimeError("handler down")

    async def _dead_letter(self, message: Any, reason: str, attempts: int) -> None:
        self.parked.append((reason, attempts))


def _consumer(cls: type[Consumer] = Consumer, **settings: Any) -> Any:
    return cls(
        name="retries",
        engine=ENGINE,
        amqp_url="amqp://nobody@127.0.0.1:9/",
        exchange="x",
        queue_prefix="p",
        handler=None,  # type: ignore[arg-type]
        **settings,
    )


def test_the_consumer_settings_make_its_retry_policy() -> None:
    consumer = _consumer(max_attempts=4, backoff_seconds=0.3, max_backoff_seconds=9.0)
    assert consumer.retry_policy == RetryPolicy(initial=0.3, maximum=9.0, max_attempts=4)


async def test_a_failing_handler_waits_the_policys_delays_then_is_parked() -> None:
    consumer = _consumer(_FailingHandlerConsumer, max_attempts=5, backoff_seconds=0.2)
    consumer.parked = []
    consumer.retry_policy = dataclasses.replace(consumer.retry_policy, seed=42)
    consumer._sleep = waits = _Waits()
    event = SimpleNamespace(type="ticket.opened", event_id=uuid.uuid4())
    await consumer._handle_with_retries(SimpleNamespace(), event)
    assert waits.seconds == _expected(consumer.retry_policy, 4)
    assert waits.seconds != [0.2, 0.4, 0.8, 1.6]  # jittered, not the bare doubling
    assert consumer.parked == [("RuntimeError: handler down", 5)]
    assert consumer.retried == 4


class _BrokerDownConsumer(Consumer):
    starts = 0

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= 3:
            raise ConnectionRefusedError("broker down")


async def test_starting_before_the_broker_answers_waits_jittered_growing_delays() -> None:
    consumer = _consumer(_BrokerDownConsumer)
    consumer._sleep = waits = _Waits()
    await consumer.start_when_broker_answers(max_delay=10.0)
    assert consumer.starts == 4
    assert len(waits.seconds) == 3
    for retry, wait in enumerate(waits.seconds):
        assert 0 < wait <= RetryPolicy(0.5, 10.0).ceiling(retry)
    # what replicas starting together would wait first: spread, not all 0.5 s
    firsts = []
    for _ in range(10):
        replica = _consumer(_BrokerDownConsumer)
        replica._sleep = first = _Waits()
        await replica.start_when_broker_answers()
        firsts.append(first.seconds[0])
    assert len(set(firsts)) == 10


# --- the catch-up subscription -------------------------------------------------------------


class _Subscription(CatchUpSubscription):
    """Catch-ups that fail `failures` times, then find nothing; pauses recorded, not slept."""

    def __init__(self, failures: int, pauses: int, **policies: RetryPolicy) -> None:
        super().__init__(EventStore(ENGINE), "waits", handler=None, **policies)  # type: ignore[arg-type]
        self.failures = failures
        self.pauses = _Waits(until=pauses, then=self._stop_now)

    async def _stop_now(self) -> None:
        self._stopping.set()

    async def catch_up(self, progress: Any = None) -> int:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database down")
        return 0

    async def _pause(self, seconds: float) -> None:
        await self.pauses(seconds)


async def test_a_subscription_waits_its_policies_delays_after_errors_and_while_idle() -> None:
    errors = RetryPolicy(0.1, 30.0, seed=1)
    idle = RetryPolicy(0.005, 0.25, jitter=0.5, seed=2)
    subscription = _Subscription(3, 8, error_backoff=errors, idle_backoff=idle)
    await subscription.run()
    assert subscription.pauses.seconds == _expected(errors, 3) + _expected(idle, 5)


# --- the relay ---------------------------------------------------------------------------


class _Relay(Relay):
    """A relay whose database and broker are stand-ins: `outcomes` says what each publish does."""

    def __init__(self, outcomes: list[int | Exception], waits: int, **settings: Any) -> None:
        super().__init__(
            engine=ENGINE, amqp_url="amqp://nobody@127.0.0.1:9/", exchange="x", queue_prefix="p",
            **settings,
        )  # fmt: skip
        self.outcomes = outcomes
        self.lock_refusals = 0
        self.waits = _Waits(until=waits, then=self._stop_now)

    async def _stop_now(self) -> None:
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        await self.waits(seconds)

    async def publish_pending(self) -> int:
        outcome = self.outcomes.pop(0) if self.outcomes else 0
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _acquire_leadership(self) -> bool:
        return True

    async def _release_leadership(self) -> None:
        pass

    async def _check_leadership(self) -> None:
        pass


async def test_the_relay_retries_after_errors_with_the_policys_delays_reset_by_success() -> None:
    down = ConnectionError("broker down")
    relay = _Relay([down, down, down, 0, down, down], waits=6, retry_seconds=4.0)
    relay.retry_policy = dataclasses.replace(relay.retry_policy, seed=3)
    relay.poll_policy = dataclasses.replace(relay.poll_policy, seed=4)
    await relay.run()
    after_errors = _expected(relay.retry_policy, 3)
    first_poll = _expected(relay.poll_policy, 1)[0]
    # a publish that worked started the error waits over
    assert relay.waits.seconds == [*after_errors, first_poll, *after_errors[:2]]
    assert relay.retry_policy == RetryPolicy(0.5, 4.0, seed=3)


async def test_an_idle_relay_polls_with_the_poll_policy_reset_by_activity() -> None:
    relay = _Relay([0, 0, 0, 5, 0, 0], waits=5, min_poll_seconds=0.01, max_poll_seconds=0.5)
    relay.poll_policy = dataclasses.replace(relay.poll_policy, seed=8)
    await relay.run()
    polls = _expected(relay.poll_policy, 3)
    assert relay.waits.seconds == polls + polls[:2]


class _StandbyRelay(_Relay):
    async def _acquire_leadership(self) -> bool:
        return await Relay._acquire_leadership(self)


async def test_a_standby_relay_asks_for_the_lock_after_the_policys_delays() -> None:
    relay = _StandbyRelay([], waits=4, retry_seconds=2.0)
    relay.retry_policy = dataclasses.replace(relay.retry_policy, seed=6)

    class _TakenLock:
        async def try_acquire(self) -> bool:
            return False

        async def release(self) -> None:
            pass

    relay._lock = _TakenLock()  # type: ignore[assignment]
    await relay.run()
    assert relay.waits.seconds == _expected(relay.retry_policy, 4)
