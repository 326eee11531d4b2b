"""The ticket service's settings: the shared ones plus its port and the desk's rules."""

from __future__ import annotations

from datetime import time, timedelta

from helpdesk_shared.settings import CommonSettings
from helpdesk_ticket.domain.calendar import BusinessCalendar
from helpdesk_ticket.domain.policy import TicketPolicy


class Settings(CommonSettings):
    """Environment variables of the ticket service (documented in the README)."""

    ticket_host: str = "127.0.0.1"
    ticket_port: int = 8002
    #: How long after a resolution the requester may dispute it (reopen).
    ticket_reopen_window_days: int = 10
    #: The desk's time zone and daily working hours (Monday to Friday) for the SLA clock.
    ticket_timezone: str = "Europe/Paris"
    ticket_working_hours_start: time = time(8, 0)
    ticket_working_hours_end: time = time(18, 0)
    #: Public holidays of this country do not count (None: no holidays).
    ticket_holiday_country: str | None = "FR"
    #: How often the SLA watcher looks for deadlines passed or near.
    ticket_sla_watch_seconds: float = 30.0
    #: Run the list projection and the SLA watcher in this process.
    ticket_background_tasks: bool = True

    def policy(self) -> TicketPolicy:
        hours = ((self.ticket_working_hours_start, self.ticket_working_hours_end),)
        calendar = BusinessCalendar(
            timezone=self.ticket_timezone,
            hours=dict.fromkeys(range(5), hours),
            holiday_country=self.ticket_holiday_country,
        )
        return TicketPolicy(
            reopen_window=timedelta(days=self.ticket_reopen_window_days), calendar=calendar
        )
