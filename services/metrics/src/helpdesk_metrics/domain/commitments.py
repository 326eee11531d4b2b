"""The four service commitments, each with its value, target and whether it is met.

The exact formula of each is stated in `docs/commitments.md` and in its function's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.stats import ratio
from helpdesk_shared.calendar import BusinessCalendar


@dataclass(frozen=True)
class Period:
    """Half-open time range [start, end): an event at `end` belongs to the next period."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def backlog_at(self, as_of: datetime) -> datetime:
        """When the period's backlog is taken: at its end, or now if it has not ended yet."""
        return min(self.end, as_of)

    def relevant_from(self, as_of: datetime) -> datetime:
        """A ticket closed before this moment has no fact in the period nor in its backlog.

        Every fact of a ticket (taken, resolved, rated) comes no later than its closure, so the
        tickets a report needs are the ones received before the end and not closed before this.
        """
        return min(self.start, self.backlog_at(as_of))


@dataclass(frozen=True)
class Filters:
    """Which tickets are measured: by current support group and by channel (None = all)."""

    group: str | None = None
    channel: str | None = None

    def keeps(self, ticket: TicketFacts) -> bool:
        return (self.group is None or ticket.group == self.group) and (
            self.channel is None or ticket.channel == self.channel
        )

    @property
    def includes_calls(self) -> bool:
        """Calls have no support group and are the phone channel."""
        return self.group is None and self.channel in (None, "phone")


class Comparison(StrEnum):
    BELOW = "below"  # met when value < target
    ABOVE = "above"  # met when value > target


@dataclass(frozen=True)
class Commitment:
    """One measured commitment: `value` is a ratio in [0, 1], None when nothing was measured."""

    name: str
    title: str
    value: float | None
    target: float
    comparison: Comparison
    numerator: int
    denominator: int

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        if self.comparison is Comparison.BELOW:
            return self.value < self.target
        return self.value > self.target


#: Channels of the 30-minute commitment ("demandes mail ou web").
MAIL_AND_WEB = frozenset({"email", "web"})
TAKE_INTO_ACCOUNT_SECONDS = 30 * 60
ANSWER_SECONDS = 30


def call_abandonment(calls: Sequence[CallFacts], period: Period) -> Commitment:
    """Calls offered in the period that were abandoned before an answer (< 10 %)."""
    offered = [c for c in calls if period.contains(c.offered_at)]
    lost = sum(1 for c in offered if c.abandoned)
    return Commitment(
        "call_abandonment",
        "Taux de perte d'appel",
        ratio(lost, len(offered)),
        0.10,
        Comparison.BELOW,
        lost,
        len(offered),
    )


class AnswerDenominator(StrEnum):
    """Which calls the "answered within 30 s" commitment is measured on (a setting)."""

    #: Calls answered, plus calls abandoned after waiting more than 30 s (the caller was not
    #: answered within 30 s): the default.
    ANSWERED_AND_ABANDONED_AFTER_30S = "answered_and_abandoned_after_30s"
    #: Calls answered only (an abandoned call is left to the call-loss commitment).
    ANSWERED = "answered"


@dataclass(frozen=True)
class CommitmentRules:
    """The choices the commitments leave to the desk (settings of the metrics service)."""

    answer_denominator: AnswerDenominator = AnswerDenominator.ANSWERED_AND_ABANDONED_AFTER_30S


DEFAULT_RULES = CommitmentRules()


