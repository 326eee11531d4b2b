"""Human-readable ticket references: sequential per year and type (`INC-2026-000042`)."""

from __future__ import annotations

import re

from helpdesk_shared.events.ticket import TicketType

PREFIXES: dict[TicketType, str] = {
    TicketType.INCIDENT: "INC",
    TicketType.SERVICE_REQUEST: "DEM",  # demande de service
    TicketType.COMPLAINT: "REC",  # réclamation
}

#: A reference anywhere in a text, such as a reply's subject `Re: [INC-2026-000042] ...`.
REFERENCE_PATTERN = re.compile(r"\b(INC|DEM|REC)-(\d{4})-(\d{6,})\b", re.IGNORECASE)


def format_reference(ticket_type: TicketType, year: int, number: int) -> str:
    return f"{PREFIXES[ticket_type]}-{year:04d}-{number:06d}"


def references_in(text: str) -> list[str]:
    """Every reference in `text`, normalised to upper case, in order of appearance."""
    return [m.group(0).upper() for m in REFERENCE_PATTERN.finditer(text)]
