"""The consumers' counts and lag on `/metrics`, labelled by consumer name.

A `Consumer` counts in plain attributes (tests read them too); `ConsumerCollector` turns them
into Prometheus families at scrape time, so the toolkit needs no registry to run and a service
with several consumers serves one family per metric. The lag is the time from the event's
recording in the store to its handling: what the relay, the broker and the queue added to it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

#: Upper bounds (seconds) of the lag histogram: from a healthy pipeline to a stalled one.
LAG_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class LagHistogram:
    """Cumulative-free bucket counts of the lags observed, with their count and sum."""

    def __init__(self, bounds: Sequence[float] = LAG_BOUNDS) -> None:
        self.bounds = tuple(bounds)
        self.buckets = [0] * len(self.bounds)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        index = bisect_left(self.bounds, seconds)
        if index < len(self.buckets):
            self.buckets[index] += 1
        self.count += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """The Prometheus buckets: cumulative counts by upper bound, `+Inf` last."""
        running, out = 0, []
        for bound, n in zip(self.bounds, self.buckets, strict=True):
            running += n
            out.append((str(bound), float(running)))
        out.append(("+Inf", float(self.count)))
        return out


class CountingConsumer(Protocol):
    """What the collector reads of a consumer (`Consumer` has it)."""

    name: str
    handled: int
    duplicates: int
    retried: int
    dead_lettered: int
    ignored: int
    lag: LagHistogram


_COUNTS = {
    "handled": "Events handled and committed with their inbox claim",
    "duplicates": "Redeliveries skipped because the inbox already held the event",
    "retried": "Failed handling attempts that were retried",
    "dead_lettered": "Messages parked in the dead-letter queue",
    "ignored": "Messages acknowledged without handling (not matching the bindings)",
}


class ConsumerCollector(Collector):
    """`helpdesk_consumer_*` families of a service's consumers."""

    def __init__(self, consumers: Iterable[CountingConsumer]) -> None:
        self._consumers = tuple(consumers)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        for attribute, documentation in _COUNTS.items():
            family = CounterMetricFamily(
                f"helpdesk_consumer_{attribute}_events", documentation, labels=["consumer"]
            )
            for consumer in self._consumers:
                family.add_metric([consumer.name], getattr(consumer, attribute))
            yield family
        lag = HistogramMetricFamily(
            "helpdesk_consumer_lag_seconds",
            "Time from an event's recording in the store to its handling",
            labels=["consumer"],
        )
        for consumer in self._consumers:
            lag.add_metric([consumer.name], consumer.lag.cumulative(), consumer.lag.total)
        yield lag


def seconds_since(moment: datetime) -> float:
    """How long ago `moment` was (a timestamp without zone is taken as UTC): an event's lag."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - aware).total_seconds()
