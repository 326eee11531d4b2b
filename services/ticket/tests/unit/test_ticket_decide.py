from datetime import timedelta

import pytest

from helpdesk_shared.events.ticket import (
    Closed,
    ClosureCode,
    Escalated,
    HoldReason,
    Impact,
    Priority,
    Routed,
    TicketQualified,
    TicketResolved,
    TicketTaken,
    TicketType,
    Urgency,
)
from helpdesk_ticket.domain.errors import InvalidCommand, TicketNotFound, TransitionNotAllowed
from helpdesk_ticket.domain.ticket.commands import (
    Assign,
    Close,
    Comment,
    Escalate,
    Hold,
    Qualify,
    Rate,
    Reopen,
    Resolve,
    Resume,
    Route,
    Schedule,
    Take,
)
from helpdesk_ticket.domain.ticket.decide import decide
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY, TicketPolicy
from helpdesk_ticket.domain.ticket.state import Status
from helpdesk_ticket.domain.ticket.transitions import allowed_commands
from helpdesk_ticket.testing import MONDAY_9, opened, run, start

T = MONDAY_9


def at(minutes: int) -> object:
    return T + timedelta(minutes=minutes)


def qualify(minutes: int = 1, impact: Impact = Impact.LOW) -> Qualify:
    return Qualify(
        by="bob",
        at=T + timedelta(minutes=minutes),
        type=TicketType.INCIDENT,
        category="printers",
        impact=impact,
        urgency=Urgency.HIGH,
    )


def m(minutes: float) -> "object":
    return T + timedelta(minutes=minutes)


def test_full_lifecycle_records_the_contract_events() -> None:
    state, events = run(
        start(),
        qualify(1),
        Take(by="bob", at=T + timedelta(minutes=2)),
        Escalate(by="bob", at=T + timedelta(minutes=3), reason="needs N2"),
        Route(by="carol", at=T + timedelta(minutes=4), to_group="servers", reason="server down"),
        Take(by="dave", at=T + timedelta(minutes=5)),
        Resolve(by="dave", at=T + timedelta(minutes=6), solution="rebooted", resolution_code="fix"),
        Close(by="dave", at=T + timedelta(minutes=7)),
    )
    kinds = [type(e) for e in events]
    assert kinds == [
        TicketQualified,
        TicketTaken,
        Escalated,
        Routed,
        TicketTaken,
        TicketResolved,
        Closed,
    ]
    assert state.status is Status.CLOSED
    assert state.level == 2
    assert state.group == "servers"
    assert state.version == 8
    assert state.taken_at == T + timedelta(minutes=2)  # the first taking into account counts
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert closed.solution == "rebooted"


def test_priority_follows_the_matrix() -> None:
    state, _ = run(start(), qualify(impact=Impact.HIGH))
    assert state.priority is Priority.CRITICAL
    state, _ = run(state, qualify(2, impact=Impact.LOW))
    assert state.priority is Priority.MEDIUM


def test_the_matrix_is_configurable() -> None:
    matrix = dict(DEFAULT_POLICY.matrix)
    matrix[(Impact.LOW, Urgency.HIGH)] = Priority.LOW
    policy = TicketPolicy(matrix=matrix)
    state, _ = run(start(), qualify(), policy=policy)
    assert state.priority is Priority.LOW


def test_unknown_category_is_refused_with_the_field() -> None:
    command = Qualify(
        by="bob",
        at=T,
        type=TicketType.INCIDENT,
        category="coffee",
        impact=Impact.LOW,
        urgency=Urgency.LOW,
    )
    with pytest.raises(InvalidCommand) as refused:
        decide(command, start())
    assert refused.value.field == "category"


def test_routed_categories_name_their_group() -> None:
    servers = DEFAULT_POLICY.category("servers")
    printers = DEFAULT_POLICY.category("printers")
    assert servers is not None
    assert not servers.level_one
    assert servers.group == "servers"
    assert printers is not None
    assert printers.level_one


