"""`/v1/contracts/{id}/extension-proposals`: the desk proposes to cover an item a request found
outside the contract, with what it would have changed (`impact`); a manager records the client's
answer, and an accepted proposal amends the contract and re-decides the open tickets it covers."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from helpdesk_intake.application.ports import IntakeUnits
from helpdesk_intake.application.redecisions import after_extension, impact_of_extension
from helpdesk_intake.domain import contract as domain
from helpdesk_intake.domain.contract import ContractState
from helpdesk_intake.domain.contracts import CoverageItem
from helpdesk_intake.entrypoints.common import (
    IntakeSettings,
    ManagerPrincipal,
    StaffPrincipal,
    Units,
    not_found,
)
from helpdesk_intake.entrypoints.contract_bodies import (
    AnswerExtension,
    ImpactView,
    ProposalView,
    ProposeExtension,
)
from helpdesk_intake.entrypoints.http_contracts import (
    Contracts,
    IdempotencyKey,
    answer_of,
    contract_state,
    now,
    refusal,
    stored_change,
)
from helpdesk_intake.settings import Settings
from helpdesk_shared.http.idempotency import StoredResponse

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.post("/{contract_id}/extension-proposals", status_code=201, response_model=ProposalView)
async def propose_extension(
    contract_id: uuid.UUID, body: ProposeExtension, principal: StaffPrincipal,
    contracts: Contracts, units: Units, settings: IntakeSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """The desk proposes to cover an item a request found outside the contract; the answer says
    what it would have changed (`impact`)."""
    proposal_id = uuid.uuid4()
    command = domain.ProposeExtension(
        contract_id, proposal_id, body.item, body.ticket_id, now(), principal.sub
    )

    def answer(state: ContractState) -> tuple[dict[str, Any], str]:
        proposal = state.proposal(proposal_id)
        assert proposal is not None
        location = f"/v1/contracts/{contract_id}/extension-proposals/{proposal_id}"
        return ProposalView.model_validate(proposal.__dict__).model_dump(mode="json"), location

    payload = body.model_dump(mode="json")
    created = await stored_change(
        contracts, command, "extension-proposals", idempotency_key, payload, answer
    )
    state = await contract_state(contracts, contract_id)
    impact = await _impact(units, settings, state, body.item)
    return answer_of(
        StoredResponse(
            created.status_code,
            {**created.body, "impact": impact.model_dump(mode="json")},
            created.location,
        )
    )


async def _impact(
    units: IntakeUnits, settings: Settings, state: ContractState, item: CoverageItem
) -> ImpactView:
    found = await impact_of_extension(
        units, state, item, settings.intake_timezone, settings.operating_systems()
    )
    return ImpactView.model_validate(found.__dict__)


@router.get("/{contract_id}/extension-proposals/{proposal_id}", response_model=ProposalView)
async def get_proposal(
    contract_id: uuid.UUID, proposal_id: uuid.UUID, _: StaffPrincipal, contracts: Contracts,
    units: Units, settings: IntakeSettings,
) -> ProposalView:  # fmt: skip
    """The proposal, what became of it, and what it would have changed (judged now)."""
    state = await contract_state(contracts, contract_id)
    proposal = state.proposal(proposal_id)
    if proposal is None:
        raise not_found("extension proposal")
    impact = await _impact(units, settings, state, proposal.item)
    return ProposalView.model_validate({**proposal.__dict__, "impact": impact})


@router.post("/{contract_id}/extension-proposals/{proposal_id}/answer", response_model=ProposalView)
async def answer_extension(
    contract_id: uuid.UUID, proposal_id: uuid.UUID, body: AnswerExtension,
    principal: ManagerPrincipal, contracts: Contracts, units: Units, settings: IntakeSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """The client's answer, recorded by a manager. An accepted proposal amends the contract in
    the same append (a new version covering the item), then the client's open tickets that were
    out of scope for the item are judged again (`AdmissibilityRedecided` on each). With an
    `Idempotency-Key`, a retry gets the first answer and is recorded once; the re-decisions run
    again and only judge what is still out of scope, so `redecided` lists what this call did."""
    command = domain.AnswerExtension(
        contract_id, proposal_id, body.accepted, now(), principal.sub, body.reason
    )
    location = f"/v1/contracts/{contract_id}/extension-proposals/{proposal_id}"

    def render(state: ContractState) -> tuple[dict[str, Any], str]:
        proposal = state.proposal(proposal_id)
        assert proposal is not None
        view = {**proposal.__dict__, "contract_version": state.current.number, "redecided": []}
        return ProposalView.model_validate(view).model_dump(mode="json"), location

    scope = f"POST {location}/answer:{principal.sub}"
    payload = body.model_dump(mode="json")
    try:
        stored = await contracts.answer(command, scope, idempotency_key, payload, render)
    except domain.ContractError as error:
        raise refusal(error) from error
    redecided: list[str] = []
    if body.accepted:
        state = await contract_state(contracts, contract_id)
        proposal = state.proposal(proposal_id)
        assert proposal is not None
        events = await after_extension(
            units, state, proposal, principal.sub, settings.intake_timezone,
            settings.operating_systems(),
        )  # fmt: skip
        redecided = [str(e.ticket_id) for e in events]
    return JSONResponse({**stored.body, "redecided": redecided}, status_code=stored.status_code)
