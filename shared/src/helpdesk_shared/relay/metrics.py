"""Prometheus metrics of the relay (served by `helpdesk-relay` when a metrics port is set)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from helpdesk_shared.metrics import new_registry


class RelayMetrics:
    """Counters the relay updates; a registry of its own so that several relays can coexist."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or new_registry()
        self.published = Counter(
            "helpdesk_relay_published_events",
            "Events published to the exchange and confirmed by the broker.",
            registry=self.registry,
        )
        self.last_position = Gauge(
            "helpdesk_relay_last_global_position",
            "Global position of the last event whose publication was confirmed.",
            registry=self.registry,
        )
        self.lag_seconds = Gauge(
            "helpdesk_relay_lag_seconds",
            "Age of the last event confirmed when it was confirmed; 0 once caught up.",
            registry=self.registry,
        )
        self.events_behind = Gauge(
            "helpdesk_relay_events_behind",
            "Events stored but not yet confirmed by the broker (counted up to 100000).",
            registry=self.registry,
        )
        self.oldest_unpublished_age = Gauge(
            "helpdesk_relay_oldest_unpublished_age_seconds",
            "Age of the oldest event stored but not yet confirmed by the broker; 0 when none.",
            registry=self.registry,
        )
        self.active = Gauge(
            "helpdesk_relay_active",
            "1 while this relay holds the advisory lock and publishes, else 0.",
            registry=self.registry,
        )