def test_no_ticket_no_command() -> None:
    with pytest.raises(TicketNotFound):
        decide(Take(by="bob", at=T), None)


def test_a_closed_ticket_refuses_work_and_says_what_is_allowed() -> None:
    state, _ = run(
        start(),
        Resolve(by="bob", at=T, solution="done", resolution_code="fix"),
        Close(by="bob", at=T),
    )
    with pytest.raises(TransitionNotAllowed) as refused:
        decide(Take(by="bob", at=T), state)
    assert refused.value.allowed == ["reopen", "rate"]


def test_hold_only_once_taken_or_assigned_and_resume_only_on_hold() -> None:
    with pytest.raises(TransitionNotAllowed):
        decide(Hold(by="bob", at=T, reason=HoldReason.WAITING_REQUESTER), start())
    state, _ = run(start(), Take(by="bob", at=T))
    with pytest.raises(TransitionNotAllowed):
        decide(Resume(by="bob", at=T), state)
    state, _ = run(state, Hold(by="bob", at=T, reason=HoldReason.WAITING_REQUESTER))
    assert state.status is Status.ON_HOLD
    assert "resume" in allowed_commands(state, DEFAULT_POLICY)
    assert "resolve" not in allowed_commands(state, DEFAULT_POLICY)
    state, _ = run(state, Resume(by="bob", at=T))
    assert state.status is Status.IN_PROGRESS


def test_first_contact_resolution_is_derived_from_history() -> None:
    _, events = run(start(), Resolve(by="bob", at=T, solution="ok", resolution_code="fix"))
    assert isinstance(events[0], TicketTaken)  # resolving at the first call takes it too
    resolved = events[-1]
    assert isinstance(resolved, TicketResolved)
    assert resolved.first_contact

    _, events = run(
        start(),
        Take(by="bob", at=T),
        Escalate(by="bob", at=T, reason="N2"),
        Take(by="eve", at=T),
        Resolve(by="eve", at=T, solution="ok", resolution_code="fix"),
    )
    resolved = events[-1]
    assert isinstance(resolved, TicketResolved)
    assert not resolved.first_contact


def test_held_or_reopened_tickets_are_not_first_contact() -> None:
    state, _ = run(
        start(),
        Take(by="bob", at=T),
        Hold(by="bob", at=T, reason=HoldReason.WAITING_REQUESTER),
        Resume(by="bob", at=T),
    )
    _, events = run(state, Resolve(by="bob", at=T, solution="ok", resolution_code="fix"))
    assert isinstance(events[-1], TicketResolved)
    assert not events[-1].first_contact


def test_escalation_goes_up_one_level_and_not_past_three() -> None:
    state, _ = run(start(), Escalate(by="bob", at=T, reason="N2"))
    assert state.level == 2
    with pytest.raises(InvalidCommand) as refused:
        decide(Escalate(by="bob", at=T, reason="down?", to_level=1), state)
    assert refused.value.field == "to_level"
    state, _ = run(state, Escalate(by="bob", at=T, reason="N3"))
    with pytest.raises(InvalidCommand):
        decide(Escalate(by="bob", at=T, reason="N4"), state)


def test_escalation_to_management_keeps_the_holder() -> None:
    state, _ = run(start(), Take(by="bob", at=T))
    state, events = run(state, Escalate(by="bob", at=T, reason="VIP", to_management=True))
    escalated = events[0]
    assert isinstance(escalated, Escalated)
    assert escalated.to_management
    assert escalated.group == "management"
    assert state.taken_by == "bob"
    assert state.group == "desk"


def test_routing_to_the_same_group_is_refused() -> None:
    with pytest.raises(InvalidCommand):
        decide(Route(by="bob", at=T, to_group="desk", reason="x"), start())


