"""`/v1/contracts`: support contracts as event streams. Signed once, then amended, renewed or
terminated, each a new version; never overwritten (PUT and DELETE answer 405)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_intake.adapters import contracts as contract_store
from helpdesk_intake.application.contracts import Handled, handle
from helpdesk_intake.domain import contract as domain
from helpdesk_intake.domain.contract import ContractState, version_as_of
from helpdesk_intake.entrypoints.common import (
    Engine,
    ManagerPrincipal,
    StaffPrincipal,
    Store,
    invalid,
    not_found,
)
from helpdesk_intake.entrypoints.contract_bodies import (
    AmendContract,
    AnswerExtension,
    ContractView,
    ProposalView,
    ProposeExtension,
    RenewContract,
    SignContract,
    TerminateContract,
    view,
)
from helpdesk_shared.http.idempotency import HEADER, IdempotencyGuard
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]
_CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "Recorded"}}


def _now() -> datetime:
    return datetime.now(tz=UTC)


def _refusal(error: domain.ContractError) -> Problem:
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


async def _record(
    engine: Engine,
    store: Store,
    command: domain.ContractCommand,
    answer: Callable[[ContractState], tuple[dict[str, Any], str]],
    scope: str,
    key: str | None,
    payload: dict[str, Any],
) -> JSONResponse:
    """Run a creating command under its Idempotency-Key: a retry gets the first answer back."""
    guard: IdempotencyGuard | None = None

    async def before(conn: AsyncConnection) -> JSONResponse | None:
        nonlocal guard
        guard = await IdempotencyGuard.claim(conn, scope, key, payload)
        if guard.replay is None:
            return None
        headers = {"Location": guard.replay.location} if guard.replay.location else {}
        return JSONResponse(
            guard.replay.body, status_code=guard.replay.status_code, headers=headers
        )

    async def after(conn: AsyncConnection, state: ContractState) -> None:
        assert guard is not None
        body, location = answer(state)
        await guard.remember(201, body, location)

    try:
        result = await handle(engine, store, command, before=before, after=after)
    except domain.ContractError as error:
        raise _refusal(error) from error
    if isinstance(result, JSONResponse):
        return result
    assert isinstance(result, Handled)
    body, location = answer(result.state)
    return JSONResponse(body, status_code=201, headers={"Location": location})


def _latest(state: ContractState) -> tuple[dict[str, Any], str]:
    latest = state.current
    location = f"/v1/contracts/{state.contract_id}/versions/{latest.number}"
    return view(state, latest).model_dump(mode="json"), location


@router.post("", status_code=201, response_model=ContractView, responses=_CREATED)
async def sign(
    body: SignContract, principal: ManagerPrincipal, engine: Engine, store: Store,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Sign a contract: its terms become version 1 of a new `contract-<id>` stream."""
    contract_id = body.id or uuid.uuid4()
    command = domain.Sign(contract_id, body.terms(), _now(), principal.sub)

    def answer(state: ContractState) -> tuple[dict[str, Any], str]:
        return view(state, state.current).model_dump(mode="json"), f"/v1/contracts/{contract_id}"

    scope = f"POST /v1/contracts:{principal.sub}"
    payload = body.model_dump(mode="json")
    return await _record(engine, store, command, answer, scope, idempotency_key, payload)


