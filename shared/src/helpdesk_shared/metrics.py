"""Where every Prometheus registry of the system is made, and the one naming rule of its metrics.

Each service (and the relay) keeps a registry of its own, so that tests can build several apps
in one process. A bare `CollectorRegistry` holds none of the default collectors the global one
has: `new_registry` adds them, so every `/metrics` also serves the process' CPU, memory and file
descriptors (`process_*`) and the interpreter's garbage collector and version (`python_*`).

Every other metric is named `helpdesk_<part>_...`: `helpdesk_http_*` (every service's requests),
`helpdesk_consumer_*` (the consumer toolkit, labelled by consumer), `helpdesk_relay_*`,
`helpdesk_eventstore_*` and `helpdesk_postgres_*` (how far the log's readers are held back, by
what transaction: `eventstore.visibility`),
`helpdesk_intake_*`, `helpdesk_notify_*`, and the figures the metrics service derives from its
projection (`helpdesk_ticket_*`, `helpdesk_commitment_*`, `helpdesk_backlog_*`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: The prefix of every metric the system defines itself.
PREFIX = "helpdesk_"
#: A name of ours: the prefix, then lower-case words joined by underscores.
NAME = re.compile(r"^helpdesk_[a-z][a-z0-9]*(_[a-z0-9]+)*$")
#: Names of the runtime collectors `new_registry` adds, outside the convention.
RUNTIME_PREFIXES = ("process_", "python_")


class BoundedCache(Protocol):
    """What the state-cache collector reads: how many entries, and the most there may be."""

    @property
    def size(self) -> int: ...

    def __len__(self) -> int: ...


def new_registry() -> CollectorRegistry:
    """A registry of its own with the process, platform and garbage-collector collectors."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def follows_convention(name: str) -> bool:
    """Whether a metric name (a family's, as exposed) is ours by the rule, or a runtime one."""
    return name.startswith(RUNTIME_PREFIXES) or NAME.match(name) is not None


class StateCacheCollector(Collector):
    """`helpdesk_state_cache_entries` and `_capacity`, labelled by aggregate type.

    Read at scrape time from the aggregate services' state caches: an operator (and the soak)
    sees the count level off at the configured size instead of growing with the tickets.
    """

    def __init__(self, caches: Mapping[str, BoundedCache]) -> None:
        self._caches = dict(caches)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        entries = GaugeMetricFamily(
            "helpdesk_state_cache_entries", "Aggregate states held in memory", labels=["aggregate"]
        )
        capacity = GaugeMetricFamily(
            "helpdesk_state_cache_capacity",
            "Most aggregate states held in memory (the configured size)",
            labels=["aggregate"],
        )
        for aggregate, cache in self._caches.items():
            entries.add_metric([aggregate], len(cache))
            capacity.add_metric([aggregate], cache.size)
        yield entries
        yield capacity
