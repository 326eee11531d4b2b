"""An out-of-scope request is recorded, never solved at level 1: routed, escalated to
management, or closed with the follow-up given to the requester."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk_shared.events.ticket import (
    Admissibility,
    Closed,
    ClosureCode,
    Escalated,
    HoldReason,
    PreQualification,
    Reason,
    Routed,
    TicketResolved,
)
from helpdesk_ticket.domain.errors import TransitionNotAllowed
from helpdesk_ticket.domain.ticket.commands import (
    Close,
    Comment,
    Escalate,
    Hold,
    Resolve,
    Route,
    Take,
)
from helpdesk_ticket.domain.ticket.decide import decide
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.domain.ticket.transitions import allowed_commands
from helpdesk_ticket.testing import MONDAY_9, opened, run, start

OUT = PreQualification(
    outcome=Admissibility.OUT_OF_SCOPE,
    reasons=(Reason(rule="excluded_private_request", message="Demande à titre privé."),),
)


def out_of_scope() -> Ticket:
    return start(opened().model_copy(update={"pre_qualification": OUT}))


def resolve(minutes: int = 5) -> Resolve:
    return Resolve(
        by="bob", at=MONDAY_9 + timedelta(minutes=minutes), solution="fait", resolution_code="fix"
    )


@pytest.mark.parametrize("taken", [False, True])
def test_resolve_is_refused_naming_what_the_desk_may_do(taken: bool) -> None:
    state = out_of_scope()
    if taken:
        state, _ = run(state, Take(by="bob", at=MONDAY_9 + timedelta(minutes=1)))
    allowed = allowed_commands(state, DEFAULT_POLICY)
    assert "resolve" not in allowed
    assert {"route", "escalate", "close"} <= set(allowed)
    with pytest.raises(TransitionNotAllowed) as refused:
        decide(resolve(), state)
    assert refused.value.allowed == allowed
    assert "out-of-scope" in str(refused.value)
    assert "follow-up" in str(refused.value)


def test_a_hold_or_a_comment_does_not_open_the_way_to_resolve() -> None:
    state, _ = run(
        out_of_scope(),
        Take(by="bob", at=MONDAY_9 + timedelta(minutes=1)),
        Comment(by="bob", at=MONDAY_9 + timedelta(minutes=2), text="Rappelé"),
        Hold(by="bob", at=MONDAY_9 + timedelta(minutes=3), reason=HoldReason.WAITING_REQUESTER),
    )
    with pytest.raises(TransitionNotAllowed):
        decide(resolve(), state)


def test_closed_with_its_follow_up() -> None:
    _, events = run(
        out_of_scope(),
        Close(
            by="bob",
            at=MONDAY_9 + timedelta(minutes=2),
            code=ClosureCode.OUT_OF_SCOPE,
            reason="Matériel personnel",
            follow_up="Orienté vers le revendeur du matériel",
        ),
    )
    assert isinstance(events[-1], Closed)
    assert events[-1].follow_up == "Orienté vers le revendeur du matériel"


def test_escalated_to_management_not_to_a_support_level() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        decide(Escalate(by="bob", at=MONDAY_9, reason="N2 ?"), out_of_scope())
    assert "to_management" in str(refused.value)
    _, events = run(
        out_of_scope(), Escalate(by="bob", at=MONDAY_9, reason="hors contrat", to_management=True)
    )
    assert isinstance(events[-1], Escalated)
    assert events[-1].to_management


def test_the_team_it_is_routed_to_may_resolve_it() -> None:
    state, events = run(
        out_of_scope(), Route(by="bob", at=MONDAY_9, to_group="servers", reason="leur domaine")
    )
    assert isinstance(events[-1], Routed)
    _, solved = run(state, resolve(30))
    assert isinstance(solved[-1], TicketResolved)
