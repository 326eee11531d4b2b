"""The ticket service's settings: the shared ones plus its port and the desk's rules."""

from __future__ import annotations

from datetime import date, time, timedelta

from pydantic import AwareDatetime, Field

from helpdesk_shared.events.ticket import Priority
from helpdesk_shared.settings import CommonSettings
from helpdesk_ticket.domain.calendar import BusinessCalendar
from helpdesk_ticket.domain.ticket.policy import DEFAULT_SLA, SlaTargets, TicketPolicy


class Settings(CommonSettings):
    """Environment variables of the ticket service (documented in the README).

    Lists and mappings are JSON, e.g. `TICKET_ON_CALL_PERIODS='[["2024-12-07T08:00:00+01:00",
    "2024-12-07T12:00:00+01:00"]]'`, `TICKET_SLA_MINUTES='{"P1": [15, 240]}'`.
    """

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
    #: Further days off (the DSI's own closures).
    ticket_extra_holidays: list[date] = Field(default_factory=list)
    #: On-call periods (astreintes): their time counts, nights and holidays included.
    ticket_on_call_periods: list[tuple[AwareDatetime, AwareDatetime]] = Field(default_factory=list)
    #: Per priority: [minutes to take into account, minutes to resolve], in business time.
    ticket_sla_minutes: dict[Priority, tuple[int, int]] = Field(default_factory=dict)
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
            extra_holidays=frozenset(self.ticket_extra_holidays),
            on_call=tuple(self.ticket_on_call_periods),
        )
        sla = dict(DEFAULT_SLA)
        for priority, (take, resolve) in self.ticket_sla_minutes.items():
            sla[priority] = SlaTargets(timedelta(minutes=take), timedelta(minutes=resolve))
        return TicketPolicy(
            reopen_window=timedelta(days=self.ticket_reopen_window_days),
            calendar=calendar,
            sla=sla,
        )
