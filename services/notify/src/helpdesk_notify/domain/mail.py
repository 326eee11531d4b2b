"""Turning a planned notification into the mail that is sent: templates, subject, thread headers.

Rendering is pure and deterministic: the same notification always gives the same subject, bodies
and `Message-ID`, so a mail sent again after a crash carries the id of the first one and the
recipient's client shows it once. Every mail about a ticket replies to the opening confirmation's
id (`<ticket-<uuid>@domain>`), so clients thread them, and its subject starts with the reference
in brackets, so a reply finds its ticket back through intake.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from helpdesk_notify.domain.history_labels import history_label

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


@dataclass(frozen=True)
class Mail:
    """A rendered e-mail, ready for SMTP."""

    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]


def address_problem(address: str | None) -> str | None:
    """Why `address` cannot receive mail, or None when it looks deliverable.

    A syntax check only (no DNS): intranet domains such as `helpdesk.local` are fine here, and the
    SMTP server has the last word. Line breaks are refused so nothing can inject a header.
    """
    if not address:
        return "no e-mail address on file"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return f"invalid e-mail address {address!r}: it needs one local part and one domain"
    if len(address) > 254 or not _LOCAL_PART.fullmatch(local) or ".." in local:
        return f"invalid e-mail address {address!r}: bad characters before the @"
    if not _DOMAIN.fullmatch(domain):
        return f"invalid e-mail address {address!r}: bad domain"
    return None


def thread_root_id(ticket_id: uuid.UUID, domain: str) -> str:
    """The opening confirmation's `Message-ID`: the root every later mail replies to."""
    return f"<ticket-{ticket_id}@{domain}>"


def message_id(ticket_id: uuid.UUID, event_id: uuid.UUID, recipient: str, domain: str) -> str:
    """A `Message-ID` fixed by (ticket, event, recipient): the same mail re-sent keeps its id."""
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:12]
    return f"<ticket-{ticket_id}.{event_id}.{digest}@{domain}>"


#: The desk's users read times in French local time.
LOCAL_ZONE = "Europe/Paris"


def _zone() -> tzinfo:
    try:
        return ZoneInfo(LOCAL_ZONE)
    except ZoneInfoNotFoundError:  # no time-zone database in this image: say UTC
        return UTC


def local_time(moment: datetime) -> str:
    """`22/11/2026 10:30` in the desk's time zone (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(_zone())
    return local.strftime("%d/%m/%Y %H:%M") + ("" if local.utcoffset() else " UTC")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("helpdesk_notify.domain", "templates"),
        autoescape=False,  # noqa: S701 - text parts must stay raw; the html blocks escape
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["local"] = local_time
    env.globals["history_label"] = history_label
    return env


def template(name: str, language: str) -> Template:
    return _environment().get_template(f"{language}/{name}.j2")


def render_parts(name: str, language: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of template `name` in `language`, from its three blocks."""
    tpl = template(name, language)
    ctx = tpl.new_context(dict(context))
    subject = " ".join("".join(tpl.blocks["subject"](ctx)).split())
    text = "".join(tpl.blocks["text"](ctx)).strip() + "\n"
    html = "".join(tpl.blocks["html"](ctx)).strip() + "\n"
    return subject, text, html


def render_ticket_mail(
    *,
    name: str,
    language: str,
    context: Mapping[str, Any],
    recipient: str,
    ticket_id: uuid.UUID,
    event_id: uuid.UUID,
    domain: str,
    opens_thread: bool = False,
) -> Mail:
    """A mail about a ticket, threaded under the ticket's opening confirmation."""
    subject, text, html = render_parts(name, language, context)
    root = thread_root_id(ticket_id, domain)
    if opens_thread:
        return Mail(recipient, subject, text, html, root, None, ())
    own_id = message_id(ticket_id, event_id, recipient, domain)
    return Mail(recipient, subject, text, html, own_id, root, (root,))
