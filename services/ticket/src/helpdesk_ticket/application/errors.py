"""Refusals of the application layer (who may act, which version), mapped to HTTP by entrypoints."""

from __future__ import annotations


class Forbidden(Exception):
    """The caller may not do this on this ticket (HTTP 403)."""


class PreconditionFailed(Exception):
    """`If-Match` named another version than the ticket's current one (HTTP 412)."""

    def __init__(self, expected: str, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"If-Match {expected} does not match the ticket's version {actual}")
