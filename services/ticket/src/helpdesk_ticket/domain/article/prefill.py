"""A first draft of a scenario from what the desk already wrote: tickets and problems.

The agent edits the draft afterwards; the point is that writing an article from a solved ticket
costs one call, so the knowledge base grows with the incidents (docs/desk-rules.md).
"""

from __future__ import annotations

import re

from helpdesk_shared.events.article import ArticleContent, Audience
from helpdesk_ticket.domain.errors import InvalidCommand
from helpdesk_ticket.domain.ticket.state import Ticket

_STEP_SPLIT = re.compile(r"(?:\r?\n)+|(?<=[.;!?])\s+(?=[A-ZÀ-Ý0-9])")


def steps_of(solution: str) -> tuple[str, ...]:
    """The solution split into steps: one per line, or one per sentence on a single line."""
    lines = [s.strip(" -*•\t") for s in _STEP_SPLIT.split(solution)]
    return tuple(s for s in lines if s)


def content_from_ticket(ticket: Ticket, audience: Audience = Audience.AGENTS) -> ArticleContent:
    """Symptom from the ticket's subject and description, steps from its solution."""
    if ticket.resolution is None:
        raise InvalidCommand("from_ticket", f"{ticket.reference} has no solution yet")
    return ArticleContent(
        title=ticket.subject,
        symptom=ticket.description,
        resolution_steps=steps_of(ticket.resolution.solution),
        category=ticket.category,
        audience=audience,
    )


def content_from_group(
    tickets: list[Ticket], category: str, key: str, audience: Audience = Audience.AGENTS
) -> ArticleContent:
    """A draft for a group of recurring incidents: their subjects as symptoms, known solutions
    as steps (each once), to be completed once the cause is found."""
    symptoms = list(dict.fromkeys(t.subject for t in tickets))
    solutions = [t.resolution.solution for t in tickets if t.resolution is not None]
    steps = tuple(dict.fromkeys(step for s in solutions for step in steps_of(s)))
    return ArticleContent(
        title=f"Incidents récurrents : {category} / {key}",
        symptom="\n".join(symptoms) or f"Incidents répétés ({category}, {key})",
        resolution_steps=steps,
        category=category,
        audience=audience,
    )
