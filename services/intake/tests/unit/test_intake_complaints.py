"""A request that says "plainte" or "réclamation" is a complaint, for management."""

from __future__ import annotations

import pytest

from helpdesk_intake.domain.complaints import (
    DEFAULT_COMPLAINT_KEYWORDS,
    starting_group,
    ticket_type,
)
from helpdesk_intake.domain.references import PREFIXES, format_reference, references_in
from helpdesk_shared.events.ticket import TicketType

KEYWORDS = DEFAULT_COMPLAINT_KEYWORDS


@pytest.mark.parametrize(
    ("subject", "description"),
    [
        ("Plainte", "Personne ne m'a rappelé"),
        ("Ticket INC-2026-000042", "Je dépose une réclamation : délai trop long"),
        ("RECLAMATION", "sans accents ni minuscules"),
        ("Mes réclamations", "restées sans réponse"),
    ],
)
def test_the_keywords_make_a_complaint(subject: str, description: str) -> None:
    assert ticket_type(None, subject, description, KEYWORDS) is TicketType.COMPLAINT


@pytest.mark.parametrize(
    ("subject", "description"),
    [
        ("Imprimante en panne", "Plus rien ne sort"),
        ("Complainte", "une chanson ancienne (le mot seul compte)"),
    ],
)
def test_other_requests_are_incidents(subject: str, description: str) -> None:
    assert ticket_type(None, subject, description, KEYWORDS) is TicketType.INCIDENT


def test_a_type_chosen_at_the_desk_is_kept() -> None:
    chosen = ticket_type(TicketType.SERVICE_REQUEST, "Réclamation", "", KEYWORDS)
    assert chosen is TicketType.SERVICE_REQUEST


def test_the_keywords_are_a_setting() -> None:
    assert ticket_type(None, "Plainte", "", ()) is TicketType.INCIDENT
    assert ticket_type(None, "Mécontent", "", ("mécontent",)) is TicketType.COMPLAINT


def test_a_complaint_goes_to_management_with_its_own_references() -> None:
    assert starting_group(TicketType.COMPLAINT, "desk") == "management"
    assert starting_group(TicketType.INCIDENT, "servers") == "servers"
    assert PREFIXES[TicketType.COMPLAINT] == "REC"
    reference = format_reference(TicketType.COMPLAINT, 2026, 7)
    assert reference == "REC-2026-000007"
    assert references_in(f"Re: [{reference}] suite") == [reference]
