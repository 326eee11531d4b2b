"""Unit tests of the languages of notify's mails: staff mailboxes and management read French
unless configured otherwise, and the requester hears about a reopened ticket in its language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest

from helpdesk_notify.domain.digest import digest_notification, follow_up
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.domain.notifications import Notification, Routing, plan
from helpdesk_notify.domain.tickets import TicketView, evolve
from helpdesk_notify.settings import Settings
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    Escalated,
    PreQualification,
    RequesterSnapshot,
    Routed,
    SlaBreached,
    SlaTarget,
    TicketOpened,
    TicketReopened,
    TicketType,
)

TICKET = uuid.UUID("11111111-2222-3333-4444-555555555555")
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
REFERENCE = "INC-2026-000042"
FRENCH = Routing()
ENGLISH = Routing(group_languages={"servers": "en-GB"}, management_language="en")


def opened(language: str = "fr") -> TicketOpened:
    return TicketOpened(
        ticket_id=TICKET,
        occurred_at=NOW,
        reference=REFERENCE,
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        requester=RequesterSnapshot(
            login="jdupont",
            name="Jean Dupont",
            email="jean.dupont@ac-paris.fr",
            preferred_language=language,
        ),
        subject="Imprimante en panne",
        description="L'imprimante n'imprime plus <rien>.",
        pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
        received_at=NOW,
    )


def later(event_type: type[Any], **fields: Any) -> Any:
    return event_type(ticket_id=TICKET, occurred_at=NOW, **fields)


def planned(event: DomainEvent, routing: Routing, language: str = "fr") -> Notification:
    """The one notification `event` gives after the ticket's opening."""
    view: TicketView | None = evolve(None, opened(language), uuid.uuid4())
    event_id = uuid.uuid4()
    view = evolve(view, event, event_id)
    (notification,) = plan(event, event_id, view, routing)
    return notification


def sent(notification: Notification) -> Mail:
    assert notification.mail is not None, notification.problem
    return notification.mail


ROUTED = later(Routed, from_group="desk", to_group="servers", reason="Serveur", by="agent1")
ESCALATED = later(
    Escalated, from_level=1, to_level=2, group="servers", reason="Hors N1", by="agent1"
)
TO_MANAGEMENT = ESCALATED.model_copy(update={"to_management": True})
BREACH = later(
    SlaBreached,
    target=SlaTarget.RESOLUTION,
    deadline=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
    group="servers",
)

#: (event, template, {language: (subject's words, body's words)}): the body's in both parts.
STAFF_MAILS = [
    (ROUTED, "handover", {
        "fr": ("Transfert au groupe servers", ("du groupe desk au groupe servers", "Historique")),
        "en": ("Transferred to group servers", ("from group desk to group servers", "History")),
    }),
    (ESCALATED, "handover", {
        "fr": ("Escalade vers N2", ("escaladé du niveau N1 au niveau N2", "Résumé")),
        "en": ("Escalated to L2", ("escalated from level L1 to level L2", "Summary")),
    }),
    (TO_MANAGEMENT, "management_escalation", {
        "fr": ("Escalade à la direction", ("escaladé à la direction par agent1", "Historique")),
        "en": ("Escalated to management", ("escalated to management by agent1", "History")),
    }),
    (BREACH, "sla_breach", {
        "fr": ("Engagement dépassé (résolution)", ("échéance de résolution", "Échéance :")),
        "en": ("Commitment missed (resolution)", ("resolution deadline", "Deadline:")),
    }),
]  # fmt: skip


@pytest.mark.parametrize(("event", "template", "words"), STAFF_MAILS)
def test_unit_staff_mails_are_french_by_default_and_english_when_configured(
    event: DomainEvent, template: str, words: dict[str, tuple[str, tuple[str, str]]]
) -> None:
    for routing, language, other in ((FRENCH, "fr", "en"), (ENGLISH, "en", "fr")):
        notification = planned(event, routing)
        assert (notification.template, notification.language) == (template, language)
        mail = sent(notification)
        subject_words, body_words = words[language]
        colon = " : " if language == "fr" else ": "  # French typography wants the space
        assert mail.subject == f"[{REFERENCE}] {subject_words}{colon}Imprimante en panne"
        for word in body_words:
            assert word in mail.text, mail.text
            assert word in mail.html, mail.html
        assert words[other][1][1] not in mail.text
        assert REFERENCE in mail.text
        assert REFERENCE in mail.html


