"""Token buckets: a burst passes, the next waits for its token, callers are independent."""

from __future__ import annotations

import pytest

from helpdesk_shared.http.rate_limit import Rate, TokenBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_caller_waits_for_the_refill() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=60, burst=3), clock=clock)
    assert [buckets.take("alice") for _ in range(3)] == [None, None, None]
    assert buckets.take("alice") == pytest.approx(1.0)
    clock.now += 0.5
    assert buckets.take("alice") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("alice") is None


def test_callers_have_buckets_of_their_own() -> None:
    buckets = TokenBuckets(Rate(per_minute=6, burst=1), clock=FakeClock())
    assert buckets.take("alice") is None
    assert buckets.take("alice") == pytest.approx(10.0)
    assert buckets.take("bob") is None


def test_the_bucket_never_holds_more_than_the_burst() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=60, burst=2), clock=clock)
    buckets.take("alice")
    clock.now += 3600
    assert [buckets.take("alice") is None for _ in range(3)] == [True, True, False]


def test_zero_per_minute_means_no_limit() -> None:
    buckets = TokenBuckets(Rate(per_minute=0, burst=1), clock=FakeClock())
    assert all(buckets.take("alice") is None for _ in range(1000))


def test_memory_is_bounded_oldest_callers_forgotten_first() -> None:
    buckets = TokenBuckets(Rate(per_minute=1, burst=1), clock=FakeClock(), max_keys=2)
    for key in ("a", "b", "c"):
        assert buckets.take(key) is None
    assert buckets.take("a") is None  # forgotten, so a full bucket again
    assert buckets.take("c") is not None
