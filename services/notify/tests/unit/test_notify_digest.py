"""Unit tests of the daily follow-up digest: which tickets each group is shown, once a day."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from helpdesk_notify.application.digest import next_run
from helpdesk_notify.domain.digest import digest_id, digest_notification, follow_up
from helpdesk_notify.domain.notifications import Routing
from helpdesk_notify.domain.tickets import TicketStatus, TicketView

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def view(reference: str, group: str, *, idle_for: timedelta, **changes: object) -> TicketView:
    base = TicketView(
        ticket_id=uuid.uuid4(),
        reference=reference,
        subject=f"Sujet {reference}",
        description="",
        ticket_type="incident",
        requester_login="jdupont",
        requester_name="Jean Dupont",
        requester_email="jean.dupont@ac-paris.fr",
        language="fr",
        group=group,
        level=1,
        status=TicketStatus.OPEN,
        opened_at=NOW - idle_for,
        last_activity_at=NOW - idle_for,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_unit_digest_lists_idle_tickets_and_near_deadlines_per_group() -> None:
    views = [
        view("INC-1", "desk", idle_for=timedelta(days=2)),
        view("INC-2", "desk", idle_for=timedelta(hours=2)),
        view("INC-3", "desk", idle_for=timedelta(hours=1), due_at=NOW + timedelta(hours=3)),
        view("INC-4", "servers", idle_for=timedelta(days=3), status=TicketStatus.ON_HOLD),
        view("INC-5", "servers", idle_for=timedelta(days=3), status=TicketStatus.CLOSED),
        view("INC-6", "network", idle_for=timedelta(hours=1), due_at=NOW + timedelta(days=3)),
    ]
    desk, servers = follow_up(views, NOW)
    assert desk.group == "desk"
    assert [v.reference for v in desk.idle] == ["INC-1"]
    assert [v.reference for v in desk.due_soon] == ["INC-3"]
    assert servers.group == "servers"
    assert [v.reference for v in servers.idle] == ["INC-4"]
    assert servers.due_soon == ()


def test_unit_digest_mail_goes_to_the_group_mailbox_once_a_day() -> None:
    overdue = view("INC-7", "desk", idle_for=timedelta(days=2), due_at=NOW - timedelta(hours=1))
    (desk,) = follow_up([overdue], NOW)
    notification = digest_notification(desk, NOW.date(), NOW, Routing())
    assert notification.recipient == "desk@helpdesk.local"
    assert notification.event_id == digest_id("desk", NOW.date())
    assert notification.event_id != digest_id("desk", NOW.date() + timedelta(days=1))
    assert notification.mail is not None
    assert notification.mail.subject.startswith("[Suivi quotidien] desk : 1 sans activité")
    assert "[INC-7]" in notification.mail.text
    assert "DÉPASSÉE" in notification.mail.text
    assert notification == digest_notification(desk, NOW.date(), NOW, Routing())


def test_unit_next_run_is_the_next_digest_hour() -> None:
    assert next_run(NOW, 8) == NOW.replace(hour=8)
    assert next_run(NOW, 7) == NOW.replace(hour=7) + timedelta(days=1)
