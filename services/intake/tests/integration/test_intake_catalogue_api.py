"""Contracts speak the shared catalogue: their domains are its codes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

MANAGER = ("chef", "manager")
TODAY = date.today()
COFFEE = {"kind": "domain", "name": "coffee"}
KITCHEN = {"domain": "coffee", "group": "kitchen"}


def contract(**scope: Any) -> dict[str, Any]:
    return {
        "name": "Contrat de test",
        "client": f"Client {uuid.uuid4().hex[:6]}",
        "signed_on": (TODAY - timedelta(days=30)).isoformat(),
        "valid_from": (TODAY - timedelta(days=30)).isoformat(),
        **scope,
    }


@pytest.mark.parametrize(
    ("field", "scope", "change"),
    [
        (
            "coverage",
            {"coverage": [{"kind": "domain", "name": "printers"}, COFFEE]},
            {"coverage_set": [COFFEE]},
        ),
        ("routed_domains", {"routed_domains": [KITCHEN]}, {"routed_domains": [KITCHEN]}),
    ],
)
async def test_a_contract_domain_outside_the_catalogue_is_refused(
    intake_client: httpx.AsyncClient,
    auth: Any,
    field: str,
    scope: dict[str, Any],
    change: dict[str, Any],
) -> None:
    refused = await intake_client.post(
        "/v1/contracts", json=contract(**scope), headers=auth(*MANAGER)
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == field
    assert "office_software" in refused.json()["errors"][0]["message"]
    fine = contract(
        coverage=[{"kind": "domain", "name": "printers"}],
        routed_domains=[{"domain": "servers", "group": "s"}],
    )
    created = await intake_client.post("/v1/contracts", json=fine, headers=auth(*MANAGER))
    assert created.status_code == 201, created.text
    amendment = {"effective_from": TODAY.isoformat(), "reason": "avenant"} | change
    amended = await intake_client.post(
        f"/v1/contracts/{created.json()['id']}/amendments", json=amendment, headers=auth(*MANAGER)
    )
    assert amended.status_code == 422, amended.text
    assert amended.json()["errors"][0]["field"] == next(iter(change))
