"""Refusals of the application layer (who may act, which version), mapped to HTTP by entrypoints."""

from __future__ import annotations

import uuid


class Forbidden(Exception):
    """The caller may not do this on this ticket (HTTP 403)."""


class PreconditionFailed(Exception):
    """`If-Match` named another version than the ticket's current one (HTTP 412)."""

    def __init__(self, expected: str, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"If-Match {expected} does not match the ticket's version {actual}")


class GroupHasProblem(Exception):
    """A group of recurring incidents already has its problem (HTTP 409 naming it)."""

    def __init__(self, problem_id: uuid.UUID, article_id: uuid.UUID) -> None:
        self.problem_id = problem_id
        self.article_id = article_id
        super().__init__(f"this group of incidents already has problem {problem_id}")
