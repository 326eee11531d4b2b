"""The one retry policy: exponential, capped, jittered waits; and `retrying` around a call."""

from __future__ import annotations

import itertools
import statistics

import pytest

from helpdesk_shared.eventstore.subscription import ERROR_BACKOFF, IDLE_BACKOFF
from helpdesk_shared.retry import RetryPolicy, retrying


def test_ceilings_grow_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial=0.005, maximum=0.25)
    ceilings = [policy.ceiling(n) for n in range(9)]
    assert ceilings == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25]
    assert RetryPolicy(initial=1.0, maximum=100.0, multiplier=3.0).ceiling(3) == 27.0


def test_without_jitter_the_delays_are_the_ceilings() -> None:
    policy = RetryPolicy(initial=0.1, maximum=1.0, jitter=0.0)
    assert list(itertools.islice(policy.delays(), 6)) == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_delays_never_pass_the_cap_even_after_countless_retries() -> None:
    policy = RetryPolicy(initial=0.1, maximum=30.0, seed=3)
    delays = list(itertools.islice(policy.delays(), 10_000))
    assert all(0 < delay <= 30.0 for delay in delays)
    assert policy.ceiling(10**9) == 30.0


def test_each_delay_is_drawn_below_its_exponential_ceiling() -> None:
    policy = RetryPolicy(initial=0.1, maximum=1000.0, seed=11)
    delays = list(itertools.islice(policy.delays(), 10))
    for retry, delay in enumerate(delays):
        assert 0 < delay <= 0.1 * 2**retry
    # growing on the whole: the later half waits far longer than the first half
    assert sum(delays[5:]) > 4 * sum(delays[:5])


def test_half_jitter_keeps_the_upper_half_of_each_ceiling() -> None:
    policy = RetryPolicy(initial=0.005, maximum=0.25, jitter=0.5, seed=5)
    for retry, delay in enumerate(itertools.islice(policy.delays(), 50)):
        assert policy.ceiling(retry) / 2 <= delay <= policy.ceiling(retry)


def test_policies_with_other_seeds_wait_differently() -> None:
    first = list(itertools.islice(RetryPolicy(0.5, 10.0, seed=1).delays(), 5))
    second = list(itertools.islice(RetryPolicy(0.5, 10.0, seed=2).delays(), 5))
    assert first != second
    assert first == list(itertools.islice(RetryPolicy(0.5, 10.0, seed=1).delays(), 5))


def test_ten_replicas_do_not_reconnect_in_step() -> None:
    """Ten replicas that lost the broker together: their first waits are spread, not equal."""
    policy = RetryPolicy(initial=0.5, maximum=10.0)  # unseeded, as in production
    first_waits = [next(policy.delays()) for _ in range(10)]
    assert len(set(first_waits)) == 10
    assert all(0 < wait <= 0.5 for wait in first_waits)
    assert statistics.pstdev(first_waits) > 0.01


def test_max_attempts_bounds_the_waits() -> None:
    assert len(list(RetryPolicy(0.1, 1.0, max_attempts=5).delays())) == 4
    assert list(RetryPolicy(0.1, 1.0, max_attempts=1).delays()) == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"initial": 0.0, "maximum": 1.0},
        {"initial": 2.0, "maximum": 1.0},
        {"initial": 0.1, "maximum": 1.0, "multiplier": 0.5},
        {"initial": 0.1, "maximum": 1.0, "jitter": 1.5},
        {"initial": 0.1, "maximum": 1.0, "max_attempts": 0},
    ],
)
def test_nonsense_policies_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


def test_idle_subscriptions_poll_promptly_but_not_in_a_tight_loop() -> None:
    assert IDLE_BACKOFF.ceiling(0) >= 0.001
    assert IDLE_BACKOFF.ceiling(1_000) <= 0.25
    assert ERROR_BACKOFF.ceiling(0) >= IDLE_BACKOFF.ceiling(0)


class _Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"down ({self.calls})")
        return "up"


async def test_retrying_waits_the_policys_delays_until_the_call_works() -> None:
    policy = RetryPolicy(initial=0.5, maximum=2.0, seed=9)
    waits: list[float] = []
    heard: list[str] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def before_wait(error: BaseException, delay: float) -> None:
        heard.append(str(error))

    flaky = _Flaky(failures=4)
    answer = await retrying(
        flaky, policy, on=(ConnectionError,), before_wait=before_wait, sleep=sleep
    )
    assert answer == "up"
    assert waits == list(itertools.islice(policy.delays(), 4))
    assert heard == ["down (1)", "down (2)", "down (3)", "down (4)"]


async def test_retrying_raises_the_last_error_once_the_attempts_are_spent() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    flaky = _Flaky(failures=10)
    with pytest.raises(ConnectionError, match=r"down \(3\)"):
        await retrying(flaky, RetryPolicy(0.1, 1.0, max_attempts=3), on=(OSError,), sleep=sleep)
    assert flaky.calls == 3
    assert len(waits) == 2


async def test_retrying_does_not_retry_other_errors() -> None:
    async def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await retrying(broken, RetryPolicy(0.1, 1.0), on=(OSError,))
