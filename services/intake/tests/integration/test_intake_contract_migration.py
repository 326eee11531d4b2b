"""The migration that makes contracts streams carries every former row over as its signing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from helpdesk_intake.adapters import contracts as contract_store
from helpdesk_intake.adapters.migrations import MIGRATIONS
from helpdesk_intake.domain.contracts import ClientKind, CoverageKind
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import SHARED
from helpdesk_testkit.servers import create_database, drop_database, run, with_database

FORMER_ROW = {
    "name": "Contrat d'avant",
    "client": "Entreprise Delta",
    "signed_on": "2026-01-05",
    "valid_from": "2026-01-05",
    "valid_until": "2028-12-31",
    "level1_domains": ["printers", "workstation"],
    "routed_domains": [{"domain": "servers", "group": "servers", "label": ""}],
    "covered_software": ["Word"],
    "covered_hardware": ["PC sous Windows XP"],
    "supported_operating_systems": ["Windows XP"],
    "obsolete_operating_systems": [],
    "obsolete_software": [],
    "approved_software": [],
    "covered_assets": [],
    "covers_assets_acquired_later": False,
    "exclusions": ["private_request"],
}


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[str]:
    name = f"helpdesk_mig_{uuid.uuid4().hex[:12]}"
    run(create_database(postgres_admin_url, name))
    try:
        yield with_database(postgres_admin_url, name)
    finally:
        run(drop_database(postgres_admin_url, name))


def test_former_contract_rows_become_signed_streams(empty_database: str) -> None:
    SHARED.upgrade(empty_database)
    MIGRATIONS.upgrade(empty_database, "intake_0001")
    contract_id = uuid.uuid4()
    asyncio.run(_insert_former_row(empty_database, contract_id))
    MIGRATIONS.upgrade(empty_database)
    asyncio.run(_check_carried_over(empty_database, contract_id))


async def _insert_former_row(url: str, contract_id: uuid.UUID) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO intake.contracts (id, client, data)"
                    " VALUES (:id, :client, CAST(:data AS jsonb))"
                ),
                {"id": contract_id, "client": "Entreprise Delta", "data": json.dumps(FORMER_ROW)},
            )
    finally:
        await engine.dispose()


async def _check_carried_over(url: str, contract_id: uuid.UUID) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        state, version = await contract_store.load(EventStore(engine), contract_id)
        assert state is not None
        assert version == 1
        terms = state.current.terms
        assert (terms.client.kind, terms.client.name) == (
            ClientKind.ORGANISATION,
            "Entreprise Delta",
        )
        kinds = [(i.kind, i.name, i.up_to_level) for i in terms.coverage]
        assert kinds == [
            (CoverageKind.DOMAIN, "printers", 3),
            (CoverageKind.DOMAIN, "workstation", 3),
            (CoverageKind.SOFTWARE, "Word", 3),
            (CoverageKind.HARDWARE, "PC sous Windows XP", 3),
        ]
        async with engine.connect() as conn:
            held = await contract_store.held_by(conn, "someone", "entreprise delta")
            assert [s.contract_id for s in held] == [contract_id]
            assert held[0].current.terms == terms
            gone = await conn.execute(text("SELECT to_regclass('intake.contracts')"))
            assert gone.scalar_one() is None
    finally:
        await engine.dispose()
