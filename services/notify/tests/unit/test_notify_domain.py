"""Unit tests of notify's pure domain: who is told what, in which language, with which headers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from helpdesk_notify.domain.mail import address_problem, thread_root_id
from helpdesk_notify.domain.notifications import Routing, plan
from helpdesk_notify.domain.tickets import TicketStatus, TicketView, evolve, language_of
from helpdesk_shared.events.ticket import (
    Admissibility,
    AppointmentKind,
    AppointmentScheduled,
    Channel,
    Closed,
    ClosureCode,
    CommentAdded,
    Escalated,
    HoldReason,
    PreQualification,
    PutOnHold,
    Reason,
    RequesterSnapshot,
    Resumed,
    Routed,
    SlaBreached,
    SlaTarget,
    TicketOpened,
    TicketType,
    Visibility,
)

TICKET = uuid.UUID("11111111-2222-3333-4444-555555555555")
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
ROUTING = Routing(group_mailboxes={"servers": "n2-serveurs@ac-paris.fr"})


def opened(
    *,
    language: str = "fr",
    email: str | None = "jean.dupont@ac-paris.fr",
    outcome: str = "admissible",
) -> TicketOpened:
    reasons = (Reason(rule="excluded", message="Le matériel personnel est exclu du contrat."),)
    return TicketOpened(
        ticket_id=TICKET,
        occurred_at=NOW,
        reference="INC-2026-000042",
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        requester=RequesterSnapshot(
            login="jdupont", name="Jean Dupont", email=email, preferred_language=language
        ),
        subject="Imprimante en panne",
        description="L'imprimante du 2e étage n'imprime plus <rien>.",
        pre_qualification=PreQualification(
            outcome=Admissibility(outcome), reasons=reasons if outcome == "out_of_scope" else ()
        ),
        received_at=NOW,
    )


def closed() -> Closed:
    return Closed(
        ticket_id=TICKET,
        occurred_at=NOW,
        code=ClosureCode.RESOLVED,
        solution="Pilote réinstallé.",
        by="agent1",
    )


def view_after(*events: tuple[object, uuid.UUID]) -> TicketView | None:
    view: TicketView | None = None
    for event, event_id in events:
        view = evolve(view, event, event_id)  # type: ignore[arg-type]
    return view


def test_unit_opening_confirmation_in_french_threads_from_the_root() -> None:
    event, event_id = opened(), uuid.uuid4()
    view = view_after((event, event_id))
    (notification,) = plan(event, event_id, view, ROUTING)
    assert notification.recipient == "jean.dupont@ac-paris.fr"
    assert notification.template == "opened"
    assert notification.language == "fr"
    mail = notification.mail
    assert mail is not None
    assert mail.subject == "[INC-2026-000042] Ouverture de votre ticket : Imprimante en panne"
    assert "INC-2026-000042" in mail.text
    assert mail.message_id == thread_root_id(TICKET, "helpdesk.local")
    assert mail.in_reply_to is None


def test_unit_english_when_the_requester_prefers_it() -> None:
    event, event_id = opened(language="en-GB"), uuid.uuid4()
    (notification,) = plan(event, event_id, view_after((event, event_id)), ROUTING)
    assert notification.language == "en"
    assert notification.mail is not None
    assert notification.mail.subject.startswith("[INC-2026-000042] Your ticket is open")


def test_unit_unknown_language_falls_back_to_french() -> None:
    assert language_of("de") == "fr"
    assert language_of(None) == "fr"
    assert language_of("EN") == "en"


def test_unit_out_of_scope_confirmation_says_why_and_what_next() -> None:
    event, event_id = opened(outcome="out_of_scope"), uuid.uuid4()
    (notification,) = plan(event, event_id, view_after((event, event_id)), ROUTING)
    assert notification.mail is not None
    assert "Le matériel personnel est exclu du contrat." in notification.mail.text
    assert "périmètre" in notification.mail.text
    assert "Le matériel personnel est exclu du contrat." in notification.mail.html


def test_unit_html_part_escapes_what_the_requester_typed() -> None:
    event, event_id = opened(), uuid.uuid4()
    routed = Routed(
        ticket_id=TICKET,
        occurred_at=NOW,
        from_group="desk",
        to_group="servers",
        reason="serveur",
        by="agent1",
    )
    routed_id = uuid.uuid4()
    view = view_after((event, event_id), (routed, routed_id))
    (notification,) = plan(routed, routed_id, view, ROUTING)
    assert notification.mail is not None
    assert "&lt;rien&gt;" in notification.mail.html
    assert "<rien>" in notification.mail.text


def test_unit_closure_carries_solution_rating_link_and_thread_headers() -> None:
    first_id, close_id = uuid.uuid4(), uuid.uuid4()
    view = view_after((opened(), first_id), (closed(), close_id))
    assert view is not None
    assert view.status is TicketStatus.CLOSED
    (notification,) = plan(closed(), close_id, view, ROUTING)
    mail = notification.mail
    assert mail is not None
    assert "Pilote réinstallé." in mail.text
    assert f"/tickets/{TICKET}/satisfaction" in mail.text
    root = thread_root_id(TICKET, "helpdesk.local")
    assert mail.in_reply_to == root
    assert mail.references == (root,)
    assert mail.message_id != root
    assert mail.subject.startswith("[INC-2026-000042] ")


def test_unit_planning_is_deterministic_per_event_and_recipient() -> None:
    first_id, close_id = uuid.uuid4(), uuid.uuid4()
    view = view_after((opened(), first_id), (closed(), close_id))
    assert plan(closed(), close_id, view, ROUTING) == plan(closed(), close_id, view, ROUTING)
    other = plan(closed(), uuid.uuid4(), view, ROUTING)[0].mail
    assert other is not None
    assert other.message_id != plan(closed(), close_id, view, ROUTING)[0].mail.message_id  # type: ignore[union-attr]


def test_unit_routing_tells_the_target_group_mailbox_with_history() -> None:
    routed = Routed(
        ticket_id=TICKET,
        occurred_at=NOW,
        from_group="desk",
        to_group="servers",
        reason="Relève du domaine serveurs",
        by="agent1",
    )
    routed_id = uuid.uuid4()
    view = view_after((opened(), uuid.uuid4()), (routed, routed_id))
    (notification,) = plan(routed, routed_id, view, ROUTING)
    assert notification.recipient == "n2-serveurs@ac-paris.fr"
    assert notification.template == "handover"
    assert notification.mail is not None
    assert "Historique" in notification.mail.text
    assert "desk -> servers" in notification.mail.text


def test_unit_escalation_to_default_group_mailbox_and_to_management() -> None:
    up = Escalated(
        ticket_id=TICKET,
        occurred_at=NOW,
        from_level=1,
        to_level=2,
        group="reseau",
        reason="Hors N1",
        by="agent1",
    )
    up_id = uuid.uuid4()
    view = view_after((opened(), uuid.uuid4()), (up, up_id))
    assert plan(up, up_id, view, ROUTING)[0].recipient == "reseau@helpdesk.local"
    boss = up.model_copy(update={"to_management": True})
    (alert,) = plan(boss, up_id, view, ROUTING)
    assert alert.recipient == "management@helpdesk.local"
    assert alert.template == "management_escalation"


def test_unit_missing_or_invalid_address_is_a_recorded_failure_not_a_crash() -> None:
    event, event_id = opened(email=None), uuid.uuid4()
    (notification,) = plan(event, event_id, view_after((event, event_id)), ROUTING)
    assert notification.mail is None
    assert notification.recipient == "jdupont"
    assert notification.problem == "no e-mail address on file"
    bad = Routing(group_mailboxes={"servers": "not an address"})
    routed = Routed(
        ticket_id=TICKET,
        occurred_at=NOW,
        from_group="desk",
        to_group="servers",
        reason="r",
        by="a",
    )
    view = view_after((event, event_id), (routed, uuid.uuid4()))
    (failed,) = plan(routed, uuid.uuid4(), view, bad)
    assert failed.mail is None
    assert failed.problem is not None


def test_unit_address_check_accepts_intranet_domains_and_refuses_header_injection() -> None:
    assert address_problem("desk@helpdesk.local") is None
    assert address_problem("a@b@c") is not None
    assert address_problem("x@example.org\r\nBcc: y@z.fr") is not None
    assert address_problem("x@example.org\n") is not None


def test_unit_evolve_ignores_an_event_applied_twice_and_events_before_opening() -> None:
    first_id, routed_id = uuid.uuid4(), uuid.uuid4()
    routed = Routed(
        ticket_id=TICKET,
        occurred_at=NOW,
        from_group="desk",
        to_group="servers",
        reason="r",
        by="a",
    )
    once = view_after((opened(), first_id), (routed, routed_id))
    twice = evolve(once, routed, routed_id)
    assert once == twice
    assert evolve(None, closed(), uuid.uuid4()) is None
    assert plan(closed(), uuid.uuid4(), None, ROUTING) == ()


def later(event_type: type[Any], **fields: Any) -> Any:
    return event_type(ticket_id=TICKET, occurred_at=NOW, **fields)


def test_unit_public_comment_hold_resume_and_appointment_tell_the_requester() -> None:
    first_id = uuid.uuid4()
    events = [
        (
            later(CommentAdded, text="Merci de redémarrer.", visibility=Visibility.PUBLIC, by="a1"),
            "comment",
            "Merci de redémarrer.",
        ),
        (
            later(
                PutOnHold,
                reason=HoldReason.WAITING_REQUESTER,
                detail="Votre n° de poste ?",
                by="a1",
            ),
            "on_hold",
            "retour de votre part",
        ),
        (later(Resumed, by="a1"), "resumed", "a repris"),
        (
            later(
                AppointmentScheduled,
                kind=AppointmentKind.ON_SITE,
                starts_at=datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
                location="Bureau 204",
                by="a1",
            ),
            "appointment",
            "24/11/2026 14:00",
        ),
    ]
    for event, template, expected in events:
        event_id = uuid.uuid4()
        view = view_after((opened(), first_id), (event, event_id))
        (notification,) = plan(event, event_id, view, ROUTING)
        assert notification.template == template
        assert notification.recipient == "jean.dupont@ac-paris.fr"
        assert notification.mail is not None
        assert expected in notification.mail.text, notification.mail.text


def test_unit_hold_then_resume_moves_the_status() -> None:
    held = later(PutOnHold, reason=HoldReason.WAITING_THIRD_PARTY, by="a1")
    view = view_after((opened(), uuid.uuid4()), (held, uuid.uuid4()))
    assert view is not None
    assert view.status is TicketStatus.ON_HOLD
    view = evolve(view, later(Resumed, by="a1"), uuid.uuid4())
    assert view is not None
    assert view.status is TicketStatus.OPEN


def test_unit_internal_comments_and_the_requesters_own_comments_send_nothing() -> None:
    internal = later(CommentAdded, text="Voir N2", visibility=Visibility.INTERNAL, by="a1")
    own = later(CommentAdded, text="Toujours en panne", visibility=Visibility.PUBLIC, by="jdupont")
    for event in (internal, own):
        event_id = uuid.uuid4()
        view = view_after((opened(), uuid.uuid4()), (event, event_id))
        assert plan(event, event_id, view, ROUTING) == ()


def test_unit_sla_breach_alerts_management_and_sets_the_deadline() -> None:
    deadline = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    breach = later(SlaBreached, target=SlaTarget.RESOLUTION, deadline=deadline, group="desk")
    breach_id = uuid.uuid4()
    view = view_after((opened(), uuid.uuid4()), (breach, breach_id))
    assert view is not None
    assert view.due_at == deadline
    (alert,) = plan(breach, breach_id, view, ROUTING)
    assert alert.recipient == "management@helpdesk.local"
    assert alert.template == "sla_breach"
    assert alert.mail is not None
    assert "résolution" in alert.mail.subject


def test_unit_a_request_to_route_says_another_team_takes_it() -> None:
    event = opened(outcome="to_route")
    event = event.model_copy(
        update={
            "pre_qualification": PreQualification(
                outcome=Admissibility.TO_ROUTE, routed_domain="servers"
            )
        }
    )
    event_id = uuid.uuid4()
    (notification,) = plan(event, event_id, view_after((event, event_id)), ROUTING)
    assert notification.mail is not None
    assert "autre équipe (domaine servers)" in notification.mail.text
    assert "autre équipe (domaine servers)" in notification.mail.html
