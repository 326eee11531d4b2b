from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk_shared.events.ticket import (
    HoldReason,
    Impact,
    Priority,
    SlaBreached,
    SlaTarget,
    SlaWarning,
    TicketType,
    Urgency,
)
from helpdesk_ticket.domain.calendar import BusinessCalendar
from helpdesk_ticket.domain.ticket.commands import (
    CheckSla,
    Hold,
    Qualify,
    Resolve,
    Resume,
    Route,
    Take,
)
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY, TicketPolicy
from helpdesk_ticket.domain.ticket.sla import deadline, shares, target_view
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.testing import opened, run, start

PARIS = ZoneInfo("Europe/Paris")
CAL = BusinessCalendar()
RES = SlaTarget.RESOLUTION
TAKE = SlaTarget.TAKING_INTO_ACCOUNT


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def ticket_at(when: datetime) -> Ticket:
    return start(opened(at=when.astimezone(UTC)))


def qualify(at: datetime, impact: Impact, urgency: Urgency) -> Qualify:
    return Qualify(
        by="bob",
        at=at,
        type=TicketType.INCIDENT,
        category="workstation",
        impact=impact,
        urgency=urgency,
    )


def test_deadline_inside_working_hours() -> None:
    view = target_view(
        ticket_at(paris(2024, 12, 2, 9, 0)), TAKE, DEFAULT_POLICY, paris(2024, 12, 2, 9)
    )
    assert view.deadline == paris(2024, 12, 2, 9, 30)


def test_deadline_outside_working_hours_moves_to_the_next_morning() -> None:
    view = target_view(
        ticket_at(paris(2024, 12, 2, 17, 50)), TAKE, DEFAULT_POLICY, paris(2024, 12, 2, 18)
    )
    assert view.deadline == paris(2024, 12, 3, 8, 20)


def test_a_friday_evening_request_is_due_on_monday_not_at_midnight() -> None:
    view = target_view(
        ticket_at(paris(2024, 12, 6, 19, 0)), TAKE, DEFAULT_POLICY, paris(2024, 12, 6, 19)
    )
    assert view.deadline == paris(2024, 12, 9, 8, 30)


def test_french_public_holidays_do_not_count() -> None:
    # Tuesday 24 December 17:45 + 30 min: 15 min on the 24th, Christmas off, 15 min on the 26th.
    view = target_view(
        ticket_at(paris(2024, 12, 24, 17, 45)), TAKE, DEFAULT_POLICY, paris(2024, 12, 24, 18)
    )
    assert view.deadline == paris(2024, 12, 26, 8, 15)


def test_on_call_periods_count() -> None:
    on_call = ((paris(2024, 12, 7, 10, 0), paris(2024, 12, 7, 12, 0)),)
    policy = TicketPolicy(calendar=BusinessCalendar(on_call=on_call))
    view = target_view(ticket_at(paris(2024, 12, 6, 17, 50)), TAKE, policy, paris(2024, 12, 6, 18))
    assert view.deadline == paris(2024, 12, 7, 10, 20)


def test_business_time_across_a_weekend() -> None:
    assert CAL.business_time(paris(2024, 12, 6, 17, 0), paris(2024, 12, 9, 9, 0)) == timedelta(
        hours=2
    )


def test_pause_stops_the_clock_and_resume_restarts_it() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(ticket_at(t0), Take(by="bob", at=t0))
    before = target_view(state, RES, DEFAULT_POLICY, t0).deadline
    state, _ = run(
        state, Hold(by="bob", at=paris(2024, 12, 2, 10), reason=HoldReason.WAITING_REQUESTER)
    )
    paused = target_view(state, RES, DEFAULT_POLICY, paris(2024, 12, 2, 11))
    assert paused.deadline is None
    assert paused.paused
    assert paused.elapsed == timedelta(hours=1)
    state, _ = run(state, Resume(by="bob", at=paris(2024, 12, 2, 13)))
    after = target_view(state, RES, DEFAULT_POLICY, paris(2024, 12, 2, 13)).deadline
    assert before is not None
    assert after is not None
    assert CAL.business_time(before, after) == timedelta(hours=3)


