"""Refusals of the application layer (who may act), mapped to HTTP by entrypoints. A stale
`If-Match` is the kernel's `PreconditionFailed`."""

from __future__ import annotations

import uuid


class Forbidden(Exception):
    """The caller may not do this on this ticket (HTTP 403)."""


class GroupHasProblem(Exception):
    """A group of recurring incidents already has its problem (HTTP 409 naming it)."""

    def __init__(self, problem_id: uuid.UUID, article_id: uuid.UUID) -> None:
        self.problem_id = problem_id
        self.article_id = article_id
        super().__init__(f"this group of incidents already has problem {problem_id}")
