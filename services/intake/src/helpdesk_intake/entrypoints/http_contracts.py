"""`/v1/contracts`: the support contracts requests are pre-qualified against."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse

from helpdesk_intake.adapters import directory
from helpdesk_intake.domain.contracts import Contract
from helpdesk_intake.entrypoints.common import ManagerPrincipal, StaffPrincipal, invalid, not_found
from helpdesk_shared import catalogue
from helpdesk_shared.catalogue import UnknownCategory
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.idempotency import HEADER, IdempotencyGuard
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.post("", status_code=201, response_model=Contract, summary="Add a contract")
async def create_contract(
    contract: Contract,
    principal: ManagerPrincipal,
    engine: Engine,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    _domains_in_the_catalogue(contract)
    scope = f"POST /v1/contracts:{principal.sub}"
    payload = contract.model_dump(mode="json")
    async with engine.begin() as conn:
        guard = await IdempotencyGuard.claim(conn, scope, idempotency_key, payload)
        if guard.replay is not None:
            replay = guard.replay
            headers = {"Location": replay.location} if replay.location else {}
            return JSONResponse(replay.body, status_code=replay.status_code, headers=headers)
        if await directory.contract_by_id(conn, contract.id) is not None:
            raise Problem(409, "Conflit", "A contract with this id exists; PUT replaces it.")
        await directory.save_contract(conn, contract)
        location = f"/v1/contracts/{contract.id}"
        await guard.remember(201, payload, location)
    return JSONResponse(payload, status_code=201, headers={"Location": location})


@router.get("", response_model=list[Contract], summary="List contracts")
async def list_contracts(
    _: StaffPrincipal, engine: Engine, client: str | None = None
) -> list[Contract]:
    async with engine.connect() as conn:
        return await directory.contracts_for_client(conn, client)


@router.get("/{contract_id}", response_model=Contract, summary="One contract")
async def get_contract(contract_id: uuid.UUID, _: StaffPrincipal, engine: Engine) -> Contract:
    async with engine.connect() as conn:
        found = await directory.contract_by_id(conn, contract_id)
    if found is None:
        raise not_found("contract")
    return found


@router.put("/{contract_id}", response_model=Contract, summary="Replace a contract (amendment)")
async def replace_contract(
    contract_id: uuid.UUID, contract: Contract, _: ManagerPrincipal, engine: Engine
) -> Contract:
    _domains_in_the_catalogue(contract)
    contract = contract.model_copy(update={"id": contract_id})
    async with engine.begin() as conn:
        await directory.save_contract(conn, contract)
    return contract


def _domains_in_the_catalogue(contract: Contract) -> None:
    """A contract's level-1 and routed domains are codes of the shared catalogue (422 naming
    the field otherwise), so every request's category can be checked against them."""
    named = (
        ("level1_domains", contract.level1_domains),
        ("routed_domains", tuple(r.domain for r in contract.routed_domains)),
    )
    for field, domains in named:
        for domain in domains:
            if catalogue.category(domain) is None:
                raise invalid(field, str(UnknownCategory(domain)))


@router.delete("/{contract_id}", status_code=204, summary="Remove a contract")
async def delete_contract(contract_id: uuid.UUID, _: ManagerPrincipal, engine: Engine) -> Response:
    async with engine.begin() as conn:
        if not await directory.delete_contract(conn, contract_id):
            raise not_found("contract")
    return Response(status_code=204)
