"""`/v1/contracts`: support contracts as event streams. Signed once, then amended, renewed or
terminated, each a new version; never overwritten (PUT and DELETE answer 405)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from helpdesk_intake.adapters import queries
from helpdesk_intake.application.contracts import ContractService, Render
from helpdesk_intake.domain import contract as domain
from helpdesk_intake.domain.contract import ContractState, version_as_of
from helpdesk_intake.entrypoints.common import (
    ManagerPrincipal,
    StaffPrincipal,
    invalid,
    not_found,
)
from helpdesk_intake.entrypoints.contract_bodies import (
    AmendContract,
    ContractView,
    RenewContract,
    SignContract,
    TerminateContract,
    view,
)
from helpdesk_shared.http.dependencies import Engine, from_state
from helpdesk_shared.http.idempotency import HEADER, StoredResponse
from helpdesk_shared.http.openapi import problem_responses
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]
_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"description": "Recorded"},
    **problem_responses(409),  # a contract already signed for this customer is amended instead
}


def now() -> datetime:
    return datetime.now(tz=UTC)


def refusal(error: domain.ContractError) -> Problem:
    if isinstance(error, domain.ContractNotFound):
        return not_found("contract")
    if isinstance(error, domain.InvalidContractCommand):
        return invalid(error.field, error.message)
    allowed = list(error.allowed) if isinstance(error, domain.ContractChangeRefused) else []
    if isinstance(error, domain.ContractAlreadySigned):
        allowed = ["amend", "renew", "terminate"]
    return Problem(
        409,
        "Modification refusée",
        str(error),
        type_="urn:helpdesk:problem:contract-change-refused",
        allowed=allowed,
    )


def _latest_rendered(state: ContractState) -> tuple[dict[str, Any], str]:
    latest = state.current
    location = f"/v1/contracts/{state.contract_id}/versions/{latest.number}"
    return view(state, latest).model_dump(mode="json"), location


#: The contract service the bootstrap wired (`state["contracts"]`).
Contracts = Annotated[ContractService, from_state("contracts")]


def answer_of(stored: StoredResponse) -> JSONResponse:
    headers = {"Location": stored.location} if stored.location else {}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


async def _change(
    contracts: Contracts,
    command: domain.ContractCommand,
    what: str,
    key: str | None,
    payload: dict[str, Any],
    render: Render = _latest_rendered,
) -> JSONResponse:
    """Run a creating command on an existing contract under its Idempotency-Key."""
    return answer_of(await stored_change(contracts, command, what, key, payload, render))


async def stored_change(
    contracts: Contracts,
    command: domain.ContractCommand,
    what: str,
    key: str | None,
    payload: dict[str, Any],
    render: Render,
) -> StoredResponse:
    scope = f"POST /v1/contracts/{command.contract_id}/{what}:{command.by}"
    try:
        return await contracts.change(command, scope, key, payload, render)
    except domain.ContractError as error:
        raise refusal(error) from error


@router.post("", status_code=201, response_model=ContractView, responses=_CREATED)
async def sign(
    body: SignContract, principal: ManagerPrincipal, contracts: Contracts,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Sign a contract: its terms become version 1 of a new `contract-<id>` stream."""
    contract_id = body.id or uuid.uuid4()
    command = domain.Sign(contract_id, body.terms(), now(), principal.sub)

    def answer(state: ContractState) -> tuple[dict[str, Any], str]:
        return view(state, state.current).model_dump(mode="json"), f"/v1/contracts/{contract_id}"

    payload = body.model_dump(mode="json")
    try:
        stored = await contracts.sign(command, idempotency_key, payload, answer)
    except domain.ContractError as error:
        raise refusal(error) from error
    return answer_of(stored)


