"""The watcher's decision: which SLA facts (warning, breach) to record now, each at most once."""

from __future__ import annotations

from datetime import datetime

from helpdesk_shared.events.ticket import SlaBreached, SlaWarning, TicketEvent
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.sla import sla_views
from helpdesk_ticket.domain.ticket.state import Ticket


def check_sla(state: Ticket, policy: TicketPolicy, now: datetime, by: str) -> list[TicketEvent]:
    """`SlaBreached` once per target whose deadline passed (or was met late); `SlaWarning` once
    when most of the allowed time is spent. Nothing while the clock is paused."""
    events: list[TicketEvent] = []
    for view in sla_views(state, policy, now):
        if view.target in state.breached or view.deadline is None:
            continue
        common = {
            "ticket_id": state.id,
            "occurred_at": now,
            "target": view.target,
            "deadline": view.deadline,
            "priority": state.priority,
            "group": state.group,
            "by": by,
        }
        if view.due(now) or view.breached:
            events.append(SlaBreached.model_validate(common))
        elif view.near(now) and view.target not in state.warned:
            events.append(SlaWarning.model_validate(common))
    return events
