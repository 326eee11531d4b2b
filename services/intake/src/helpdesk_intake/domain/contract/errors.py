"""Why a contract command is refused (HTTP 404, 409, 422 at the edge)."""

from __future__ import annotations


class ContractError(Exception):
    """A command the contract refuses."""


class ContractNotFound(ContractError):
    """No `ContractSigned` in the stream."""


class ContractAlreadySigned(ContractError):
    """Signing twice is refused: amend instead (HTTP 409)."""


class ContractChangeRefused(ContractError):
    """The contract's state does not allow this change now (HTTP 409), with what is allowed."""

    def __init__(self, detail: str, allowed: tuple[str, ...] = ()) -> None:
        self.detail = detail
        self.allowed = allowed
        super().__init__(detail)


class InvalidContractCommand(ContractError):
    """A field breaks a rule (HTTP 422 naming it)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
