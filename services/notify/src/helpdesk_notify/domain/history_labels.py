"""The words a hand-over mail uses for each kind of line in a ticket's history, per language.

History lines are kept with a language-neutral kind (`escalated`, `routed`, ...) so that the same
ticket's history reads in French for one group's mailbox and in English for another's.
"""

from __future__ import annotations

HISTORY_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "opened": "ouverture",
        "taken": "prise en charge",
        "assigned": "affectation",
        "escalated": "escalade au niveau",
        "escalated_to_management": "escalade à la direction",
        "routed": "réorientation",
        "comment (public)": "commentaire (public)",
        "comment (internal)": "commentaire (interne)",
        "on_hold": "mise en attente",
        "resumed": "reprise",
        "reopened": "réouverture",
        "admissibility_redecided": "recevabilité redécidée",
        "appointment": "rendez-vous",
        "sla_warning": "alerte de délai",
        "sla_breached": "délai dépassé",
        "resolved": "résolution",
        "closed": "clôture",
    },
    "en": {
        "opened": "opened",
        "taken": "taken into account",
        "assigned": "assigned",
        "escalated": "escalated to level",
        "escalated_to_management": "escalated to management",
        "routed": "routed",
        "comment (public)": "comment (public)",
        "comment (internal)": "comment (internal)",
        "on_hold": "put on hold",
        "resumed": "resumed",
        "reopened": "reopened",
        "admissibility_redecided": "admissibility decided again",
        "appointment": "appointment",
        "sla_warning": "deadline warning",
        "sla_breached": "deadline missed",
        "resolved": "resolved",
        "closed": "closed",
    },
}


def history_label(kind: str, language: str) -> str:
    """The label of a history line's kind in `language` (the kind itself when unknown)."""
    return HISTORY_LABELS.get(language, {}).get(kind, kind)
