"""The four service commitments, each with its value, target and whether it is met.

The exact formula of each is stated in `docs/commitments.md` and where it is computed: the two
call commitments below, the two ticket ones in `report_fold.ReportFold` (a page at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.stats import ratio


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
