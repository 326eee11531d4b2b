"""`/metrics`' figures: a Prometheus collector reading the facts in PostgreSQL.

The bootstrap registers it with the service's registry; `entrypoints/prometheus.py` has a scrape
refresh it first.

Counters and histograms are derived from the facts rather than incremented in process, so every
replica serves the same values, a restart loses nothing and a replay gives them back. They are
all-time totals, aggregated by the database (`totals.py`); the commitment gauges cover the
rolling window, from the tickets that can matter for it, folded a page at a time (`kpis`).
Label values are bounded: fixed vocabularies (status, level, channel, outcome, commitment)
and, for open-ended ones (group, priority), the most frequent values with the rest as `other`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.adapters.queries.facts import FactsQueries
from helpdesk_metrics.adapters.queries.totals import read_totals
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.commitments import DEFAULT_RULES, CommitmentRules, Filters, Period
from helpdesk_metrics.domain.report import KpiReport
from helpdesk_metrics.domain.totals import Histogram, Totals, bounded
from helpdesk_shared.calendar import BusinessCalendar

log = logging.getLogger(__name__)

MAX_LABEL_VALUES = 20


@dataclass(frozen=True)
class Snapshot:
    totals: Totals
    window: KpiReport
    taken_at: float


class FiguresCollector(Collector):
    """Serves the last snapshot; `refresh` reads the facts again (at most every `max_age` s)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        calendar: BusinessCalendar,
        window: timedelta,
        recurrence_threshold: int,
        rules: CommitmentRules = DEFAULT_RULES,
        max_age: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._calendar = calendar
        self._window = window
        self._threshold = recurrence_threshold
        self._rules = rules
        self._max_age = max_age
        self._clock = clock
        self.snapshot: Snapshot | None = None
        self.refresh_errors = 0

    async def refresh(self, force: bool = False) -> None:
        """Read the facts again unless the snapshot is fresh; keep the old one if that fails."""
        if (
            not force
            and self.snapshot
            and time.monotonic() - self.snapshot.taken_at < self._max_age
        ):
            return
        now = self._clock()
        period = Period(now - self._window, now)
        try:
            async with self._engine.connect() as conn:
                totals = await read_totals(conn)
                report = await kpis(
                    FactsQueries(conn),
                    period,
                    Filters(),
                    as_of=now,
                    calendar=self._calendar,
                    recurrence_threshold=self._threshold,
                    rules=self._rules,
                    received_before=now + timedelta(days=1),
                    calls_before=now + timedelta(days=1),
                )
        except (SQLAlchemyError, OSError) as error:
            self.refresh_errors += 1
            log.warning("metrics: cannot read the facts for /metrics: %r", error)
            return
        self.snapshot = Snapshot(bounded(totals, MAX_LABEL_VALUES), report, time.monotonic())

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            "helpdesk_metrics_refresh_errors", "Failed reads of the facts for /metrics"
        )
        errors.add_metric([], self.refresh_errors)
        yield errors
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield from _ticket_counters(snapshot)
        yield from _duration_histograms(snapshot)
        yield from _call_metrics(snapshot)
        yield from _commitment_gauges(snapshot)
        yield from _backlog_gauges(snapshot)


def _ticket_counters(s: Snapshot) -> Iterator[Metric]:
    opened = CounterMetricFamily(
        "helpdesk_tickets_opened",
        "Tickets opened, by channel and type",
        labels=["channel", "type"],
    )
    for (channel, type_), n in sorted(s.totals.opened.items()):
        opened.add_metric([channel, type_], n)
    yield opened
    totals = {
        "helpdesk_ticket_escalations": ("Escalations (vertical hand-overs)", "escalations"),
        "helpdesk_ticket_routings": ("Routings (horizontal hand-overs)", "routings"),
        "helpdesk_ticket_reopenings": ("Tickets reopened after a resolution", "reopenings"),
        "helpdesk_sla_breaches": ("SLA deadlines missed", "sla_breaches"),
    }
    for name, (documentation, attribute) in totals.items():
        counter = CounterMetricFamily(name, documentation)
        counter.add_metric([], getattr(s.totals, attribute))
        yield counter


def _histogram(
    name: str, documentation: str, label: str | None, series: dict[str, Histogram]
) -> Metric:
    """A histogram family; `label` None for a single unlabelled series (key "")."""
    family = HistogramMetricFamily(name, documentation, labels=[label] if label else [])
    for key, histogram in sorted(series.items()):
        buckets = [(str(b), c) for b, c in zip(histogram.bounds, histogram.buckets, strict=True)]
        buckets.append(("+Inf", histogram.count))
        family.add_metric([key] if label else [], buckets, histogram.total)
    return family


def _duration_histograms(s: Snapshot) -> Iterator[Metric]:
    yield _histogram(
        "helpdesk_ticket_take_into_account_seconds",
        "Business time from reception to the first take, by priority",
        "priority",
        dict(s.totals.take),
    )
    yield _histogram(
        "helpdesk_ticket_resolution_seconds",
        "Business time from reception to resolution, by priority",
        "priority",
        dict(s.totals.resolve),
    )


def _call_metrics(s: Snapshot) -> Iterator[Metric]:
    calls = CounterMetricFamily("helpdesk_calls", "Calls offered to the desk", labels=["outcome"])
    for outcome in ("answered", "abandoned", "unknown"):
        calls.add_metric([outcome], s.totals.calls.get(outcome, 0))
    yield calls
    yield _histogram(
        "helpdesk_call_wait_seconds", "Wait before an agent answered", None, {"": s.totals.waits}
    )


def _commitment_gauges(s: Snapshot) -> Iterator[Metric]:
    labels = ["commitment"]
    value = GaugeMetricFamily(
        "helpdesk_commitment_ratio", "Commitment value over the rolling window", labels=labels
    )
    target = GaugeMetricFamily(
        "helpdesk_commitment_target_ratio", "Commitment target", labels=labels
    )
    met = GaugeMetricFamily(
        "helpdesk_commitment_met", "1 when the commitment is met", labels=labels
    )
    for c in s.window.commitments:
        target.add_metric([c.name], c.target)
        if c.value is not None:
            value.add_metric([c.name], c.value)
            met.add_metric([c.name], 1.0 if c.met else 0.0)
    yield from (value, target, met)
    candidates = GaugeMetricFamily(
        "helpdesk_problem_candidates", "Recurring incident groups over the rolling window"
    )
    candidates.add_metric([], len(s.window.problem_candidates))
    yield candidates


def _backlog_gauges(s: Snapshot) -> Iterator[Metric]:
    backlog = GaugeMetricFamily(
        "helpdesk_backlog_tickets",
        "Tickets not closed, by status, level, group and priority",
        labels=["status", "level", "group", "priority"],
    )
    for (status, level, group, priority), n in sorted(s.totals.backlog.items()):
        backlog.add_metric([status, str(level), group, priority], n)
    yield backlog
