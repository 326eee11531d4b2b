"""The consumers' counts and lag as Prometheus families, one series per consumer."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest

from helpdesk_shared.messaging.consumer_metrics import ConsumerCollector, LagHistogram


@dataclass
class _Counts:
    name: str
    handled: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0
    ignored: int = 0
    lag: LagHistogram = field(default_factory=LagHistogram)


def test_lag_buckets_are_cumulative_with_inf_last() -> None:
    lag = LagHistogram(bounds=(1.0, 10.0))
    for seconds in (0.5, 1.0, 3.0, 120.0, -2.0):  # a clock skew counts as no lag
        lag.observe(seconds)
    assert lag.cumulative() == [("1.0", 3.0), ("10.0", 4.0), ("+Inf", 5.0)]
    assert lag.total == 124.5


def test_each_consumer_is_a_series_of_each_family() -> None:
    notify = _Counts("notify", handled=7, duplicates=2, retried=3, dead_lettered=1)
    notify.lag.observe(0.2)
    metrics = _Counts("metrics", handled=4)
    registry = CollectorRegistry()
    registry.register(ConsumerCollector([notify, metrics]))
    text = generate_latest(registry).decode()

    assert 'helpdesk_consumer_handled_events_total{consumer="notify"} 7.0' in text
    assert 'helpdesk_consumer_handled_events_total{consumer="metrics"} 4.0' in text
    assert 'helpdesk_consumer_duplicates_events_total{consumer="notify"} 2.0' in text
    assert 'helpdesk_consumer_retried_events_total{consumer="notify"} 3.0' in text
    assert 'helpdesk_consumer_dead_lettered_events_total{consumer="notify"} 1.0' in text
    assert 'helpdesk_consumer_lag_seconds_bucket{consumer="notify",le="0.25"} 1.0' in text
    assert 'helpdesk_consumer_lag_seconds_bucket{consumer="notify",le="0.1"} 0.0' in text
    assert 'helpdesk_consumer_lag_seconds_count{consumer="metrics"} 0.0' in text
