"""The demo data: the demo contracts, signed as streams, and three demo requesters, each with a
workstation found compliant with the charter (`python -m helpdesk_intake.entrypoints.cli demo-data`
loads them).

Idempotent: the contracts have fixed ids and are signed only when their stream does not exist
yet (signing twice is refused); one signed in an earlier year is renewed to today's demo end date
(`DEMO_VALID_UNTIL`), so a demo database never drifts out of contract; the demo requesters are
added once.

A loader that writes rows and signs streams, not a handler: it lives with the adapters it writes
through (the directory table, the contract store), and only the command-line tool calls it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters import directory
from helpdesk_intake.adapters.contracts import contract_service
from helpdesk_intake.application.contracts import ContractService
from helpdesk_intake.domain.contract import ContractAlreadySigned, ContractState, Renew, Sign
from helpdesk_intake.domain.contracts import Contract
from helpdesk_intake.domain.demo_contracts import DEMO_CONTRACTS
from helpdesk_intake.domain.requesters import CharterCompliance, Equipment, Requester
from helpdesk_shared.eventstore.store import EventStore

#: The demo workstations were found compliant with the charter (workstation problems need it).
_CHECKED = CharterCompliance(compliant=True, checked_on=date(2026, 9, 1))

DEMO_REQUESTERS = (
    Requester(
        login="demo.alpha",
        name="Alice Martin",
        email="alice.martin@alpha.example",
        organisation="Entreprise Alpha",
        department="Comptabilité",
        office="B-104",
        equipment=(
            Equipment(
                asset_tag="PC-A-001",
                operating_system="Windows 11",
                acquired_on=date(2025, 3, 1),
                charter=_CHECKED,
            ),
            Equipment(asset_tag="LASER-A-002", kind="printer", acquired_on=date(2026, 5, 20)),
        ),
    ),
    Requester(
        login="demo.beta",
        name="Bruno Petit",
        organisation="Entreprise Bêta",
        equipment=(
            Equipment(asset_tag="PC-B-001", operating_system="Windows 11", charter=_CHECKED),
        ),
    ),
    Requester(
        login="demo.gamma",
        name="Chloé Durand",
        organisation="Entreprise Gamma",
        equipment=(
            Equipment(asset_tag="PC-G-001", operating_system="Windows 10", charter=_CHECKED),
        ),
    ),
)


async def load(engine: AsyncEngine) -> tuple[int, int]:
    """Write the demo data; returns (contracts signed, requesters added)."""
    service = contract_service(EventStore(engine))
    contracts = requesters = 0
    for contract in DEMO_CONTRACTS:
        contracts += await sign_or_renew(service, contract)
    async with engine.begin() as conn:
        for requester in DEMO_REQUESTERS:
            requesters += await directory.insert_requester(conn, requester)
    return contracts, requesters


def _no_answer(state: ContractState) -> tuple[dict[str, object], str]:
    return {}, ""


async def sign_or_renew(service: ContractService, contract: Contract) -> bool:
    """Sign the demo contract (True), or renew it when its end is before today's demo end."""
    now = datetime.now(tz=UTC)
    try:
        await service.sign(Sign(contract.id, contract.terms(), now, "demo"), None, {}, _no_answer)
        return True
    except ContractAlreadySigned:
        pass
    state = await service.load(contract.id)
    current = state.current
    end, wanted = current.terms.valid_until, contract.valid_until
    if state.terminated or wanted is None or (end is not None and end >= wanted):
        return False
    effective = max(now.date(), current.effective_from)
    renew = Renew(contract.id, effective, wanted, now, "demo")
    await service.change(renew, f"demo-data:{contract.id}", None, {}, _no_answer)
    return False
