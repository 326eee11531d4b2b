"""Reading inbound messages: senders, threads, automatic messages and unreadable ones."""

from __future__ import annotations

import pytest

from helpdesk_intake.domain.mail import Unparseable, fallback_message_id, parse_message


def raw(*headers: str, body: str = "Bonjour,\nmon imprimante ne marche plus.") -> bytes:
    defaults = ["From: Alice Martin <alice.martin@alpha.example>", "To: support@dsi.example.fr"]
    lines = [*defaults, *headers, "", body]
    return "\r\n".join(lines).encode()


def test_a_person_s_message_is_read() -> None:
    message = parse_message(
        raw(
            "Subject: Re: [INC-2026-000042] Imprimante",
            "Message-ID: <abc@alpha.example>",
            "In-Reply-To: <m2@dsi.example.fr>",
            "References: <m1@dsi.example.fr> <m2@dsi.example.fr>",
            "Date: Mon, 02 Mar 2026 09:00:00 +0100",
        )
    )
    assert message.from_address == "alice.martin@alpha.example"
    assert message.from_name == "Alice Martin"
    assert message.message_id == "<abc@alpha.example>"
    assert message.subject_references == ["INC-2026-000042"]
    assert message.thread_ids == [
        "<m2@dsi.example.fr>",
        "<m2@dsi.example.fr>",
        "<m1@dsi.example.fr>",
    ]
    assert message.body.startswith("Bonjour")
    assert message.automatic is None
    assert message.sent_at is not None


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        (["Auto-Submitted: auto-replied"], "auto_reply"),
        (["Auto-Submitted: auto-generated"], "auto_reply"),
        (["X-Autoreply: yes"], "auto_reply"),
        (["X-Autorespond: vacation"], "auto_reply"),
        (["Precedence: bulk"], "auto_reply"),
        (["Precedence: auto_reply"], "auto_reply"),
        (["Return-Path: <>"], "bounce"),
        (["Content-Type: multipart/report; report-type=delivery-status; boundary=x"], "bounce"),
        (["Auto-Submitted: no"], None),
        (["Precedence: normal"], None),
    ],
)
def test_automatic_messages_are_recognised(headers: list[str], kind: str | None) -> None:
    assert parse_message(raw("Subject: Absence", *headers)).automatic == kind


def test_mailer_daemon_is_a_bounce() -> None:
    message = b"From: MAILER-DAEMON@mx.alpha.example\r\nSubject: Undelivered Mail\r\n\r\nfailed\r\n"
    assert parse_message(message).automatic == "bounce"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", "empty"),
        (b"this is not a mail at all\r\n", "no header section"),
        (b"Subject: hello\r\n\r\nno sender\r\n", "no From header"),
        (b"From: nobody\r\nSubject: x\r\n\r\nbody\r\n", "invalid sender address"),
        (b"From: a@b.example, c@d.example\r\nSubject: x\r\n\r\nbody\r\n", "single sender"),
        (
            b"From: a@b.example\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nx\r\n",
            "unreadable",
        ),
    ],
)
def test_unreadable_messages_say_why(message: bytes, reason: str) -> None:
    with pytest.raises(Unparseable, match=reason):
        parse_message(message)


def test_a_message_without_message_id_gets_a_stable_one() -> None:
    message = raw("Subject: sans identifiant")
    assert parse_message(message).message_id == fallback_message_id(message)


def test_html_only_messages_are_read_as_text() -> None:
    message = raw("Content-Type: text/html; charset=utf-8", body="<p>Écran <b>noir</b></p>")
    assert parse_message(message).body.split() == ["Écran", "noir"]


def test_nul_characters_are_dropped_from_what_is_stored() -> None:
    """PostgreSQL cannot store NUL; a mail carrying some (raw or encoded) still opens a ticket."""
    message = parse_message(
        raw(
            "Subject: =?utf-8?Q?=C3=A9cran=00noir?= a\x00b",
            "Message-ID: <nul\x00@alpha.example>",
            "Content-Transfer-Encoding: quoted-printable",
            body="ligne=00un\x00e",
        )
    )
    assert "\x00" not in message.subject + message.body + message.from_name
    assert message.subject == "écrannoir ab"
    assert message.body == "ligneune"
    assert "\x00" not in message.message_id
