"""The metrics service's settings (environment variables, local defaults)."""

from __future__ import annotations

from pydantic import Field

from helpdesk_metrics.domain.commitments import AnswerDenominator, CommitmentRules
from helpdesk_shared.settings import CalendarSettings


class Settings(CalendarSettings):
    """Environment variables of the metrics service (documented in the README).

    Durations and the 30-minute commitment count business time on the desk's one calendar
    (`CalendarSettings`, the `HELPDESK_*` variables the ticket service reads too: the same
    working hours, public holidays and on-call periods as the SLA clock; the older
    `METRICS_TIMEZONE`, `METRICS_OPENS`, `METRICS_CLOSES`, `METRICS_WORKDAYS` still work).
    """

    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8004
    #: Consume the events (off only for tests that feed the projection themselves).
    metrics_consumer_enabled: bool = True
    #: Deliveries handled per transaction (one inbox claim, one commit, one ack for the lot);
    #: 1 handles each delivery in a transaction of its own.
    metrics_consumer_batch_size: int = Field(default=100, ge=1, le=1000)
    #: Deliveries the broker sends ahead (at least twice the batch size is used).
    metrics_consumer_prefetch: int = Field(default=256, ge=1, le=5000)
    #: The rolling window of the commitment gauges on `/metrics` (the KPI API takes any period).
    metrics_window_days: int = 30
    #: How many incidents of the same category on one asset or department make a problem candidate.
    metrics_recurrence_threshold: int = 3
    #: The denominator of "answered within 30 s": `answered_and_abandoned_after_30s` (calls
    #: answered plus calls abandoned after waiting more than 30 s) or `answered` (calls answered
    #: only). See `docs/commitments.md`.
    metrics_calls_answered_denominator: AnswerDenominator = (
        AnswerDenominator.ANSWERED_AND_ABANDONED_AFTER_30S
    )
    #: Seconds a computed `/metrics` snapshot is reused before the facts are read again.
    metrics_scrape_cache_seconds: float = 5.0

    def commitment_rules(self) -> CommitmentRules:
        return CommitmentRules(answer_denominator=self.metrics_calls_answered_denominator)
