"""Contracts speak the shared catalogue: their domains are its codes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

MANAGER = ("chef", "manager")


def contract(**scope: Any) -> dict[str, Any]:
    return {
        "name": "Contrat de test",
        "client": f"Client {uuid.uuid4().hex[:6]}",
        "signed_on": "2026-01-01",
        "valid_from": "2026-01-01",
        **scope,
    }


@pytest.mark.parametrize(
    ("field", "scope"),
    [
        ("level1_domains", {"level1_domains": ["printers", "coffee"]}),
        ("routed_domains", {"routed_domains": [{"domain": "coffee", "group": "kitchen"}]}),
    ],
)
async def test_a_contract_domain_outside_the_catalogue_is_refused(
    intake_client: httpx.AsyncClient, auth: Any, field: str, scope: dict[str, Any]
) -> None:
    refused = await intake_client.post(
        "/v1/contracts", json=contract(**scope), headers=auth(*MANAGER)
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == field
    assert "office_software" in refused.json()["errors"][0]["message"]
    fine = contract(
        level1_domains=["printers"], routed_domains=[{"domain": "servers", "group": "s"}]
    )
    created = await intake_client.post("/v1/contracts", json=fine, headers=auth(*MANAGER))
    assert created.status_code == 201, created.text
    amended = created.json() | scope
    put = await intake_client.put(
        f"/v1/contracts/{created.json()['id']}", json=amended, headers=auth(*MANAGER)
    )
    assert put.status_code == 422
