"""Folding a ticket's and a call's events into facts (pure, no I/O)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk_metrics.domain.calls import evolve_call, fold_call
from helpdesk_metrics.domain.facts import Status, evolve_ticket, fold_ticket
from helpdesk_metrics.domain.records import EventRecord, Step, next_step
from helpdesk_metrics.domain.totals import timed
from helpdesk_shared.calendar import BusinessCalendar

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris
TICKET = "7f9a0c1e-0000-4000-8000-000000000001"


def ev(version: int, type_: str, minutes: float, **data: Any) -> EventRecord:
    at = T0 + timedelta(minutes=minutes)
    body = {"ticket_id": TICKET, "occurred_at": at.isoformat(), **data}
    return EventRecord(f"ticket-{TICKET}", version, type_, body, at + timedelta(seconds=1))


def opened(**extra: Any) -> EventRecord:
    return ev(
        1,
        "TicketOpened",
        0,
        reference="INC-1",
        type="incident",
        channel="email",
        requester={"login": "jdoe", "name": "J Doe", "department": "DAF"},
        category="printer",
        asset_tag="PRN-042",
        pre_qualification={"outcome": "admissible", "reasons": []},
        group="desk",
        level=1,
        received_at=(T0 - timedelta(minutes=5)).isoformat(),
        **extra,
    )


def lifecycle() -> list[EventRecord]:
    return [
        opened(),
        ev(2, "TicketQualified", 2, priority="P2", category="printer"),
        ev(3, "TicketTaken", 10, by="agent1"),
        ev(4, "Escalated", 20, from_level=1, to_level=2, group="n2-poste", reason="x", by="a"),
        ev(5, "Routed", 30, from_group="n2-poste", to_group="network", reason="y", by="b"),
        ev(6, "TicketResolved", 60, solution="cable", first_contact=False, level=2),
        ev(7, "TicketReopened", 70, reason="again"),
        ev(8, "PutOnHold", 75, reason="waiting_requester"),
        ev(9, "Resumed", 80),
        ev(10, "TicketResolved", 90, solution="new cable"),
        ev(11, "SlaBreached", 91, kind="resolution"),
        ev(12, "Closed", 100, code="resolved", by="b"),
        ev(13, "SatisfactionRated", 120, score=4),
        ev(14, "SomethingMetricsIgnores", 121),
    ]


def test_fold_ticket_follows_the_whole_lifecycle() -> None:
    facts = fold_ticket(lifecycle())
    assert facts is not None
    assert facts.reference == "INC-1"
    assert facts.channel == "email"
    assert facts.received_at == T0 - timedelta(minutes=5)
    assert facts.priority == "P2"
    assert facts.department == "DAF"
    assert facts.taken_at == T0 + timedelta(minutes=10)
    assert (facts.level, facts.group) == (2, "network")
    assert (facts.escalations, facts.routings, facts.reopenings) == (1, 1, 1)
    assert facts.first_resolved_at == T0 + timedelta(minutes=60)
    assert facts.resolved_at == T0 + timedelta(minutes=90)
    assert facts.status is Status.CLOSED
    assert facts.closure_code == "resolved"
    assert facts.sla_breaches == 1
    assert facts.rating == 4
    assert facts.handed_over
    assert not facts.resolved_by_desk
    assert facts.first_contact is None  # the last resolution did not say
    assert facts.last_version == 14


def test_fold_ticket_ignores_arrival_order_and_duplicates() -> None:
    events = lifecycle()
    shuffled = events + events[:5]
    random.Random(6).shuffle(shuffled)
    assert fold_ticket(shuffled) == fold_ticket(events)


def test_fold_ticket_waits_for_the_opening() -> None:
    assert fold_ticket(lifecycle()[1:]) is None


def test_closing_with_code_resolved_counts_as_a_resolution() -> None:
    facts = fold_ticket([opened(), ev(2, "Closed", 15, code="resolved", by="a")])
    assert facts is not None
    assert facts.resolved_at == T0 + timedelta(minutes=15)
    assert not facts.handed_over
    assert facts.resolved_by_desk
    assert not facts.is_open


def test_fold_call_reads_answered_and_abandoned_calls() -> None:
    base = {"call_id": "c1", "offered_at": T0.isoformat()}
    answered = EventRecord(
        "call-c1",
        1,
        "CallRecorded",
        {**base, "answered_at": (T0 + timedelta(seconds=25)).isoformat(), "agent": "a1"},
        T0,
    )
    call = fold_call([answered])
    assert call is not None
    assert call.answered
    assert not call.abandoned
    assert call.wait_seconds == 25
    lost = EventRecord(
        "call-c2",
        1,
        "CallRecorded",
        {"offered_at": T0.isoformat(), "abandoned_at": (T0 + timedelta(seconds=40)).isoformat()},
        T0,
    )
    call = fold_call([lost])
    assert call is not None
    assert call.abandoned
    assert call.call_id == "c2"
    assert call.wait_seconds == 40


def test_evolving_event_by_event_gives_the_fold_of_every_prefix() -> None:
    events = lifecycle()
    facts = None
    for n, event in enumerate(events, start=1):
        facts = evolve_ticket(facts, event)
        assert facts == fold_ticket(events[:n]), f"after version {n}"


def test_evolving_waits_for_the_opening() -> None:
    assert evolve_ticket(None, lifecycle()[1]) is None


def test_evolving_a_call_follows_its_last_recording() -> None:
    first = EventRecord("call-c1", 1, "CallRecorded", {"offered_at": T0.isoformat()}, T0)
    answered_at = (T0 + timedelta(seconds=12)).isoformat()
    second = EventRecord(
        "call-c1", 2, "CallRecorded", {"offered_at": T0.isoformat(), "answered_at": answered_at}, T0
    )
    other = EventRecord("call-c1", 3, "CallNoted", {}, T0)
    facts = evolve_call(evolve_call(evolve_call(None, first), second), other)
    assert facts == fold_call([first, second, other])
    assert facts is not None
    assert (facts.answered, facts.wait_seconds, facts.last_version) == (True, 12, 3)
    assert evolve_call(None, other) is None


@pytest.mark.parametrize(
    ("last_version", "version", "step"),
    [
        (None, 1, Step.EVOLVE),  # the opening of a stream not seen yet
        (None, 2, Step.REFOLD),  # the opening has not been folded: read the stream
        (3, 4, Step.EVOLVE),  # the next one
        (3, 3, Step.SKIP),  # a redelivery
        (3, 1, Step.SKIP),  # an old one, folded by an earlier refold
        (3, 5, Step.REFOLD),  # version 4 is missing (out of order, or parked)
    ],
)
def test_next_step_from_the_last_version_folded(
    last_version: int | None, version: int, step: Step
) -> None:
    assert next_step(last_version, version) is step


def test_folding_with_the_calendar_sets_the_business_durations() -> None:
    calendar = BusinessCalendar()  # 08:00-18:00 Paris, Monday to Friday
    facts = fold_ticket(lifecycle(), calendar)
    assert facts is not None
    assert facts.take_business_seconds == 15 * 60  # received 5 min before T0, taken at T0+10
    assert facts.resolve_business_seconds == 95 * 60
    bare = fold_ticket(lifecycle())
    assert bare is not None
    assert bare.take_business_seconds is None
    assert facts == timed(bare, calendar)
    events = lifecycle()
    assert evolve_ticket(fold_ticket(events[:-1], calendar), events[-1], calendar) == facts
