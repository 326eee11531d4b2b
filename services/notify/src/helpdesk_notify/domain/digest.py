"""The daily follow-up ("suivi quotidien", docs/desk-rules.md): per group, what needs a look today.

For each support group: its open tickets without activity for a day, and those whose deadline is
near or passed. Pure: the same views and day give the same digest, with an id fixed by (group,
day), so running the digest twice in a day sends it once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from helpdesk_notify.domain.mail import Mail, address_problem, render_parts
from helpdesk_notify.domain.notifications import Notification, Routing
from helpdesk_notify.domain.tickets import TicketStatus, TicketView

IDLE_AFTER = timedelta(days=1)
DUE_WITHIN = timedelta(hours=24)
_NAMESPACE = uuid.UUID("0d2b6a7e-6c1d-4f0e-8f43-3b1f0c9a5e22")


@dataclass(frozen=True)
class GroupFollowUp:
    group: str
    idle: tuple[TicketView, ...]
    due_soon: tuple[TicketView, ...]


def follow_up(
    views: Iterable[TicketView],
    now: datetime,
    *,
    idle_after: timedelta = IDLE_AFTER,
    due_within: timedelta = DUE_WITHIN,
) -> tuple[GroupFollowUp, ...]:
    """Per group (by name), the tickets idle since `idle_after` and those due within
    `due_within` (or overdue); groups with nothing to follow are left out."""
    idle: dict[str, list[TicketView]] = defaultdict(list)
    due: dict[str, list[TicketView]] = defaultdict(list)
    for view in views:
        if view.status is TicketStatus.CLOSED:
            continue
        if view.last_activity_at <= now - idle_after:
            idle[view.group].append(view)
        if view.due_at is not None and view.due_at <= now + due_within:
            due[view.group].append(view)
    return tuple(
        GroupFollowUp(
            group,
            tuple(sorted(idle[group], key=lambda v: v.last_activity_at)),
            tuple(sorted(due[group], key=lambda v: v.due_at or now)),
        )
        for group in sorted(set(idle) | set(due))
    )


def digest_id(group: str, day: date) -> uuid.UUID:
    """The digest's id, standing for an event id in the ledger: one per (group, day)."""
    return uuid.uuid5(_NAMESPACE, f"digest/{group}/{day.isoformat()}")


def digest_notification(
    followed: GroupFollowUp, day: date, now: datetime, routing: Routing
) -> Notification:
    """The digest mail of one group for `day`, in the group's language (French by default)."""
    event_id = digest_id(followed.group, day)
    recipient = routing.group_mailbox(followed.group)
    language = routing.group_language(followed.group)
    problem = address_problem(recipient)
    if problem is not None:
        return Notification(event_id, None, recipient, "digest", language, None, problem)
    context = {
        "group": followed.group,
        "idle": followed.idle,
        "due_soon": followed.due_soon,
        "day": day,
        "now": now,
        "ticket_url": routing.ticket_url,
    }
    subject, text, html = render_parts("digest", language, context)
    own_id = f"<digest-{event_id}@{routing.message_id_domain}>"
    mail = Mail(recipient, subject, text, html, own_id, None, ())
    return Notification(event_id, None, recipient, "digest", language, mail)
