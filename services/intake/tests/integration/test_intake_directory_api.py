"""`/v1/requesters` and `/v1/contracts` against the real database."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.contracts import contract_service
from helpdesk_intake.adapters.demo_data import load, sign_or_renew
from helpdesk_intake.domain.demo_contracts import DEMO_CONTRACTS, DEMO_VALID_UNTIL
from helpdesk_shared.eventstore.store import EventStore

AGENT = ("agent.martin", "agent")
MANAGER = ("chef", "manager")


async def test_requester_crud_with_equipment_and_change_log(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    login = f"r.{uuid.uuid4().hex[:8]}"
    new = {
        "login": login,
        "name": "Rose Leroy",
        "email": f"{login}@alpha.example",
        "organisation": "Entreprise Alpha",
        "role": "Comptable",
        "department": "Finances",
        "office": "A-12",
        "equipment": [{"asset_tag": f"PC-{login}", "operating_system": "Windows XP"}],
    }
    created = await intake_client.post("/v1/requesters", json=new, headers=auth(*AGENT))
    assert created.status_code == 201, created.text
    requester_id = created.json()["id"]
    duplicate = await intake_client.post("/v1/requesters", json=new, headers=auth(*AGENT))
    assert duplicate.status_code == 409
    etag = (
        await intake_client.get(f"/v1/requesters/{requester_id}", headers=auth(*AGENT))
    ).headers["etag"]
    patched = await intake_client.patch(
        f"/v1/requesters/{requester_id}",
        json={"office": "B-7"},
        headers=auth(*AGENT) | {"If-Match": etag},
    )
    assert patched.json()["office"] == "B-7"
    assert patched.headers["etag"] != etag
    stale = await intake_client.patch(
        f"/v1/requesters/{requester_id}",
        json={"office": "C-9"},
        headers=auth(*AGENT) | {"If-Match": etag},
    )
    assert stale.status_code == 412
    assert patched.json()["equipment"][0]["asset_tag"] == f"PC-{login}"
    changes = await intake_client.get(
        f"/v1/requesters/{requester_id}/changes", headers=auth(*AGENT)
    )
    assert changes.json()[-1]["changes"] == {"office": {"from": "A-12", "to": "B-7"}}
    assert changes.json()[-1]["changed_by"] == "agent.martin"
    listed = await intake_client.get(
        "/v1/requesters", params={"organisation": "entreprise alpha"}, headers=auth(*AGENT)
    )
    assert login in {r["login"] for r in listed.json()}
    own = await intake_client.get(
        f"/v1/requesters/{requester_id}", headers=auth(login, "requester")
    )
    assert own.status_code == 200
    other = await intake_client.get(
        f"/v1/requesters/{requester_id}", headers=auth("x", "requester")
    )
    assert other.status_code == 404
    deleted = await intake_client.delete(f"/v1/requesters/{requester_id}", headers=auth(*MANAGER))
    assert deleted.status_code == 204
    gone = await intake_client.get(f"/v1/requesters/{requester_id}", headers=auth(*AGENT))
    assert gone.status_code == 404


async def test_verification_flag_is_cleared_and_logged(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    new = {"login": f"v.{uuid.uuid4().hex[:8]}", "name": "Vérif", "needs_verification": True}
    created = await intake_client.post("/v1/requesters", json=new, headers=auth(*AGENT))
    requester_id = created.json()["id"]
    patched = await intake_client.patch(
        f"/v1/requesters/{requester_id}", json={"verified": True}, headers=auth(*AGENT)
    )
    assert patched.json()["needs_verification"] is False
    changes = await intake_client.get(
        f"/v1/requesters/{requester_id}/changes", headers=auth(*AGENT)
    )
    assert "needs_verification" in changes.json()[-1]["changes"]


async def test_demo_contracts_load_idempotently(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    assert await load(engine) == (0, 0)  # already loaded by the client fixture
    listed = await intake_client.get("/v1/contracts", headers=auth(*AGENT))
    ids = {c["id"] for c in listed.json()}
    assert {str(c.id) for c in DEMO_CONTRACTS} <= ids
    one = await intake_client.get(f"/v1/contracts/{DEMO_CONTRACTS[0].id}", headers=auth(*AGENT))
    assert "private_request" in one.json()["exclusions"]


async def test_a_demo_contract_loaded_again_is_renewed_to_the_demo_end_date(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    service = contract_service(EventStore(engine))
    demo = DEMO_CONTRACTS[0].model_copy(update={"id": uuid.uuid4()})
    earlier = demo.model_copy(update={"valid_until": date.today() + timedelta(days=30)})
    assert await sign_or_renew(service, earlier)  # signed, ending sooner (a load years ago)
    assert not await sign_or_renew(service, demo)  # not signed again: renewed
    versions = await intake_client.get(f"/v1/contracts/{demo.id}/versions", headers=auth(*AGENT))
    assert [(v["cause"], v["valid_until"]) for v in versions.json()][-1] == (
        "renewed",
        DEMO_VALID_UNTIL.isoformat(),
    )
    assert not await sign_or_renew(service, demo)
    again = await intake_client.get(f"/v1/contracts/{demo.id}/versions", headers=auth(*AGENT))
    assert len(again.json()) == 2  # already running to the demo end: nothing recorded