@pytest.mark.parametrize(
    ("routing", "lines"),
    [
        (FRENCH, ("ouverture", "réorientation", "escalade à la direction")),
        (ENGLISH, ("opened", "routed", "escalated to management")),
    ],
    ids=["fr", "en"],
)
def test_unit_history_lines_read_in_the_mailbox_language(
    routing: Routing, lines: tuple[str, ...]
) -> None:
    view: TicketView | None = evolve(None, opened(), uuid.uuid4())
    for event in (ROUTED, TO_MANAGEMENT):
        view = evolve(view, event, uuid.uuid4())
    (notification,) = plan(TO_MANAGEMENT, uuid.uuid4(), view, routing)
    mail = sent(notification)
    for line in lines:
        assert line in mail.text, mail.text
        assert line in mail.html, mail.html
    if routing is ENGLISH:
        assert not {"direction", "escalade", "ouverture"} & set(mail.text.split())


def test_unit_english_handover_escapes_the_description_in_html_only() -> None:
    mail = sent(planned(ROUTED, ENGLISH))
    assert "&lt;rien&gt;" in mail.html
    assert "<rien>" in mail.text
    assert mail.html.startswith("<html><body>")


def test_unit_a_group_without_a_language_or_with_an_unknown_one_reads_french() -> None:
    routing = Routing(group_languages={"servers": "de"}, management_language="")
    assert routing.group_language("servers") == "fr"
    assert routing.group_language("desk") == "fr"
    assert routing.management_mail_language() == "fr"
    assert planned(ROUTED, routing).language == "fr"
    assert planned(BREACH, routing).language == "fr"


def test_unit_staff_language_does_not_follow_the_requesters() -> None:
    assert planned(ROUTED, FRENCH, language="en").language == "fr"
    assert planned(ROUTED, ENGLISH, language="fr").language == "en"


def test_unit_digest_in_the_groups_language() -> None:
    view = evolve(None, opened(), uuid.uuid4())
    assert view is not None
    later_day = NOW + timedelta(days=2)
    (followed,) = follow_up([view], later_day)
    french = digest_notification(followed, later_day.date(), later_day, FRENCH)
    english = digest_notification(
        followed, later_day.date(), later_day, Routing(group_languages={"desk": "en"})
    )
    assert (french.language, english.language) == ("fr", "en")
    fr_mail, en_mail = sent(french), sent(english)
    assert fr_mail.subject.startswith("[Suivi quotidien] desk : 1 sans activité")
    assert en_mail.subject.startswith("[Daily follow-up] desk: 1 without activity")
    for mail, words in (
        (fr_mail, ("Tickets sans activité", "aucune")),
        (en_mail, ("Tickets without activity", "none")),
    ):
        assert f"[{REFERENCE}]" in mail.text
        assert f"[{REFERENCE}]" in mail.html
        for word in words:
            assert word in mail.text
            assert word in mail.html
    assert english.event_id == french.event_id  # one digest per (group, day) whatever the language


def test_unit_settings_give_the_group_and_management_languages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFY_GROUP_LANGUAGES", '{"servers": "en"}')
    monkeypatch.setenv("NOTIFY_MANAGEMENT_LANGUAGE", "en")
    routing = Settings().routing()
    assert routing.group_language("servers") == "en"
    assert routing.group_language("desk") == "fr"
    assert routing.management_mail_language() == "en"
    monkeypatch.delenv("NOTIFY_GROUP_LANGUAGES")
    monkeypatch.delenv("NOTIFY_MANAGEMENT_LANGUAGE")
    assert Settings().routing().management_mail_language() == "fr"


def test_unit_every_french_template_has_an_english_one() -> None:
    root = resources.files("helpdesk_notify.domain") / "templates"
    names = {lang: {t.name for t in (root / lang).iterdir()} for lang in ("fr", "en")}
    assert names["fr"] == names["en"]


def test_unit_a_reopened_ticket_tells_its_requester_in_its_language() -> None:
    by_desk = later(TicketReopened, reason="Toujours en panne après le redémarrage", by="agent1")
    french = planned(by_desk, FRENCH)
    assert (french.template, french.language) == ("reopened", "fr")
    assert french.recipient == "jean.dupont@ac-paris.fr"
    mail = sent(french)
    assert mail.subject == f"[{REFERENCE}] Réouverture de votre ticket : Imprimante en panne"
    assert "rouvert par le guichet" in mail.text
    assert "Toujours en panne après le redémarrage" in mail.text
    assert "Toujours en panne après le redémarrage" in mail.html
    assert mail.in_reply_to == f"<ticket-{TICKET}@helpdesk.local>"

    by_requester = later(TicketReopened, reason="Still <broken>", by="jdupont")
    english = sent(planned(by_requester, FRENCH, language="en"))
    assert english.subject == f"[{REFERENCE}] Your ticket is reopened: Imprimante en panne"
    assert "is reopened: work on it resumes" in english.text
    assert "Still <broken>" in english.text
    assert "Still &lt;broken&gt;" in english.html
