"""Reading an inbound RFC 5322 message: who sent it, what thread it belongs to, is it automatic.

Pure (standard library parsing only). A message that cannot be read raises `Unparseable` with the
reason, so the caller can quarantine it rather than lose it. Automatic messages (auto-replies,
bounces) are recognised from the headers RFC 3834 and the usual mailers set, so the desk never
opens a ticket for them and never answers them (no mail loops).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.errors import HeaderParseError, MessageError
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from email_validator import EmailNotValidError, validate_email

from helpdesk_intake.domain.references import references_in

_BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")
_MESSAGE_ID = re.compile(r"<[^<>\s\x00]+>")
#: The Message-IDs notify gives its mails: `<ticket-<uuid>@...>`, `<ticket-<uuid>.<event>...@...>`.
_NOTIFY_ID = re.compile(
    r"^<ticket-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})[.@]"
)
_READ_ERRORS = (HeaderParseError, MessageError, LookupError, ValueError, TypeError, IndexError)


class Unparseable(ValueError):
    """The message cannot be turned into a request; `str()` is the reason kept in quarantine."""


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    from_address: str
    from_name: str
    subject: str
    body: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sent_at: datetime | None
    #: "auto_reply" or "bounce" for automatic messages, None for a person's message.
    automatic: str | None

    @property
    def thread_ids(self) -> list[str]:
        """The Message-IDs this message answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]

    @property
    def notified_ticket_ids(self) -> list[uuid.UUID]:
        """Tickets whose notification mails this message answers (notify's Message-IDs)."""
        found = (_NOTIFY_ID.match(i.lower()) for i in self.thread_ids)
        return [uuid.UUID(m.group(1)) for m in found if m]

    @property
    def subject_references(self) -> list[str]:
        return references_in(self.subject)


def fallback_message_id(raw: bytes) -> str:
    """A stable id for a message that has none: the same bytes always get the same id."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@intake.invalid>"


def message_id_of(raw: bytes) -> str | None:
    """Best-effort Message-ID of a message that may be unreadable (for the quarantine)."""
    match = re.search(rb"^message-id:\s*(<[^<>\s]+>)", raw[:65536], re.IGNORECASE | re.MULTILINE)
    return match.group(1).decode("ascii", "replace") if match else None


def parse_message(raw: bytes) -> InboundMessage:
    """Read the message, or raise `Unparseable` with the reason."""
    if not raw.strip():
        raise Unparseable("empty message")
    if b":" not in raw.split(b"\n", 1)[0]:
        raise Unparseable("no header section: the first line is not a header")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        return _read(message, raw)
    except Unparseable:
        raise
    except _READ_ERRORS as error:
        raise Unparseable(f"unreadable message: {type(error).__name__}: {error}") from None


def _read(message: EmailMessage, raw: bytes) -> InboundMessage:
    name, address = _sender(message)
    ids = _MESSAGE_ID.findall(str(message.get("Message-ID", "")))
    return InboundMessage(
        message_id=ids[0] if ids else fallback_message_id(raw),
        from_address=address,
        from_name=_storable(name),
        subject=_storable(" ".join(str(message.get("Subject", "")).split())),
        body=_storable(_text_body(message)),
        in_reply_to=tuple(_MESSAGE_ID.findall(str(message.get("In-Reply-To", "")))),
        references=tuple(_MESSAGE_ID.findall(str(message.get("References", "")))),
        sent_at=_date(message),
        automatic=_automatic(message, address),
    )


def _storable(text: str) -> str:
    """Without NUL characters: they carry nothing readable, and PostgreSQL's text and JSONB
    cannot hold them (a mail carrying some must still open its ticket, not fail)."""
    return text.replace("\x00", "")


def _sender(message: EmailMessage) -> tuple[str, str]:
    header = message.get("From")
    if header is None:
        raise Unparseable("no From header")
    addresses = getaddresses([str(header)])
    if len(addresses) != 1 or not addresses[0][1]:
        raise Unparseable(f"From header has no single sender address: {header!s}")
    name, address = addresses[0]
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise Unparseable(f"invalid sender address {address!r}: {error}") from None
    return name.strip(), checked.normalized.lower()


def _text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = re.sub(r"<[^>]+>", " ", text)
    return text.strip()


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("Date")
    try:
        value = getattr(header, "datetime", None) if header is not None else None
    except _READ_ERRORS:
        return None
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def _automatic(message: EmailMessage, address: str) -> str | None:
    """RFC 3834 Auto-Submitted, the usual auto-reply headers, Precedence, and bounces."""
    local = parseaddr(address)[1].split("@", 1)[0].lower()
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "") or "").lower()
    return_path = str(message.get("Return-Path", "")).strip()
    if local in _BOUNCE_SENDERS or return_path == "<>":
        return "bounce"
    if content_type == "multipart/report" and report_type == "delivery-status":
        return "bounce"
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto_reply"
    if any(message.get(h) is not None for h in _AUTO_HEADERS):
        return "auto_reply"
    if str(message.get("Precedence", "")).strip().lower() in _BULK_PRECEDENCE:
        return "auto_reply"
    return None
