"""Complaints: a request that says "plainte" or "réclamation" is a complaint, not an incident.

A complaint is its own ticket type (`complaint`, references `REC-<year>-<number>`), handled by
management rather than the desk: it starts in the `management` group and is counted apart in the
KPIs (never in the single desk's resolution rate). The keywords are a setting of intake
(`INTAKE_COMPLAINT_KEYWORDS`); they decide only when the caller did not choose the type (an
e-mail, a form sent without `type`): a type chosen at the desk is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from helpdesk_shared.catalogue import MANAGEMENT_GROUP
from helpdesk_shared.events.ticket import TicketType

DEFAULT_COMPLAINT_KEYWORDS: tuple[str, ...] = ("plainte", "réclamation")


def _plain(text: str) -> str:
    """Lower case without accents: "Réclamation" and "reclamation" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=8)
def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    words = [re.escape(_plain(k.strip())) for k in keywords if k.strip()]
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(words) + r")s?\b")


def says_complaint(texts: Iterable[str], keywords: tuple[str, ...]) -> bool:
    """Whether any of `texts` uses one of the keywords (a whole word, singular or plural)."""
    pattern = _pattern(keywords)
    return pattern is not None and any(pattern.search(_plain(t)) for t in texts)


def ticket_type(
    chosen: TicketType | None, subject: str, description: str, keywords: tuple[str, ...]
) -> TicketType:
    """The type a new ticket gets: the one chosen, else complaint when the request says so,
    else incident."""
    if chosen is not None:
        return chosen
    if says_complaint((subject, description), keywords):
        return TicketType.COMPLAINT
    return TicketType.INCIDENT


def starting_group(ticket_type: TicketType, pre_qualified_group: str) -> str:
    """A complaint goes to management; any other ticket to the group its pre-qualification
    gives (the desk, or the team of a routed domain)."""
    return MANAGEMENT_GROUP if ticket_type is TicketType.COMPLAINT else pre_qualified_group
