"""`/metrics`: the figures as Prometheus metrics, computed from the facts at scrape time.

Counters and histograms are derived from the facts rather than incremented in process, so every
replica serves the same values, a restart loses nothing and a replay gives them back. Label values
are bounded: fixed vocabularies (status, level, channel, outcome, commitment) and, for open-ended
ones (group, priority), the most frequent values with the rest as `other`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.domain.calendar import BusinessHours
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.indicators import UNSET
from helpdesk_metrics.domain.report import KpiReport, kpi_report

log = logging.getLogger(__name__)

TAKE_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 36000.0)
RESOLVE_BUCKETS = (900.0, 3600.0, 14400.0, 36000.0, 72000.0, 180000.0, 360000.0, 720000.0)
WAIT_BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
MAX_LABEL_VALUES = 20
OTHER = "other"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Snapshot:
    tickets: Sequence[TicketFacts]
    calls: Sequence[CallFacts]
    window: KpiReport
    calendar: BusinessHours
    taken_at: float
    groups: frozenset[str] = field(default_factory=frozenset)
    priorities: frozenset[str] = field(default_factory=frozenset)


class FiguresCollector(Collector):
    """Serves the last snapshot; `refresh` reads the facts again (at most every `max_age` s)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        calendar: BusinessHours,
        window: timedelta,
        recurrence_threshold: int,
        max_age: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._calendar = calendar
        self._window = window
        self._threshold = recurrence_threshold
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
        try:
            async with self._engine.connect() as conn:
                repository = FactsRepository(conn)
                tickets = await repository.tickets(now + timedelta(days=1), _EPOCH)  # counters: all
                calls = await repository.calls(_EPOCH, now + timedelta(days=1))
        except (SQLAlchemyError, OSError) as error:
            self.refresh_errors += 1
            log.warning("metrics: cannot read the facts for /metrics: %r", error)
            return
        period = Period(now - self._window, now)
        report = kpi_report(
            tickets,
            calls,
            period,
            Filters(),
            as_of=now,
            calendar=self._calendar,
            recurrence_threshold=self._threshold,
        )
        self.snapshot = Snapshot(
            tickets,
            calls,
            report,
            self._calendar,
            time.monotonic(),
            groups=_top((t.group for t in tickets if t.is_open), MAX_LABEL_VALUES),
            priorities=_top((t.priority or UNSET for t in tickets), MAX_LABEL_VALUES),
        )

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


def _top(values: Iterable[str], limit: int) -> frozenset[str]:
    return frozenset(v for v, _ in Counter(values).most_common(limit))


def _bounded(value: str | None, allowed: frozenset[str]) -> str:
    value = value or UNSET
    return value if value in allowed else OTHER


def _ticket_counters(s: Snapshot) -> Iterator[Metric]:
    opened = CounterMetricFamily(
        "helpdesk_tickets_opened",
        "Tickets opened, by channel and type",
        labels=["channel", "type"],
    )
    for (channel, type_), n in sorted(Counter((t.channel, t.type) for t in s.tickets).items()):
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
        counter.add_metric([], sum(getattr(t, attribute) for t in s.tickets))
        yield counter


def _histogram(
    name: str,
    documentation: str,
    label: str | None,
    samples: dict[str, list[float]],
    bounds: Sequence[float],
) -> Metric:
    """A histogram family from raw values; `label` None for a single unlabelled series."""
    family = HistogramMetricFamily(name, documentation, labels=[label] if label else [])
    for key, values in sorted(samples.items()):
        buckets = [(str(b), sum(1 for v in values if v <= b)) for b in bounds]
        buckets.append(("+Inf", len(values)))
        family.add_metric([key] if label else [], buckets, sum(values))
    return family


def _duration_histograms(s: Snapshot) -> Iterator[Metric]:
    take: dict[str, list[float]] = {}
    resolve: dict[str, list[float]] = {}
    for t in s.tickets:
        priority = _bounded(t.priority, s.priorities)
        if t.taken_at is not None:
            seconds = s.calendar.seconds_between(t.received_at, t.taken_at)
            take.setdefault(priority, []).append(seconds)
        if t.resolved_at is not None:
            seconds = s.calendar.seconds_between(t.received_at, t.resolved_at)
            resolve.setdefault(priority, []).append(seconds)
    yield _histogram(
        "helpdesk_ticket_take_into_account_seconds",
        "Business time from reception to the first take, by priority",
        "priority",
        take,
        TAKE_BUCKETS,
    )
    yield _histogram(
        "helpdesk_ticket_resolution_seconds",
        "Business time from reception to resolution, by priority",
        "priority",
        resolve,
        RESOLVE_BUCKETS,
    )


def _call_metrics(s: Snapshot) -> Iterator[Metric]:
    calls = CounterMetricFamily("helpdesk_calls", "Calls offered to the desk", labels=["outcome"])
    outcomes = Counter(
        "answered" if c.answered else "abandoned" if c.abandoned else "unknown" for c in s.calls
    )
    for outcome in ("answered", "abandoned", "unknown"):
        calls.add_metric([outcome], outcomes[outcome])
    yield calls
    waits = [c.wait_seconds for c in s.calls if c.answered and c.wait_seconds is not None]
    yield _histogram(
        "helpdesk_call_wait_seconds",
        "Wait before an agent answered",
        None,
        {"": waits},
        WAIT_BUCKETS,
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
    keys = Counter(
        (
            t.status.value,
            str(t.level),
            _bounded(t.group, s.groups),
            _bounded(t.priority, s.priorities),
        )
        for t in s.tickets
        if t.is_open
    )
    for key, n in sorted(keys.items()):
        backlog.add_metric(list(key), n)
    yield backlog
