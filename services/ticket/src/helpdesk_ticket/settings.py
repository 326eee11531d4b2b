"""The ticket service's settings: the shared ones plus its port and the desk's rules."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from helpdesk_shared.events.ticket import Priority
from helpdesk_shared.settings import CalendarSettings
from helpdesk_ticket.domain.ticket.policy import DEFAULT_SLA, SlaTargets, TicketPolicy


class Settings(CalendarSettings):
    """Environment variables of the ticket service (documented in the README).

    The SLA clock counts business time on the desk's one calendar (`CalendarSettings`: the
    `HELPDESK_TIMEZONE`, `HELPDESK_WORKING_HOURS_*`, `HELPDESK_WORKDAYS`, `HELPDESK_*HOLIDAY*`,
    `HELPDESK_ON_CALL_PERIODS` variables the metrics service reads too; the older `TICKET_*`
    names still work). Mappings are JSON, e.g. `TICKET_SLA_MINUTES='{"P1": [15, 240]}'`.
    """

    ticket_host: str = "127.0.0.1"
    ticket_port: int = 8002
    #: How long after a resolution the requester may dispute it (reopen).
    ticket_reopen_window_days: int = 10
    #: Per priority: [minutes to take into account, minutes to resolve], in business time.
    #: The support contracts make no time commitment (their response times depend on the load
    #: and the request's complexity; priority follows criticality and how many are affected):
    #: the defaults (`DEFAULT_SLA`: P1 15 min / 4 h, P2 30 min / 8 h, P3 30 min / 20 h,
    #: P4 1 h / 40 h) are the desk's own choice, to be set here to what the desk commits to.
    ticket_sla_minutes: dict[Priority, tuple[int, int]] = Field(default_factory=dict)
    #: How often the SLA watcher looks for deadlines passed or near.
    ticket_sla_watch_seconds: float = 30.0
    #: Ticket states kept in memory per process (least recently used out): the bound of the
    #: process's memory for states; a miss reads the ticket's snapshot and newer events.
    ticket_state_cache_size: int = Field(default=10_000, ge=0)
    #: Run the list projection and the SLA watcher in this process.
    ticket_background_tasks: bool = True

    def policy(self) -> TicketPolicy:
        calendar = self.business_calendar()
        sla = dict(DEFAULT_SLA)
        for priority, (take, resolve) in self.ticket_sla_minutes.items():
            sla[priority] = SlaTargets(timedelta(minutes=take), timedelta(minutes=resolve))
        return TicketPolicy(
            reopen_window=timedelta(days=self.ticket_reopen_window_days),
            calendar=calendar,
            sla=sla,
        )
