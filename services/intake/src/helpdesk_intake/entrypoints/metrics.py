"""Intake's own Prometheus counters (beside the HTTP ones every service has)."""

from __future__ import annotations

from typing import Annotated

from prometheus_client import CollectorRegistry, Counter

from helpdesk_shared.http.dependencies import from_state


class IntakeMetrics:
    """Counted after the transaction commits, never on an idempotent replay."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.tickets_opened = Counter(
            "helpdesk_intake_tickets_opened_total",
            "Tickets opened, by channel and pre-qualification outcome",
            ["channel", "outcome"],
            registry=registry,
        )
        self.inbound_emails = Counter(
            "helpdesk_intake_inbound_emails_total",
            "Inbound messages, by what became of them",
            ["disposition"],
            registry=registry,
        )
        self.calls = Counter(
            "helpdesk_intake_calls_recorded_total",
            "Calls recorded from telephony, answered or abandoned",
            ["outcome"],
            registry=registry,
        )


Metrics = Annotated[IntakeMetrics, from_state("intake_metrics")]
