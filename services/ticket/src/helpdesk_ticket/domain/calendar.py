"""Business time for the SLA clock: the desk's one calendar, shared with the metrics service.

The calendar (working hours, French public holidays, on-call periods) is defined once in
`helpdesk_shared.calendar`, so the SLA's elapsed time and the KPIs' durations always agree.
"""

from __future__ import annotations

from helpdesk_shared.calendar import DEFAULT_HOURS as DEFAULT_HOURS
from helpdesk_shared.calendar import BusinessCalendar as BusinessCalendar
from helpdesk_shared.calendar import Interval as Interval
