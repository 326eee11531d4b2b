"""Reinstalling the standard system: the desk's answer to a breakdown the user caused.

A breakdown caused by a misuse, or by installing software outside the approved base, is repaired
by reinstalling the operating system and restoring the initial settings. Such a resolution
(`reinstall`) records the cause, so the desk can tell these breakdowns apart; no other
resolution carries one.
"""

from __future__ import annotations

from helpdesk_shared.events.ticket import BreakdownCause
from helpdesk_ticket.domain.errors import InvalidCommand

REINSTALL = "reinstall"


def breakdown_cause(resolution_code: str, cause: BreakdownCause | None) -> BreakdownCause | None:
    """The cause a resolution records, or `InvalidCommand` naming `cause` when it is wrong."""
    causes = ", ".join(c.value for c in BreakdownCause)
    if resolution_code == REINSTALL and cause is None:
        raise InvalidCommand("cause", f"a reinstall needs the breakdown's cause; one of: {causes}")
    if resolution_code != REINSTALL and cause is not None:
        only = f"a cause is recorded with resolution_code {REINSTALL!r} only"
        raise InvalidCommand("cause", only)
    return cause
