"""Refusals of the application layer (who may act), mapped to HTTP by entrypoints. A stale
`If-Match` is the kernel's `PreconditionFailed`."""

from __future__ import annotations

import uuid

from helpdesk_ticket.domain.errors import DomainError


class Forbidden(Exception):
    """The caller may not do this on this ticket (HTTP 403)."""


class GroupHasProblem(Exception):
    """A group of recurring incidents already has its problem (HTTP 409 naming it)."""

    def __init__(self, problem_id: uuid.UUID, article_id: uuid.UUID) -> None:
        self.problem_id = problem_id
        self.article_id = article_id
        super().__init__(f"this group of incidents already has problem {problem_id}")


#: How the ticket service's commands are refused (the domain's rules, who may act). The kernel
#: answers these on a fresh state when the state this process's own append left gave them, since
#: that state may be stale; any other error is not a refusal and is raised as it is.
REFUSALS: tuple[type[Exception], ...] = (DomainError, Forbidden, GroupHasProblem)