def test_a_pause_over_the_night_only_shifts_by_the_working_time_paused() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(
        ticket_at(t0),
        Take(by="bob", at=t0),
        Hold(by="bob", at=paris(2024, 12, 2, 17), reason=HoldReason.WAITING_THIRD_PARTY),
        Resume(by="bob", at=paris(2024, 12, 3, 9)),
    )
    # P3 by default: 20 business hours. 8 h ran on Monday, paused 1 h Monday + 1 h Tuesday.
    view = target_view(state, RES, DEFAULT_POLICY, paris(2024, 12, 3, 9))
    assert view.deadline == paris(2024, 12, 4, 11, 0)


def test_reprioritisation_after_a_pause_recomputes_from_the_segments() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(
        ticket_at(t0),
        Take(by="bob", at=t0),
        Hold(by="bob", at=paris(2024, 12, 2, 10), reason=HoldReason.WAITING_REQUESTER),
        Resume(by="bob", at=paris(2024, 12, 2, 14)),
        qualify(paris(2024, 12, 2, 14, 30), Impact.HIGH, Urgency.HIGH),
    )
    assert state.priority is Priority.CRITICAL
    view = target_view(state, RES, DEFAULT_POLICY, paris(2024, 12, 2, 14, 30))
    # P1: 4 business hours; 1 h ran before the hold, the pause is kept, 3 h from 14:00.
    assert view.deadline == paris(2024, 12, 2, 17, 0)
    assert view.elapsed == timedelta(hours=1, minutes=30)


def test_transfer_keeps_the_deadline_and_splits_the_time_between_teams() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(ticket_at(t0), Take(by="bob", at=t0))
    before = target_view(state, RES, DEFAULT_POLICY, t0).deadline
    state, _ = run(
        state, Route(by="bob", at=paris(2024, 12, 2, 11), to_group="network", reason="LAN")
    )
    assert target_view(state, RES, DEFAULT_POLICY, t0).deadline == before
    split = shares(state.clock, paris(2024, 12, 2, 16), CAL)
    assert split == {"desk": timedelta(hours=2), "network": timedelta(hours=5)}


def test_deadline_function_is_none_when_stopped_before_the_target() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(
        ticket_at(t0),
        Resolve(by="bob", at=t0 + timedelta(minutes=5), solution="ok", resolution_code="fix"),
    )
    assert deadline(state.clock, timedelta(hours=1), CAL) is None


def test_watcher_warns_then_breaches_once() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state = ticket_at(t0)
    state, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 2, 9, 10)))
    assert events == []
    state, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 2, 9, 25)))
    assert [type(e) for e in events] == [SlaWarning]
    state, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 2, 9, 26)))
    assert events == []
    state, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 2, 9, 31)))
    assert [type(e) for e in events] == [SlaBreached]
    assert events[0].target is TAKE  # type: ignore[attr-defined]
    state, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 2, 9, 45)))
    assert events == []
    assert state.last_activity_at == t0.astimezone(UTC)  # SLA facts are not activity


def test_no_breach_while_on_hold() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(
        ticket_at(t0),
        Take(by="bob", at=t0),
        Hold(by="bob", at=t0 + timedelta(minutes=1), reason=HoldReason.WAITING_REQUESTER),
    )
    _, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 20, 9)))
    assert events == []


def test_no_breach_at_night_for_a_ticket_opened_in_the_evening() -> None:
    state = ticket_at(paris(2024, 12, 2, 17, 55))
    _, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 3, 0, 0)))
    assert events == []


def test_a_late_taking_into_account_is_recorded_as_breached() -> None:
    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(ticket_at(t0), Take(by="bob", at=paris(2024, 12, 2, 10)))
    _, events = run(state, CheckSla(by="sla", at=paris(2024, 12, 2, 10, 1)))
    assert [(type(e), e.target) for e in events] == [(SlaBreached, TAKE)]  # type: ignore[attr-defined]


def test_the_receiving_team_clock_restarts_on_transfer() -> None:
    from helpdesk_ticket.domain.ticket.sla import current_holding

    t0 = paris(2024, 12, 2, 9, 0)
    state, _ = run(
        ticket_at(t0),
        Take(by="bob", at=t0),
        Route(by="bob", at=paris(2024, 12, 2, 11), to_group="network", reason="LAN"),
        Take(by="nina", at=paris(2024, 12, 2, 11, 30)),
        Hold(by="nina", at=paris(2024, 12, 2, 12), reason=HoldReason.WAITING_THIRD_PARTY),
        Resume(by="nina", at=paris(2024, 12, 2, 14)),
    )
    holding = current_holding(state.clock, paris(2024, 12, 2, 15), CAL)
    assert holding == ("network", paris(2024, 12, 2, 11), timedelta(hours=2))
