"""Remote maintenance (taking control of the requester's workstation from a distance).

Offered to the staff of schools (organisation kind `eple`) only, and only after they formally
agreed: a remote appointment needs the requester's consent, recorded on the ticket, granted and
not withdrawn since (the last consent recorded is the one that holds). On-site visits need none.
"""

from __future__ import annotations

from helpdesk_ticket.domain.ticket.state import Ticket

EPLE = "eple"


def remote_maintenance_refusal(state: Ticket) -> str | None:
    """Why a remote appointment may not be scheduled on this ticket; None when it may."""
    if state.requester_organisation_kind != EPLE:
        return "remote maintenance is offered to the staff of an EPLE (school) only"
    if state.consent is None:
        return (
            "remote maintenance needs the requester's formal consent first: record it with "
            "record-consent"
        )
    if not state.consent.granted:
        return (
            "the requester refused or withdrew consent to remote maintenance: schedule an "
            "on-site visit, or record a new consent"
        )
    return None
