"""The mail bytes notify writes directly are the bytes `EmailMessage` writes for the same mail.

The reference below is how the sender built its messages with the standard library; the direct
writer must give the same bytes (but for the random part boundary) for plain and accented
subjects, subjects past the 998-character line, display names needing quotes, bodies with long,
accented, empty or oddly ended lines, with and without thread headers.
"""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from itertools import product

from helpdesk_notify.adapters import mime
from helpdesk_notify.domain.mail import Mail

DATE = "Sun, 06 Dec 2026 21:53:35 +0000"
_BOUNDARY = re.compile(rb"={15}\d+==")


def reference(mail: Mail, sender: str) -> bytes:
    message = EmailMessage(policy=mime.ENCODE_POLICY)
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = DATE
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = " ".join(mail.references)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text, cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    return message.as_bytes(policy=mime.WRITE_POLICY)


def without_boundary(content: bytes) -> bytes:
    return _BOUNDARY.sub(b"BOUNDARY", content)


SENDERS = [
    "Guichet d'assistance DSI <helpdesk@helpdesk.local>",
    "helpdesk@helpdesk.local",
    "Équipe, DSI <support@ac-paris.fr>",
]
SUBJECTS = [
    "[INC-2026-000003] Ouverture de votre ticket : Poste de travail lent",
    "[INC-2026-000004] Clôture de votre ticket : réseau coupé",
    "x" * 1200,
    "a  b",
    "=?utf-8?q?d=C3=A9j=C3=A0?=",
    "é" * 300,
    '(a) "b" <c>',
]
RECIPIENTS = ["u3@ac-paris.fr", "jean.o'neil+dsi@ac-paris.fr", ".a@helpdesk.local"]
TEXTS = [
    "",
    "Bonjour,\n",
    "é" * 200 + "\n" + "x" * 300,
    "a\r\nb\rc\n\n",
    "espace en fin \nfoo=bar\n.\n",
    "From me\n",
]


def test_unit_direct_bytes_equal_the_standard_librarys_for_every_kind_of_mail() -> None:
    for sender in SENDERS:
        from_header = mime.header("From", sender)
        for subject, recipient, text, thread in product(
            SUBJECTS, RECIPIENTS, TEXTS, (None, "<ticket-1@helpdesk.local>")
        ):
            mail = Mail(
                recipient=recipient,
                subject=subject,
                text=text,
                html=f"<p>{text}</p>\n",
                message_id=f"<ticket-{uuid.uuid4()}@helpdesk.local>",
                in_reply_to=thread,
                references=(thread,) if thread else (),
            )
            expected = without_boundary(reference(mail, sender))
            assert without_boundary(mime.mail_bytes(mail, from_header, DATE)) == expected, mail


def test_unit_each_mail_gets_its_own_boundary() -> None:
    mail = Mail("u@ac-paris.fr", "s", "t", "h", "<m@d>", None, ())
    from_header = mime.header("From", SENDERS[0])
    found = {_BOUNDARY.search(mime.mail_bytes(mail, from_header)).group() for _ in range(20)}  # type: ignore[union-attr]
    assert len(found) == 20
