"""A breakdown the user caused (misuse, software outside the approved base): reinstalled, with
its cause recorded; the cause goes with the `reinstall` resolution and with no other."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk_shared.events.ticket import BreakdownCause, TicketResolved
from helpdesk_ticket.domain.errors import InvalidCommand
from helpdesk_ticket.domain.ticket.commands import Resolve
from helpdesk_ticket.domain.ticket.decide import decide
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.testing import MONDAY_9, opened, run, start

AT = MONDAY_9 + timedelta(minutes=5)


def ticket() -> Ticket:
    return start(opened())


def resolve(code: str, cause: BreakdownCause | None = None) -> Resolve:
    return Resolve(
        by="bob", at=AT, solution="Système réinstallé", resolution_code=code, cause=cause
    )


@pytest.mark.parametrize("cause", list(BreakdownCause))
def test_a_reinstall_records_the_breakdowns_cause(cause: BreakdownCause) -> None:
    state, events = run(ticket(), resolve("reinstall", cause))
    resolved = events[-1]
    assert isinstance(resolved, TicketResolved)
    assert (resolved.resolution_code, resolved.cause) == ("reinstall", cause)
    assert state.resolution is not None
    assert state.resolution.cause is cause


def test_a_reinstall_without_its_cause_is_refused_naming_the_causes() -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide(resolve("reinstall"), ticket())
    assert refused.value.field == "cause"
    assert "misuse" in refused.value.message
    assert "software_outside_approved_base" in refused.value.message


def test_a_cause_goes_with_a_reinstall_only() -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide(resolve("fix", BreakdownCause.MISUSE), ticket())
    assert refused.value.field == "cause"
    resolved = decide(resolve("fix"), ticket())[-1]
    assert isinstance(resolved, TicketResolved)
    assert resolved.cause is None


def test_a_resolution_recorded_before_causes_existed_still_reads() -> None:
    older = {
        "ticket_id": "8d1f0c56-2f4b-4c8e-9a7e-0b3f5d6c7e81",
        "occurred_at": AT.isoformat(),
        "solution": "Pilote réinstallé",
        "resolution_code": "fix",
        "first_contact": True,
        "level": 1,
        "group": "desk",
        "by": "bob",
    }
    assert TicketResolved.model_validate(older).cause is None