def test_routing_hands_the_ticket_over() -> None:
    state, _ = run(
        start(), Take(by="bob", at=T), Route(by="bob", at=T, to_group="network", reason="LAN")
    )
    assert state.group == "network"
    assert state.assignee is None
    assert state.status is Status.OPENED
    state, _ = run(state, Assign(by="boss", at=T, group="network", agent="nina"))
    assert state.status is Status.ASSIGNED
    assert state.assignee == "nina"


def test_close_needs_a_resolution_or_a_reason() -> None:
    with pytest.raises(TransitionNotAllowed):
        decide(Close(by="bob", at=T), start())
    with pytest.raises(InvalidCommand) as refused:
        decide(Close(by="bob", at=T, code=ClosureCode.DUPLICATE), start())
    assert refused.value.field == "reason"
    with pytest.raises(InvalidCommand) as refused:
        decide(Close(by="bob", at=T, code=ClosureCode.OUT_OF_SCOPE, reason="no contract"), start())
    assert refused.value.field == "follow_up"
    state, _ = run(
        start(),
        Close(
            by="bob",
            at=T,
            code=ClosureCode.OUT_OF_SCOPE,
            reason="printer bought after the contract",
            follow_up="passed to the manager for a service offer",
        ),
    )
    assert state.status is Status.CLOSED
    assert "reopen" not in allowed_commands(state, DEFAULT_POLICY, T)


def test_reopen_within_the_window_only() -> None:
    resolved, _ = run(start(), Resolve(by="bob", at=T, solution="ok", resolution_code="fix"))
    state, _ = run(resolved, Reopen(by="alice", at=T + timedelta(days=2), reason="still broken"))
    assert state.status is Status.ASSIGNED
    assert state.assignee == "bob"
    late = T + DEFAULT_POLICY.reopen_window + timedelta(minutes=1)
    with pytest.raises(TransitionNotAllowed) as refused:
        decide(Reopen(by="alice", at=late, reason="again"), resolved)
    assert "reopen" not in refused.value.allowed
    short = TicketPolicy(reopen_window=timedelta(days=1))
    with pytest.raises(TransitionNotAllowed):
        decide(Reopen(by="alice", at=T + timedelta(days=2), reason="x"), resolved, short)


def test_rating_once_after_closure() -> None:
    state, _ = run(
        start(),
        Resolve(by="bob", at=T, solution="ok", resolution_code="fix"),
        Close(by="bob", at=T),
    )
    with pytest.raises(InvalidCommand):
        decide(Rate(by="alice", at=T, score=6), state)
    state, _ = run(state, Rate(by="alice", at=T, score=4, comment="merci"))
    assert state.satisfaction == 4
    with pytest.raises(TransitionNotAllowed):
        decide(Rate(by="alice", at=T, score=5), state)


def test_rating_before_closure_is_refused() -> None:
    with pytest.raises(TransitionNotAllowed):
        decide(Rate(by="alice", at=T, score=5), start())


def test_comments_need_text_and_count() -> None:
    with pytest.raises(InvalidCommand):
        decide(Comment(by="bob", at=T, text="  "), start())
    state, _ = run(start(), Comment(by="bob", at=T, text="on regarde"))
    assert state.comments == 1
    assert state.version == 2


def test_appointment_must_end_after_it_starts() -> None:
    from helpdesk_shared.events.ticket import AppointmentKind

    with pytest.raises(InvalidCommand):
        decide(
            Schedule(by="bob", at=T, kind=AppointmentKind.ON_SITE, starts_at=T, ends_at=T),
            start(),
        )
    state, _ = run(
        start(),
        Schedule(by="bob", at=T, kind=AppointmentKind.ON_SITE, starts_at=T + timedelta(days=1)),
    )
    assert len(state.appointments) == 1


def test_opened_by_intake_elsewhere_starts_there() -> None:
    state = start(opened(group="network", level=2))
    assert state.group == "network"
    assert state.level == 2