@router.post("/{contract_id}/amendments", status_code=201, response_model=ContractView)
async def amend(
    contract_id: uuid.UUID, body: AmendContract, principal: ManagerPrincipal, engine: Engine,
    store: Store, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Amend the terms from `effective_from` on: a new version, the earlier ones kept."""
    changes = set(AmendContract.model_fields) - {"effective_from", "reason"}
    fields = {name: getattr(body, name) for name in changes}
    command = domain.Amend(
        contract_id, body.effective_from, body.reason, _now(), principal.sub, **fields
    )
    scope = f"POST /v1/contracts/{contract_id}/amendments:{principal.sub}"
    payload = body.model_dump(mode="json")
    return await _record(engine, store, command, _latest, scope, idempotency_key, payload)


@router.post("/{contract_id}/renewals", status_code=201, response_model=ContractView)
async def renew(
    contract_id: uuid.UUID, body: RenewContract, principal: ManagerPrincipal, engine: Engine,
    store: Store, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Run the contract on to a new end date: a new version from `effective_from` (today)."""
    effective = body.effective_from or _now().date()
    command = domain.Renew(contract_id, effective, body.valid_until, _now(), principal.sub)
    scope = f"POST /v1/contracts/{contract_id}/renewals:{principal.sub}"
    payload = body.model_dump(mode="json")
    return await _record(engine, store, command, _latest, scope, idempotency_key, payload)


@router.post("/{contract_id}/terminations", status_code=201, response_model=ContractView)
async def terminate(
    contract_id: uuid.UUID, body: TerminateContract, principal: ManagerPrincipal, engine: Engine,
    store: Store, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """End the contract after `last_day`: a last version; no change is taken afterwards."""
    command = domain.Terminate(contract_id, body.last_day, body.reason, _now(), principal.sub)
    scope = f"POST /v1/contracts/{contract_id}/terminations:{principal.sub}"
    payload = body.model_dump(mode="json")
    return await _record(engine, store, command, _latest, scope, idempotency_key, payload)


@router.get("", response_model=list[ContractView], summary="List contracts (latest versions)")
async def list_contracts(
    _: StaffPrincipal, engine: Engine, client: str | None = None
) -> list[ContractView]:
    """`client`: an organisation's name or a person's login."""
    async with engine.connect() as conn:
        states = await contract_store.of_client(conn, client)
    return [view(s, s.current) for s in states]


async def _state(store: Store, contract_id: uuid.UUID) -> ContractState:
    state, _ = await contract_store.load(store, contract_id)
    if state is None:
        raise not_found("contract")
    return state


@router.get("/{contract_id}", response_model=ContractView, summary="A contract's terms")
async def get_contract(
    contract_id: uuid.UUID, _: StaffPrincipal, store: Store, as_of: date | None = None
) -> ContractView:
    """The latest version recorded, or with `as_of` the version in effect that day."""
    state = await _state(store, contract_id)
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
    contract_id: uuid.UUID, _: StaffPrincipal, store: Store
) -> list[ContractView]:
    """Every version, oldest first: what the contract said, from when, and why it changed."""
    state = await _state(store, contract_id)
    return [view(state, v) for v in state.versions]


@router.get("/{contract_id}/versions/{number}", response_model=ContractView)
async def get_version(
    contract_id: uuid.UUID, number: int, _: StaffPrincipal, store: Store
) -> ContractView:
    state = await _state(store, contract_id)
    if not 1 <= number <= len(state.versions):
        raise not_found("contract version")
    return view(state, state.versions[number - 1])


@router.post("/{contract_id}/extension-proposals", status_code=201, response_model=ProposalView)
async def propose_extension(
    contract_id: uuid.UUID, body: ProposeExtension, principal: StaffPrincipal, engine: Engine,
    store: Store, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """The desk proposes to cover an item a request found outside the contract."""
    proposal_id = uuid.uuid4()
    command = domain.ProposeExtension(
        contract_id, proposal_id, body.item, body.ticket_id, _now(), principal.sub
    )

    def answer(state: ContractState) -> tuple[dict[str, Any], str]:
        proposal = state.proposal(proposal_id)
        assert proposal is not None
        location = f"/v1/contracts/{contract_id}/extension-proposals/{proposal_id}"
        return ProposalView.model_validate(proposal.__dict__).model_dump(mode="json"), location

    scope = f"POST /v1/contracts/{contract_id}/extension-proposals:{principal.sub}"
    payload = body.model_dump(mode="json")
    return await _record(engine, store, command, answer, scope, idempotency_key, payload)


@router.post("/{contract_id}/extension-proposals/{proposal_id}/answer", response_model=ProposalView)
async def answer_extension(
    contract_id: uuid.UUID, proposal_id: uuid.UUID, body: AnswerExtension,
    principal: ManagerPrincipal, engine: Engine, store: Store,
) -> ProposalView:  # fmt: skip
    """The client's answer, recorded by a manager. An accepted proposal is then amended in."""
    command = domain.AnswerExtension(
        contract_id, proposal_id, body.accepted, _now(), principal.sub, body.reason
    )
    try:
        result = await handle(engine, store, command)
    except domain.ContractError as error:
        raise _refusal(error) from error
    proposal = result.state.proposal(proposal_id)
    return ProposalView.model_validate(proposal.__dict__)


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
