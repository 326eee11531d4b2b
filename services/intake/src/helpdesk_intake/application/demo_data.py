"""The demo data: the demo contracts and three demo requesters (`cli demo-data` loads them).

Idempotent: the contracts have fixed ids and are upserted; the demo requesters are added once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters import directory
from helpdesk_intake.domain.demo_contracts import DEMO_CONTRACTS
from helpdesk_intake.domain.requesters import Equipment, Requester

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
                asset_tag="PC-A-001", operating_system="Windows 11", acquired_on=date(2025, 3, 1)
            ),
            Equipment(asset_tag="LASER-A-002", kind="printer", acquired_on=date(2026, 5, 20)),
        ),
    ),
    Requester(login="demo.beta", name="Bruno Petit", organisation="Entreprise Bêta"),
    Requester(login="demo.gamma", name="Chloé Durand", organisation="Entreprise Gamma"),
)


async def load(engine: AsyncEngine) -> tuple[int, int]:
    """Write the demo data; returns (contracts added, requesters added)."""
    contracts = requesters = 0
    async with engine.begin() as conn:
        for contract in DEMO_CONTRACTS:
            contracts += await directory.save_contract(conn, contract)
        for requester in DEMO_REQUESTERS:
            requesters += await directory.insert_requester(conn, requester)
    return contracts, requesters
