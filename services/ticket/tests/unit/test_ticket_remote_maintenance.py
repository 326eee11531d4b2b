"""Remote maintenance: for an EPLE's staff only, with their consent granted and not withdrawn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk_shared.events.ticket import AppointmentKind, AppointmentScheduled
from helpdesk_ticket.domain.errors import TransitionNotAllowed
from helpdesk_ticket.domain.ticket.commands import RecordConsent, Schedule
from helpdesk_ticket.domain.ticket.decide import decide
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.testing import MONDAY_9, opened, run, start

LATER = MONDAY_9 + timedelta(days=1)


def ticket(kind: str | None = "eple") -> Ticket:
    return start(opened(organisation_kind=kind))


def consent(granted: bool, minutes: int = 1) -> RecordConsent:
    return RecordConsent(
        by="bob", at=MONDAY_9 + timedelta(minutes=minutes), granted=granted, channel="phone"
    )


def remote(kind: AppointmentKind = AppointmentKind.REMOTE) -> Schedule:
    return Schedule(by="bob", at=MONDAY_9 + timedelta(minutes=10), kind=kind, starts_at=LATER)


def test_an_eple_requester_who_consented_gets_a_remote_appointment() -> None:
    state, _ = run(ticket(), consent(True))
    events = decide(remote(), state)
    assert isinstance(events[0], AppointmentScheduled)
    assert events[0].kind is AppointmentKind.REMOTE


@pytest.mark.parametrize(
    ("kind", "consents", "why"),
    [
        ("eple", (), "consent first"),
        ("eple", (False,), "refused or withdrew"),
        ("eple", (True, False), "refused or withdrew"),  # withdrawn after being granted
        ("company", (True,), "EPLE"),
        (None, (True,), "EPLE"),
    ],
)
def test_remote_maintenance_is_refused_naming_why(
    kind: str | None, consents: tuple[bool, ...], why: str
) -> None:
    state, _ = run(ticket(kind), *(consent(g, n) for n, g in enumerate(consents, start=1)))
    with pytest.raises(TransitionNotAllowed) as refused:
        decide(remote(), state)
    assert why in str(refused.value)
    assert "record-consent" in refused.value.allowed


def test_an_on_site_visit_needs_no_consent() -> None:
    assert decide(remote(AppointmentKind.ON_SITE), ticket("company"))
