"""The metrics service's settings (environment variables, local defaults)."""

from __future__ import annotations

from datetime import time

from helpdesk_metrics.domain.calendar import BusinessHours
from helpdesk_shared.settings import CommonSettings


class Settings(CommonSettings):
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8004
    #: Consume the events (off only for tests that feed the projection themselves).
    metrics_consumer_enabled: bool = True
    #: The rolling window of the commitment gauges on `/metrics` (the KPI API takes any period).
    metrics_window_days: int = 30
    #: How many incidents of the same category on one asset or department make a problem candidate.
    metrics_recurrence_threshold: int = 3
    #: The desk's opening hours, in which durations and the 30-minute commitment are counted.
    metrics_timezone: str = "Europe/Paris"
    metrics_opens: time = time(8, 0)
    metrics_closes: time = time(18, 0)
    #: ISO weekdays the desk works, e.g. "1,2,3,4,5"; empty means always open (24/7).
    metrics_workdays: str = "1,2,3,4,5"
    #: Seconds a computed `/metrics` snapshot is reused before the facts are read again.
    metrics_scrape_cache_seconds: float = 5.0

    def business_hours(self) -> BusinessHours:
        days = frozenset(int(d) for d in self.metrics_workdays.split(",") if d.strip())
        if not days:
            return BusinessHours.always_open()
        return BusinessHours(
            timezone=self.metrics_timezone,
            opens=self.metrics_opens,
            closes=self.metrics_closes,
            workdays=days,
        )
