"""Every figure of `GET /v1/kpis` for the tickets of a period, folded one page at a time in
memory that does not grow with the period.

This is the one place the rule of each ticket figure is written (the call commitments are
`call_abandonment` and `calls_answered_within_30s`, which it calls). Holding every ticket of the
period at once cost about 1.7 KiB a ticket in Python, so a report's peak (and the process's RSS,
which keeps its high-water mark) grew with the desk; `ReportFold` keeps counters instead, plus
the business durations behind the percentiles (8 bytes each, in an `array`). The recurring
incidents are grouped where the rows are (`FactsReader`) and handed in at the end.
`kpi_report` is the same fold over one page of every ticket, for callers that hold them all.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import (
    DEFAULT_RULES,
    MAIL_AND_WEB,
    TAKE_INTO_ACCOUNT_SECONDS,
    Commitment,
    CommitmentRules,
    Comparison,
    Filters,
    Period,
    call_abandonment,
    calls_answered_within_30s,
)
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.indicators import (
    SATISFIED_FROM,
    UNSET,
    Backlog,
    Complaints,
    Durations,
    Rate,
    Rates,
    Satisfaction,
)
from helpdesk_metrics.domain.recurring import (
    DEFAULT_THRESHOLD,
    ProblemCandidate,
    recurring_incidents,
)
from helpdesk_metrics.domain.report import KpiReport
from helpdesk_metrics.domain.stats import percentile, ratio
from helpdesk_shared.calendar import BusinessCalendar

#: The backlog's dimensions, each counted on the ticket's text for it.
_BACKLOG_DIMENSIONS = ("status", "level", "group", "priority", "category")


@dataclass(slots=True)
class ReportFold:
    """The running figures of one report; `add` a page of tickets, then `report` once.

    Mutable on purpose: it is private to the report being computed, and a fresh object per page
    would only add to the garbage a report leaves.
    """

    period: Period
    filters: Filters
    as_of: datetime
    calendar: BusinessCalendar
    backlog_at: datetime = field(init=False)
    backlog: dict[str, Counter[str]] = field(init=False)
    backlog_total: int = 0
    take: dict[str, array[float]] = field(default_factory=lambda: defaultdict(_seconds))
    resolve: dict[str, array[float]] = field(default_factory=lambda: defaultdict(_seconds))
    #: received, escalated, routed, resolved once, reopened, without breach, breaches
    rates: Counter[str] = field(default_factory=Counter)
    ratings: Counter[str] = field(default_factory=Counter)  # responses, sum, satisfied
    days: dict[date, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    complaints: Counter[str] = field(default_factory=Counter)  # received, resolved, open
    mail_web: Counter[str] = field(default_factory=Counter)  # met, measured
    single_desk: Counter[str] = field(default_factory=Counter)  # by desk, resolved

    def __post_init__(self) -> None:
        self.backlog_at = self.period.backlog_at(self.as_of)
        self.backlog = {name: Counter() for name in _BACKLOG_DIMENSIONS}

    def add(self, tickets: Iterable[TicketFacts]) -> None:
        """Fold a page of tickets (those `filters` leaves out are skipped)."""
        for t in tickets:
            if self.filters.keeps(t):
                self._backlog(t)
                self._durations(t)
                self._rates(t)
                self._satisfaction(t)
                self._commitments(t)
                if t.is_complaint:
                    self._complaint(t)

    def _backlog(self, t: TicketFacts) -> None:
        """Tickets received and not closed at the backlog's moment. Status is the ticket's
        current one (the projection keeps no history of statuses), exact when that is now."""
        if t.open_at(self.backlog_at):
            self.backlog_total += 1
            counts = self.backlog
            counts["status"][str(t.status.value)] += 1
            counts["level"][str(t.level)] += 1
            counts["group"][str(t.group)] += 1
            counts["priority"][str(t.priority or UNSET)] += 1
            counts["category"][str(t.category or UNSET)] += 1

    def _durations(self, t: TicketFacts) -> None:
        """Business seconds from reception to the first `take` (tickets taken in the period) and
        to the last resolution (tickets resolved in the period), by priority."""
        seconds = self.calendar.seconds_between
        if t.taken_at is not None and self.period.contains(t.taken_at):
            self.take[t.priority or UNSET].append(seconds(t.received_at, t.taken_at))
        if t.resolved_at is not None and self.period.contains(t.resolved_at):
            self.resolve[t.priority or UNSET].append(seconds(t.received_at, t.resolved_at))

    def _rates(self, t: TicketFacts) -> None:
        """Shares of the tickets received in the period (reopened: of those resolved at least
        once), and the tickets received per day (the desk's time zone) and channel."""
        if not self.period.contains(t.received_at):
            return
        self.days[self.calendar.local_date(t.received_at)][t.channel] += 1
        r = self.rates
        r["received"] += 1
        r["escalated"] += bool(t.escalations)
        r["routed"] += bool(t.routings)
        r["resolved_once"] += t.first_resolved_at is not None
        r["reopened"] += t.first_resolved_at is not None and bool(t.reopenings)
        r["without_breach"] += not t.sla_breaches
        r["breaches"] += t.sla_breaches

    def _satisfaction(self, t: TicketFacts) -> None:
        """Ratings (1 to 5) of the tickets (first) resolved in the period."""
        if t.rating is not None and self.period.contains(t.first_resolved_at or t.closed_at):
            self.ratings["responses"] += 1
            self.ratings["sum"] += t.rating
            self.ratings["satisfied"] += t.rating >= SATISFIED_FROM

    def _commitments(self, t: TicketFacts) -> None:
        """One ticket's share of the two ticket commitments (`docs/commitments.md`).

        `mail_web_taken_within_30min`: mail and web requests received in the period, taken into
        account within 30 business minutes. One not yet taken counts as late once 30 business
        minutes have passed at `as_of`; until then it is pending, left out of both numbers.

        `resolved_by_single_desk` (> 65 %): of the admissible tickets (in the contract's scope,
        pre-qualified `admissible`) last resolved in the period, those resolved by the desk:
        opened at the desk (group `desk`) at level 1 and resolved there at level 1 without any
        hand-over or reopening (`TicketFacts.resolved_by_desk`); a hold or a comment does not
        break it. Out-of-scope and routed requests are not counted at all, nor are complaints
        (management's, counted apart).
        """
        if t.channel in MAIL_AND_WEB and self.period.contains(t.received_at):
            end = t.taken_at if t.taken_at is not None else self.as_of
            delay = self.calendar.seconds_between(t.received_at, end)
            if t.taken_at is not None or delay > TAKE_INTO_ACCOUNT_SECONDS:
                self.mail_web["measured"] += 1
                self.mail_web["met"] += delay <= TAKE_INTO_ACCOUNT_SECONDS
        if t.admissible and not t.is_complaint and self.period.contains(t.resolved_at):
            self.single_desk["resolved"] += 1
            self.single_desk["by_desk"] += t.resolved_by_desk

    def _complaint(self, t: TicketFacts) -> None:
        """Received in the period, resolved in the period, still open at the backlog's moment."""
        self.complaints["received"] += self.period.contains(t.received_at)
        self.complaints["resolved"] += self.period.contains(t.resolved_at)
        self.complaints["open"] += t.open_at(self.backlog_at)

    def report(
        self,
        calls: Sequence[CallFacts],
        candidates: list[ProblemCandidate],
        rules: CommitmentRules = DEFAULT_RULES,
    ) -> KpiReport:
        """The report of the tickets folded so far, the period's `calls` and the recurring
        incident groups found for it."""
        measured_calls = list(calls) if self.filters.includes_calls else []
        return KpiReport(
            period=self.period,
            filters=self.filters,
            as_of=self.as_of,
            commitments=self._commitment_figures(measured_calls, rules),
            backlog=self._backlog_figures(),
            time_to_take_into_account=_by_priority(self.take),
            time_to_resolve=_by_priority(self.resolve),
            rates=self._rate_figures(),
            satisfaction=self._satisfaction_figures(),
            opened_per_day={d: dict(sorted(self.days[d].items())) for d in sorted(self.days)},
            problem_candidates=candidates,
            complaints=Complaints(
                self.complaints["received"], self.complaints["resolved"], self.complaints["open"]
            ),
        )

    def _commitment_figures(
        self, calls: Sequence[CallFacts], rules: CommitmentRules
    ) -> tuple[Commitment, ...]:
        met, measured = self.mail_web["met"], self.mail_web["measured"]
        by_desk, resolved = self.single_desk["by_desk"], self.single_desk["resolved"]
        return (
            call_abandonment(calls, self.period),
            calls_answered_within_30s(calls, self.period, rules.answer_denominator),
            Commitment(
                "mail_web_taken_within_30min",
                "Demandes mail ou web prises en compte en moins de 30 mn",
                ratio(met, measured),
                0.90,
                Comparison.ABOVE,
                met,
                measured,
            ),
            Commitment(
                "resolved_by_single_desk",
                "Taux de résolution en ligne par le guichet unique",
                ratio(by_desk, resolved),
                0.65,
                Comparison.ABOVE,
                by_desk,
                resolved,
            ),
        )

    def _backlog_figures(self) -> Backlog:
        by = {name: dict(sorted(c.items())) for name, c in self.backlog.items()}
        return Backlog(
            total=self.backlog_total,
            by_status=by["status"],
            by_level=by["level"],
            by_group=by["group"],
            by_priority=by["priority"],
            by_category=by["category"],
        )

    def _rate_figures(self) -> Rates:
        r = self.rates
        received = r["received"]
        return Rates(
            escalation=Rate(r["escalated"], received),
            routing=Rate(r["routed"], received),
            reopen=Rate(r["reopened"], r["resolved_once"]),
            sla_compliance=Rate(r["without_breach"], received),
            sla_breaches=r["breaches"],
        )

    def _satisfaction_figures(self) -> Satisfaction:
        responses = self.ratings["responses"]
        average = self.ratings["sum"] / responses if responses else None
        return Satisfaction(responses, average, Rate(self.ratings["satisfied"], responses))


def _seconds() -> array[float]:
    return array("d")


def _by_priority(values: dict[str, array[float]]) -> dict[str, Durations]:
    return {
        p: Durations(len(v), percentile(v, 50), percentile(v, 90))
        for p, v in sorted(values.items())
    }


def kpi_report(
    tickets: Iterable[TicketFacts],
    calls: Sequence[CallFacts],
    period: Period,
    filters: Filters,
    *,
    as_of: datetime,
    calendar: BusinessCalendar,
    recurrence_threshold: int = DEFAULT_THRESHOLD,
    rules: CommitmentRules = DEFAULT_RULES,
) -> KpiReport:
    """`ReportFold` over one page of every ticket, for a caller that holds them all at once.

    `as_of` is "now" for the figures that depend on it (a request not yet taken is late once its
    30 minutes have passed); the backlog is taken at the end of the period, or now if earlier.
    """
    kept = [t for t in tickets if filters.keeps(t)]
    fold = ReportFold(period, filters, as_of, calendar)
    fold.add(kept)
    return fold.report(calls, recurring_incidents(kept, period, recurrence_threshold), rules)
