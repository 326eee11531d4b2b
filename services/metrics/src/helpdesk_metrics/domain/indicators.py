"""The indicators beside the commitments: backlog, durations, rates, satisfaction, volumes.

The figures only: `report_fold.ReportFold` counts them, a page of tickets at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk_metrics.domain.stats import ratio

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


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of a duration, in business seconds."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


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


#: A rating of this or more (on 1 to 5) counts as a satisfied requester.
SATISFIED_FROM = 4


@dataclass(frozen=True)
class Satisfaction:
    responses: int
    average: float | None
    satisfied: Rate


@dataclass(frozen=True)
class Complaints:
    """Complaints ("plainte, réclamation"), counted apart from the desk's incidents and requests:
    received in the period, resolved in the period, and still open at the backlog's moment."""

    received: int
    resolved: int
    open: int
