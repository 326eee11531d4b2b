"""Directory corrections and ticket references: pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from helpdesk_intake.domain.contracts import Contract
from helpdesk_intake.domain.references import format_reference, references_in
from helpdesk_intake.domain.requesters import Equipment, Requester, changes_between, corrected
from helpdesk_shared.events.ticket import TicketType


def test_a_correction_changes_only_what_the_caller_said() -> None:
    before = Requester(login="jd", name="Jeanne", office="A-1", phone="01")
    after = corrected(before, {"office": "B-2", "login": "other", "needs_verification": True})
    assert (after.login, after.office, after.phone, after.needs_verification) == (
        "jd",
        "B-2",
        "01",
        False,
    )
    assert changes_between(before, after) == {"office": {"from": "A-1", "to": "B-2"}}


def test_equipment_changes_are_logged_whole() -> None:
    before = Requester(login="jd", name="Jeanne")
    printer = Equipment(asset_tag="LASER-1", kind="printer", acquired_on=date(2026, 4, 1))
    after = corrected(before, {"equipment": (printer,)})
    change = changes_between(before, after)["equipment"]
    assert change["from"] == []
    assert change["to"][0]["asset_tag"] == "LASER-1"
    assert after.asset("laser-1") == printer


@pytest.mark.parametrize(
    ("ticket_type", "year", "number", "reference"),
    [
        (TicketType.INCIDENT, 2026, 42, "INC-2026-000042"),
        (TicketType.SERVICE_REQUEST, 2026, 7, "DEM-2026-000007"),
        (TicketType.INCIDENT, 2027, 1_234_567, "INC-2027-1234567"),
    ],
)
def test_references_read_as_the_desk_writes_them(
    ticket_type: TicketType, year: int, number: int, reference: str
) -> None:
    assert format_reference(ticket_type, year, number) == reference


def test_references_are_found_in_a_subject() -> None:
    subject = "RE: TR: [inc-2026-000042] imprimante (voir aussi DEM-2026-000007)"
    assert references_in(subject) == ["INC-2026-000042", "DEM-2026-000007"]
    assert references_in("INC-26-42 XINC-2026-000001") == []


def test_contract_dates_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="valid_until"):
        Contract(
            name="c",
            client="x",
            signed_on=date(2026, 1, 1),
            valid_from=date(2026, 1, 1),
            valid_until=date(2025, 1, 1),
        )