@router.post("/{contract_id}/amendments", status_code=201, response_model=ContractView)
async def amend(
    contract_id: uuid.UUID, body: AmendContract, principal: ManagerPrincipal,
    contracts: Contracts, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Amend the terms from `effective_from` on: a new version, the earlier ones kept."""
    changes = set(AmendContract.model_fields) - {"effective_from", "reason"}
    fields = {name: getattr(body, name) for name in changes}
    command = domain.Amend(
        contract_id, body.effective_from, body.reason, now(), principal.sub, **fields
    )
    payload = body.model_dump(mode="json")
    return await _change(contracts, command, "amendments", idempotency_key, payload)


@router.post("/{contract_id}/renewals", status_code=201, response_model=ContractView)
async def renew(
    contract_id: uuid.UUID, body: RenewContract, principal: ManagerPrincipal,
    contracts: Contracts, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Run the contract on to a new end date: a new version from `effective_from` (today)."""
    effective = body.effective_from or now().date()
    command = domain.Renew(contract_id, effective, body.valid_until, now(), principal.sub)
    payload = body.model_dump(mode="json")
    return await _change(contracts, command, "renewals", idempotency_key, payload)


@router.post("/{contract_id}/terminations", status_code=201, response_model=ContractView)
async def terminate(
    contract_id: uuid.UUID, body: TerminateContract, principal: ManagerPrincipal,
    contracts: Contracts, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """End the contract after `last_day`: a last version; no change is taken afterwards."""
    command = domain.Terminate(contract_id, body.last_day, body.reason, now(), principal.sub)
    payload = body.model_dump(mode="json")
    return await _change(contracts, command, "terminations", idempotency_key, payload)


@router.get("", response_model=list[ContractView], summary="List contracts (latest versions)")
async def list_contracts(
    _: StaffPrincipal, engine: Engine, client: str | None = None
) -> list[ContractView]:
    """`client`: an organisation's name or a person's login."""
    async with engine.connect() as conn:
        states = await queries.of_client(conn, client)
    return [view(s, s.current) for s in states]


async def contract_state(contracts: Contracts, contract_id: uuid.UUID) -> ContractState:
    try:
        return await contracts.load(contract_id)
    except domain.ContractNotFound:
        raise not_found("contract") from None


@router.get("/{contract_id}", response_model=ContractView, summary="A contract's terms")
async def get_contract(
    contract_id: uuid.UUID, _: StaffPrincipal, contracts: Contracts, as_of: date | None = None
) -> ContractView:
    """The latest version recorded, or with `as_of` the version in effect that day."""
    state = await contract_state(contracts, contract_id)
    if as_of is None:
        return view(state, state.current)
    version = version_as_of(state, as_of)
    if version is None:
        first = state.versions[0].effective_from.isoformat()
        raise Problem(
            404, "Introuvable", f"The contract takes effect on {first}: no version on {as_of}."
        )
    return view(state, version)


@router.get("/{contract_id}/versions", response_model=list[ContractView])
async def list_versions(
    contract_id: uuid.UUID, _: StaffPrincipal, contracts: Contracts
) -> list[ContractView]:
    """Every version, oldest first: what the contract said, from when, and why it changed."""
    state = await contract_state(contracts, contract_id)
    return [view(state, v) for v in state.versions]


@router.get("/{contract_id}/versions/{number}", response_model=ContractView)
async def get_version(
    contract_id: uuid.UUID, number: int, _: StaffPrincipal, contracts: Contracts
) -> ContractView:
    state = await contract_state(contracts, contract_id)
    if not 1 <= number <= len(state.versions):
        raise not_found("contract version")
    return view(state, state.versions[number - 1])


def _not_overwritten(method: str) -> Problem:
    use = {
        "PUT": "POST /v1/contracts/{id}/amendments (or /renewals)",
        "DELETE": "POST /v1/contracts/{id}/terminations",
    }[method]
    return Problem(
        405,
        "Méthode non permise",
        f"A contract is never overwritten nor removed: every change is a new version. Use {use}.",
        type_="urn:helpdesk:problem:contract-not-overwritten",
        headers={"Allow": "GET"},
        use=use,
    )


@router.put("/{contract_id}", status_code=405, summary="Refused: amend instead")
async def replace_contract(contract_id: uuid.UUID, _: ManagerPrincipal) -> None:
    raise _not_overwritten("PUT")


@router.delete("/{contract_id}", status_code=405, summary="Refused: terminate instead")
async def delete_contract(contract_id: uuid.UUID, _: ManagerPrincipal) -> None:
    raise _not_overwritten("DELETE")
