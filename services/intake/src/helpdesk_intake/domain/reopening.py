"""A requester's reply after the closure e-mail: "le problème persiste".

When the requester answers a resolved or closed ticket to say the problem is still there, the
reply is not a mere comment: within the reopening window after the resolution, it reopens the
ticket (the mail is the reason; the requester is told, as for any reopening); after the window,
or when the ticket was closed without a resolution, it opens a new ticket linked to the old one.
Any other reply (thanks, a question) stays a comment. Pure: the ticket's events come in as
(type, data) pairs, time and settings as arguments.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

#: What a reply says when the problem is still there (accents and case do not matter).
DEFAULT_PERSISTING_PHRASES: tuple[str, ...] = (
    "persiste",
    "toujours pas",
    "toujours en panne",
    "ne fonctionne toujours",
    "pas resolu",
    "pas regle",
    "recommence",
)
DEFAULT_REOPEN_WINDOW = timedelta(days=10)


@dataclass(frozen=True)
class ReopeningRules:
    """How long after a resolution a reply reopens the ticket (the ticket service's reopening
    window), and the phrases that say the problem persists (intake settings)."""

    window: timedelta = DEFAULT_REOPEN_WINDOW
    phrases: tuple[str, ...] = DEFAULT_PERSISTING_PHRASES


class AfterClosure(StrEnum):
    COMMENT = "comment"  # the ticket is open, or the reply does not say the problem persists
    REOPEN = "reopen"  # within the window after a resolution
    NEW_TICKET = "new_ticket"  # after the window, or closed without a resolution


@dataclass(frozen=True)
class Settlement:
    """Where a ticket stands as far as a reply is concerned."""

    settled: bool = False  # resolved or closed
    resolved_at: datetime | None = None
    closure_code: str | None = None


def settlement(events: Iterable[tuple[str, Mapping[str, Any]]]) -> Settlement:
    """Fold the ticket's events (in stream order) into its settlement."""
    state = Settlement()
    for kind, data in events:
        at = _time(data.get("occurred_at"))
        if kind == "TicketResolved":
            state = Settlement(True, at, None)
        elif kind == "Closed":
            state = Settlement(True, state.resolved_at, str(data.get("code") or ""))
        elif kind == "TicketReopened":
            state = Settlement()
    return state


def after_closure(
    state: Settlement,
    text: str,
    now: datetime,
    window: timedelta = DEFAULT_REOPEN_WINDOW,
    phrases: tuple[str, ...] = DEFAULT_PERSISTING_PHRASES,
) -> AfterClosure:
    """What the requester's reply does to the ticket."""
    if not state.settled or not says_it_persists(text, phrases):
        return AfterClosure.COMMENT
    resolved = state.closure_code in (None, "resolved") and state.resolved_at is not None
    if resolved and state.resolved_at is not None and now - state.resolved_at <= window:
        return AfterClosure.REOPEN
    return AfterClosure.NEW_TICKET


def says_it_persists(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether the requester's own words (not the quoted closure e-mail, which itself says
    "si le problème persiste") use one of the phrases."""
    pattern = _pattern(phrases)
    return pattern is not None and pattern.search(_plain(own_words(text))) is not None


_QUOTE_HEADER = re.compile(
    r"^\s*(le .+ a [ée]crit\s*:|on .+ wrote\s*:|-{2,}\s*(message d'origine|original message)"
    r"|de\s*:\s|from\s*:\s)",
    re.IGNORECASE,
)


def own_words(text: str) -> str:
    """The reply without what it quotes: quoted lines (`>`) and everything from the quote's
    header ("Le ... a écrit :", "On ... wrote:", "De :", "-----Message d'origine-----") on."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@lru_cache(maxsize=8)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    words = [re.escape(_plain(p)) for p in phrases if p.strip()]
    return re.compile(r"\b(?:" + "|".join(words) + r")") if words else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