def calls_answered_within_30s(
    calls: Sequence[CallFacts],
    period: Period,
    denominator: AnswerDenominator = AnswerDenominator.ANSWERED_AND_ABANDONED_AFTER_30S,
) -> Commitment:
    """ "Réactivité au décroché en moins de 30 s" (> 90 %), over the calls offered in the period.

    Numerator: calls answered after waiting 30 s or less. Denominator (`denominator`): by default
    the calls answered plus the calls abandoned after waiting more than 30 s, since a caller who
    hung up after 30 s was not answered within 30 s; with `ANSWERED`, the calls answered only.
    A call abandoned within 30 s is call loss (`call_abandonment`), never counted here.
    """
    offered = [c for c in calls if period.contains(c.offered_at)]
    answered = [c for c in offered if c.answered]
    quick = sum(1 for c in answered if _waited(c) <= ANSWER_SECONDS)
    measured = len(answered)
    if denominator is AnswerDenominator.ANSWERED_AND_ABANDONED_AFTER_30S:
        measured += sum(1 for c in offered if c.abandoned and _waited(c) > ANSWER_SECONDS)
    return Commitment(
        "calls_answered_within_30s",
        "Réactivité au décroché en moins de 30 s",
        ratio(quick, measured),
        0.90,
        Comparison.ABOVE,
        quick,
        measured,
    )


def _waited(call: CallFacts) -> float:
    """Seconds the caller waited; unknown counts as not answered in time."""
    return call.wait_seconds if call.wait_seconds is not None else float("inf")


def mail_web_taken_within_30min(
    tickets: Sequence[TicketFacts], period: Period, as_of: datetime, calendar: BusinessCalendar
) -> Commitment:
    """Mail and web requests received in the period taken into account within 30 business min.

    A request not yet taken counts as late once 30 business minutes have passed at `as_of`; until
    then it is still pending and is left out of both numbers.
    """
    met = measured = 0
    for ticket in tickets:
        if ticket.channel not in MAIL_AND_WEB or not period.contains(ticket.received_at):
            continue
        end = ticket.taken_at if ticket.taken_at is not None else as_of
        delay = calendar.seconds_between(ticket.received_at, end)
        if ticket.taken_at is None and delay <= TAKE_INTO_ACCOUNT_SECONDS:
            continue
        measured += 1
        met += delay <= TAKE_INTO_ACCOUNT_SECONDS
    return Commitment(
        "mail_web_taken_within_30min",
        "Demandes mail ou web prises en compte en moins de 30 mn",
        ratio(met, measured),
        0.90,
        Comparison.ABOVE,
        met,
        measured,
    )


def resolved_by_single_desk(tickets: Sequence[TicketFacts], period: Period) -> Commitment:
    """ "Taux de résolution en ligne par le guichet unique" (> 65 %).

    Denominator: the admissible tickets (in the contract's scope at the desk: pre-qualified
    `admissible`) last resolved in the period. Numerator: those resolved by the desk, i.e.
    opened at the desk (group `desk`) at level 1 and resolved there at level 1 without any
    hand-over to another level or team and without reopening: an escalation, a routing, a move
    to another group or a reopening breaks it; a hold or a comment does not. Out-of-scope and
    routed requests are not counted at all (the desk is not meant to resolve them), nor are
    complaints (management's, counted apart).
    """
    resolved = [
        t for t in tickets if t.admissible and not t.is_complaint and period.contains(t.resolved_at)
    ]
    by_desk = sum(1 for t in resolved if t.resolved_by_desk)
    return Commitment(
        "resolved_by_single_desk",
        "Taux de résolution en ligne par le guichet unique",
        ratio(by_desk, len(resolved)),
        0.65,
        Comparison.ABOVE,
        by_desk,
        len(resolved),
    )


def commitments(
    tickets: Sequence[TicketFacts],
    calls: Sequence[CallFacts],
    period: Period,
    as_of: datetime,
    calendar: BusinessCalendar,
    rules: CommitmentRules = DEFAULT_RULES,
) -> tuple[Commitment, ...]:
    """The four service commitments (formulas in `docs/commitments.md`)."""
    return (
        call_abandonment(calls, period),
        calls_answered_within_30s(calls, period, rules.answer_denominator),
        mail_web_taken_within_30min(tickets, period, as_of, calendar),
        resolved_by_single_desk(tickets, period),
    )
