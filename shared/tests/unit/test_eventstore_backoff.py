"""The waits of an idle or failing subscription: doubling, capped, never a tight loop."""

from helpdesk_shared.eventstore.subscription import ERROR_BACKOFF, IDLE_BACKOFF, Backoff


def test_delays_double_up_to_the_maximum() -> None:
    backoff = Backoff(initial=0.005, maximum=0.25)
    delays = [backoff.delay(n) for n in range(9)]
    assert delays == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25]


def test_huge_attempt_counts_stay_at_the_maximum() -> None:
    assert Backoff(initial=0.1, maximum=30.0).delay(10_000) == 30.0


def test_idle_subscriptions_poll_promptly_but_not_in_a_tight_loop() -> None:
    assert IDLE_BACKOFF.delay(0) >= 0.001
    assert IDLE_BACKOFF.delay(1_000) <= 0.25
    assert ERROR_BACKOFF.delay(0) >= IDLE_BACKOFF.delay(0)
