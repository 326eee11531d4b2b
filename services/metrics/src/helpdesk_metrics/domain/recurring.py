"""Recurring incidents ("les dysfonctionnements répétitifs", docs/desk-rules.md): candidates
for a problem.

Incidents of the same category on the same asset, or of the same category in the same department,
that repeat at least `threshold` times over the window, are worth a problem record (ITIL): their
common cause may be found and removed once instead of solving each incident again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from helpdesk_metrics.domain.commitments import Period
from helpdesk_metrics.domain.facts import TicketFacts

DEFAULT_THRESHOLD = 3


@dataclass(frozen=True)
class ProblemCandidate:
    category: str
    #: "asset" or "department": what the incidents have in common beside their category.
    scope: str
    key: str
    incidents: int
    references: tuple[str, ...]
    first_at: datetime
    last_at: datetime


def recurring_incidents(
    tickets: Sequence[TicketFacts], window: Period, threshold: int = DEFAULT_THRESHOLD
) -> list[ProblemCandidate]:
    """Groups of >= `threshold` incidents received in `window`, largest first; each group's
    references by reception, then by reference (a tie kept to the rows' order was left to chance,
    and `FactsReader.recurring` groups them in the database the same way)."""
    if threshold < 2:
        raise ValueError("a recurrence needs at least two incidents")
    groups: dict[tuple[str, str, str], list[TicketFacts]] = defaultdict(list)
    for t in tickets:
        if t.type != "incident" or t.category is None or not window.contains(t.received_at):
            continue
        if t.asset_tag:
            groups[(t.category, "asset", t.asset_tag)].append(t)
        if t.department:
            groups[(t.category, "department", t.department)].append(t)
    found = [
        ProblemCandidate(
            category=category,
            scope=scope,
            key=key,
            incidents=len(members),
            references=tuple(
                t.reference for t in sorted(members, key=lambda t: (t.received_at, t.reference))
            ),
            first_at=min(t.received_at for t in members),
            last_at=max(t.received_at for t in members),
        )
        for (category, scope, key), members in groups.items()
        if len(members) >= threshold
    ]
    return ranked(found)


def ranked(candidates: Iterable[ProblemCandidate]) -> list[ProblemCandidate]:
    """Largest groups first, then by category, scope and key (the order of the report)."""
    return sorted(candidates, key=lambda c: (-c.incidents, c.category, c.scope, c.key))
