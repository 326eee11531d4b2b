"""The indicators beside the commitments: backlog, durations, rates, satisfaction, volumes."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from helpdesk_metrics.domain.commitments import Period
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.stats import percentile, ratio
from helpdesk_shared.calendar import BusinessCalendar

UNSET = "none"  # label for a ticket not yet given a priority or category


@dataclass(frozen=True)
class Backlog:
    """Tickets received and not closed at a moment, counted along each dimension."""

    total: int
    by_status: dict[str, int]
    by_level: dict[str, int]
    by_group: dict[str, int]
    by_priority: dict[str, int]
    by_category: dict[str, int]


def backlog(tickets: Sequence[TicketFacts], at: datetime) -> Backlog:
    """The backlog at `at`. Status is the ticket's current one (the projection keeps no history
    of statuses), which is exact when `at` is now."""
    open_ = [t for t in tickets if t.open_at(at)]

    def count(key: Callable[[TicketFacts], object]) -> dict[str, int]:
        return dict(sorted(Counter(str(key(t)) for t in open_).items()))

    return Backlog(
        total=len(open_),
        by_status=count(lambda t: t.status.value),
        by_level=count(lambda t: t.level),
        by_group=count(lambda t: t.group),
        by_priority=count(lambda t: t.priority or UNSET),
        by_category=count(lambda t: t.category or UNSET),
    )


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of a duration, in business seconds."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


def _durations(values: Sequence[float]) -> Durations:
    return Durations(len(values), percentile(values, 50), percentile(values, 90))


def time_to_take_into_account(
    tickets: Sequence[TicketFacts], period: Period, calendar: BusinessCalendar
) -> dict[str, Durations]:
    """From reception to the first `take`, for tickets taken in the period, by priority."""
    values: dict[str, list[float]] = defaultdict(list)
    for t in tickets:
        if t.taken_at is not None and period.contains(t.taken_at):
            values[t.priority or UNSET].append(calendar.seconds_between(t.received_at, t.taken_at))
    return {p: _durations(v) for p, v in sorted(values.items())}


def time_to_resolve(
    tickets: Sequence[TicketFacts], period: Period, calendar: BusinessCalendar
) -> dict[str, Durations]:
    """From reception to the (last) resolution, for tickets resolved in the period, by priority."""
    values: dict[str, list[float]] = defaultdict(list)
    for t in tickets:
        if t.resolved_at is not None and period.contains(t.resolved_at):
            values[t.priority or UNSET].append(
                calendar.seconds_between(t.received_at, t.resolved_at)
            )
    return {p: _durations(v) for p, v in sorted(values.items())}


@dataclass(frozen=True)
class Rate:
    count: int
    total: int

    @property
    def value(self) -> float | None:
        return ratio(self.count, self.total)


@dataclass(frozen=True)
class Rates:
    """Shares of the tickets received in the period (reopen: of those resolved at least once)."""

    escalation: Rate
    routing: Rate
    reopen: Rate
    sla_compliance: Rate
    sla_breaches: int


def rates(tickets: Sequence[TicketFacts], period: Period) -> Rates:
    received = [t for t in tickets if period.contains(t.received_at)]
    resolved_once = [t for t in received if t.first_resolved_at is not None]
    return Rates(
        escalation=Rate(sum(1 for t in received if t.escalations), len(received)),
        routing=Rate(sum(1 for t in received if t.routings), len(received)),
        reopen=Rate(sum(1 for t in resolved_once if t.reopenings), len(resolved_once)),
        sla_compliance=Rate(sum(1 for t in received if not t.sla_breaches), len(received)),
        sla_breaches=sum(t.sla_breaches for t in received),
    )


#: A rating of this or more (on 1 to 5) counts as a satisfied requester.
SATISFIED_FROM = 4


@dataclass(frozen=True)
class Satisfaction:
    responses: int
    average: float | None
    satisfied: Rate


def satisfaction(tickets: Sequence[TicketFacts], period: Period) -> Satisfaction:
    """Ratings (1 to 5) of the tickets resolved in the period."""
    ratings = [
        t.rating
        for t in tickets
        if t.rating is not None and period.contains(t.first_resolved_at or t.closed_at)
    ]
    average = sum(ratings) / len(ratings) if ratings else None
    happy = sum(1 for r in ratings if r >= SATISFIED_FROM)
    return Satisfaction(len(ratings), average, Rate(happy, len(ratings)))


def opened_per_day(
    tickets: Sequence[TicketFacts], period: Period, calendar: BusinessCalendar
) -> dict[date, dict[str, int]]:
    """Tickets received per calendar day (the desk's time zone) and channel."""
    days: dict[date, Counter[str]] = defaultdict(Counter)
    for t in tickets:
        if period.contains(t.received_at):
            days[calendar.local_date(t.received_at)][t.channel] += 1
    return {day: dict(sorted(days[day].items())) for day in sorted(days)}


@dataclass(frozen=True)
class Complaints:
    """Complaints ("plainte, réclamation"), counted apart from the desk's incidents and requests:
    received in the period, resolved in the period, and still open at the backlog's moment."""

    received: int
    resolved: int
    open: int


def complaints(tickets: Sequence[TicketFacts], period: Period, at: datetime) -> Complaints:
    mine = [t for t in tickets if t.is_complaint]
    return Complaints(
        received=sum(1 for t in mine if period.contains(t.received_at)),
        resolved=sum(1 for t in mine if period.contains(t.resolved_at)),
        open=sum(1 for t in mine if t.open_at(at)),
    )
