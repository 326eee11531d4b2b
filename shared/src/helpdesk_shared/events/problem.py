"""Events of the `problem` stream category (ITIL problems: the cause of one or more incidents).

A problem may cause many incidents and an incident may have several causes, so the links live in
the problem's stream (`problem-<uuid>`), each naming the ticket.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from helpdesk_shared.events.base import DomainEvent


class ProblemEvent(DomainEvent):
    """Common fields of every problem event."""

    abstract: ClassVar[bool] = True
    stream_category: ClassVar[str] = "problem"

    problem_id: uuid.UUID
    occurred_at: datetime
    by: str


class ProblemCreated(ProblemEvent):
    """A cause (or suspected cause) of incidents is now investigated as a problem."""

    title: str
    description: str
    category: str | None = None


class IncidentLinked(ProblemEvent):
    """An incident ticket is attributed (in part) to this problem."""

    ticket_id: uuid.UUID


class IncidentUnlinked(ProblemEvent):
    """An incident ticket was linked by mistake."""

    ticket_id: uuid.UUID


class WorkaroundRecorded(ProblemEvent):
    """A way to restore service while the cause remains; known error when the cause is known."""

    workaround: str
    known_error: bool = False
    root_cause: str | None = None


class ProblemResolved(ProblemEvent):
    """The cause was removed; the linked incidents should not come back."""

    resolution: str
