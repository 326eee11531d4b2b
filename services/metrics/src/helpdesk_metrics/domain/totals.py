"""All-time totals of every ticket and call projected: what `/metrics` exposes.

Prometheus counters and histograms only grow, so they are counted over every fact ever kept, not
over a period. The database aggregates them (`adapters.queries.totals`) from the facts' columns,
the business durations included (folded with the desk's calendar), so a scrape reads a few
hundred numbers whatever the number of tickets; `totals_of` is the same computation over facts in
memory, the reference the database's aggregation is tested against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import TicketFacts, business_durations
from helpdesk_metrics.domain.indicators import UNSET
from helpdesk_shared.calendar import BusinessCalendar

TAKE_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 36000.0)
RESOLVE_BUCKETS = (900.0, 3600.0, 14400.0, 36000.0, 72000.0, 180000.0, 360000.0, 720000.0)
WAIT_BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
OTHER = "other"

#: (status, level, group, priority) of a ticket in the backlog.
BacklogKey = tuple[str, int, str, str]


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts (values <= each bound), their count and their sum."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int = 0
    total: float = 0.0

    @classmethod
    def of(cls, bounds: tuple[float, ...], values: Iterable[float]) -> Histogram:
        kept = list(values)
        buckets = tuple(sum(1 for v in kept if v <= b) for b in bounds)
        return cls(bounds, buckets, len(kept), float(sum(kept)))

    def __add__(self, other: Histogram) -> Histogram:
        merged = tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True))
        return Histogram(self.bounds, merged, self.count + other.count, self.total + other.total)


@dataclass(frozen=True)
class Totals:
    opened: Mapping[tuple[str, str], int]  # (channel, type) -> tickets
    escalations: int
    routings: int
    reopenings: int
    sla_breaches: int
    by_priority: Mapping[str, int]  # every ticket, to choose the priorities worth a label
    take: Mapping[str, Histogram]  # priority -> business seconds to the first take
    resolve: Mapping[str, Histogram]  # priority -> business seconds to the resolution
    backlog: Mapping[BacklogKey, int]
    calls: Mapping[str, int]  # "answered", "abandoned", "unknown" -> calls
    waits: Histogram  # seconds answered calls waited


def timed(facts: TicketFacts, calendar: BusinessCalendar) -> TicketFacts:
    """The facts with their business durations set (as folding with a calendar does)."""
    moments = {name: getattr(facts, name) for name in ("received_at", "taken_at", "resolved_at")}
    return replace(facts, **business_durations(moments, calendar))


def totals_of(tickets: Sequence[TicketFacts], calls: Sequence[CallFacts]) -> Totals:
    """The totals of timed facts in memory (the reference for the database's aggregation)."""

    def histograms(
        bounds: tuple[float, ...], value: Callable[[TicketFacts], float | None]
    ) -> dict[str, Histogram]:
        values: dict[str, list[float]] = {}
        for t in tickets:
            if (v := value(t)) is not None:
                values.setdefault(t.priority or UNSET, []).append(v)
        return {p: Histogram.of(bounds, vs) for p, vs in values.items()}

    return Totals(
        opened=Counter((t.channel, t.type) for t in tickets),
        escalations=sum(t.escalations for t in tickets),
        routings=sum(t.routings for t in tickets),
        reopenings=sum(t.reopenings for t in tickets),
        sla_breaches=sum(t.sla_breaches for t in tickets),
        by_priority=Counter(t.priority or UNSET for t in tickets),
        take=histograms(TAKE_BUCKETS, lambda t: t.take_business_seconds),
        resolve=histograms(RESOLVE_BUCKETS, lambda t: t.resolve_business_seconds),
        backlog=Counter(
            (t.status.value, t.level, t.group, t.priority or UNSET) for t in tickets if t.is_open
        ),
        calls=Counter(_outcome(c) for c in calls),
        waits=Histogram.of(
            WAIT_BUCKETS,
            (c.wait_seconds for c in calls if c.answered and c.wait_seconds is not None),
        ),
    )


def _outcome(call: CallFacts) -> str:
    return "answered" if call.answered else "abandoned" if call.abandoned else "unknown"


def bounded(totals: Totals, limit: int) -> Totals:
    """The totals with at most `limit` groups and priorities as labels, the rest as "other".

    Label values come from the desk's own data; bounding them keeps the number of series small
    whatever is configured. The most frequent ones keep their name.
    """
    priorities = _top(totals.by_priority, limit)
    open_by_group: Counter[str] = Counter()
    for (_, _, group, _), n in totals.backlog.items():
        open_by_group[group] += n
    groups = _top(open_by_group, limit)
    backlog: Counter[BacklogKey] = Counter()
    for (status, level, group, priority), n in totals.backlog.items():
        backlog[(status, level, _label(group, groups), _label(priority, priorities))] += n
    return replace(
        totals,
        take=_merge(totals.take, priorities),
        resolve=_merge(totals.resolve, priorities),
        backlog=backlog,
    )


def _top(counts: Mapping[str, int], limit: int) -> frozenset[str]:
    return frozenset(v for v, _ in Counter(counts).most_common(limit))


def _label(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


def _merge(histograms: Mapping[str, Histogram], allowed: frozenset[str]) -> dict[str, Histogram]:
    merged: dict[str, Histogram] = {}
    for key, histogram in histograms.items():
        label = _label(key, allowed)
        merged[label] = merged[label] + histogram if label in merged else histogram
    return merged
