"""`python -m helpdesk_intake.demo`: sign the three example contracts, add the demo requesters.

Idempotent: the contracts have fixed ids and are signed only when their stream does not exist
yet (signing twice is refused); the demo requesters are added once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters import directory
from helpdesk_intake.adapters.contracts import contract_service
from helpdesk_intake.domain.contract import ContractAlreadySigned, Sign
from helpdesk_intake.domain.demo_contracts import DEMO_CONTRACTS
from helpdesk_intake.domain.requesters import Equipment, Requester
from helpdesk_intake.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore

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
                asset_tag="PC-A-001", operating_system="Windows XP", acquired_on=date(2025, 3, 1)
            ),
            Equipment(asset_tag="LASER-A-002", kind="printer", acquired_on=date(2026, 5, 20)),
        ),
    ),
    Requester(login="demo.beta", name="Bruno Petit", organisation="Entreprise Bêta"),
    Requester(login="demo.gamma", name="Chloé Durand", organisation="Entreprise Gamma"),
)


async def load(engine: AsyncEngine) -> tuple[int, int]:
    """Write the demo data; returns (contracts signed, requesters added)."""
    service = contract_service(EventStore(engine))
    contracts = requesters = 0
    for contract in DEMO_CONTRACTS:
        sign = Sign(contract.id, contract.terms(), datetime.now(tz=UTC), "demo")
        try:
            await service.sign(sign, None, {}, lambda state: ({}, ""))
        except ContractAlreadySigned:
            continue
        contracts += 1
    async with engine.begin() as conn:
        for requester in DEMO_REQUESTERS:
            requesters += await directory.insert_requester(conn, requester)
    return contracts, requesters


async def _main() -> None:
    engine = create_engine(Settings().database_url, pool_size=1, application_name="intake-demo")
    try:
        contracts, requesters = await load(engine)
    finally:
        await engine.dispose()
    print(
        f"demo data loaded: {len(DEMO_CONTRACTS)} contracts ({contracts} signed now), "
        f"{len(DEMO_REQUESTERS)} requesters ({requesters} new)"
    )


if __name__ == "__main__":
    asyncio.run(_main())
