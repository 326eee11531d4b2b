"""Why a command is refused, in terms the HTTP layer maps to 404, 409 and 422."""

from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses."""


class TicketNotFound(DomainError):
    """The stream has no `TicketOpened`."""


class TransitionNotAllowed(DomainError):
    """The ticket's state does not allow this command now (HTTP 409 with the allowed ones)."""

    def __init__(self, command: str, status: str, allowed: list[str], detail: str = "") -> None:
        self.command = command
        self.status = status
        self.allowed = allowed
        super().__init__(detail or f"'{command}' is not allowed while the ticket is {status}")


class BeyondCoverage(TransitionNotAllowed):
    """Escalation above the level the contract covers the request to (HTTP 409 naming it)."""

    def __init__(self, status: str, allowed: list[str], up_to_level: int, item: str) -> None:
        self.up_to_level = up_to_level
        self.item = item
        detail = (
            f"the contract covers {item} up to level {up_to_level} only: escalate to management"
            " (to negotiate an extension) or route the ticket"
        )
        super().__init__("escalate", status, allowed, detail)


class InvalidCommand(DomainError):
    """A field of the command breaks a rule (HTTP 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ProblemNotFound(DomainError):
    """The stream has no `ProblemCreated`."""


class ArticleNotFound(DomainError):
    """The stream has no `ArticleDrafted` (or the caller may not read it)."""
