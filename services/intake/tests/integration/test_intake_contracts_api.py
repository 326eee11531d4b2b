"""`/v1/contracts` over HTTP on the real database: contracts are streams, never overwritten, and
the admissibility of a request names the version it was judged against."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters import contracts as contract_store
from helpdesk_intake.adapters import queries
from helpdesk_intake.adapters.contracts import contract_service
from helpdesk_intake.domain.contract import Amend
from helpdesk_intake.domain.contracts import CoveredAsset
from helpdesk_shared.events.ticket import TicketOpened
from helpdesk_shared.eventstore.store import EventStore

AGENT = ("agent.martin", "agent")
MANAGER = ("chef", "manager")
TODAY = date.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def contract_body(client: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"Contrat {client}",
        "client": {"kind": "organisation", "name": client},
        "signed_on": day(-30),
        "valid_from": day(-30),
        "valid_until": day(300),
        "coverage": [
            {"kind": "domain", "name": "printers"},
            {"kind": "domain", "name": "office_software"},
            {"kind": "software", "name": "Excel", "up_to_level": 1, "label": "Excel 1er niveau"},
        ],
        "routed_domains": [{"domain": "servers", "group": "servers"}],
        "exclusions": ["private_request"],
    } | extra


async def sign(client: httpx.AsyncClient, auth: Any, body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/v1/contracts", json=body, headers=auth(*MANAGER))
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def test_signing_records_version_1_in_its_stream(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    body = contract_body(f"Client {uuid.uuid4().hex[:6]}")
    refused = await intake_client.post("/v1/contracts", json=body, headers=auth(*AGENT))
    assert refused.status_code == 403
    created = await sign(intake_client, auth, body)
    assert (created["version"], created["cause"], created["latest_version"]) == (1, "signed", 1)
    events = await event_store.read_stream(f"contract-{created['id']}")
    assert [e.type for e in events] == ["ContractSigned"]
    bad = body | {"valid_until": day(-60)}
    invalid = await intake_client.post("/v1/contracts", json=bad, headers=auth(*MANAGER))
    assert invalid.status_code == 422
    again = body | {"id": created["id"]}
    twice = await intake_client.post("/v1/contracts", json=again, headers=auth(*MANAGER))
    assert twice.status_code == 409
    assert "amend" in twice.json()["allowed"]


async def test_signing_honours_the_idempotency_key(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    client = f"Client {uuid.uuid4().hex[:6]}"
    headers = auth(*MANAGER) | {"Idempotency-Key": uuid.uuid4().hex}
    first = await intake_client.post("/v1/contracts", json=contract_body(client), headers=headers)
    second = await intake_client.post("/v1/contracts", json=contract_body(client), headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert first.headers["location"] == second.headers["location"]
    async with engine.connect() as conn:
        held = await queries.of_client(conn, client)
    assert len(held) == 1


async def test_an_amendment_is_a_new_version_and_the_old_one_stays_readable(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    created = await sign(intake_client, auth, contract_body(f"Client {uuid.uuid4().hex[:6]}"))
    path = f"/v1/contracts/{created['id']}"
    amendment = {
        "effective_from": day(0),
        "reason": "Excel au niveau 2",
        "coverage_set": [{"kind": "software", "name": "Excel", "up_to_level": 2}],
    }
    amended = await intake_client.post(f"{path}/amendments", json=amendment, headers=auth(*MANAGER))
    assert amended.status_code == 201, amended.text
    assert amended.headers["location"] == f"{path}/versions/2"
    assert (amended.json()["version"], amended.json()["reason"]) == (2, "Excel au niveau 2")
    current = (await intake_client.get(path, headers=auth(*AGENT))).json()
    before = await intake_client.get(path, params={"as_of": day(-1)}, headers=auth(*AGENT))
    excel = [i for i in current["coverage"] if i["name"] == "Excel"]
    assert (current["version"], excel[0]["up_to_level"]) == (2, 2)
    old_excel = [i for i in before.json()["coverage"] if i["name"] == "Excel"]
    assert (before.json()["version"], old_excel[0]["up_to_level"]) == (1, 1)
    versions = (await intake_client.get(f"{path}/versions", headers=auth(*AGENT))).json()
    assert [(v["version"], v["cause"]) for v in versions] == [(1, "signed"), (2, "amended")]
    too_early = await intake_client.get(path, params={"as_of": day(-31)}, headers=auth(*AGENT))
    assert too_early.status_code == 404


async def test_amendments_are_refused_before_the_latest_version_or_on_no_contract(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    created = await sign(intake_client, auth, contract_body(f"Client {uuid.uuid4().hex[:6]}"))
    path = f"/v1/contracts/{created['id']}/amendments"
    change = {"reason": "ajout", "assets_added": [{"asset_tag": "LASER-7"}]}
    ok = await intake_client.post(
        path, json=change | {"effective_from": day(5)}, headers=auth(*MANAGER)
    )
    assert ok.status_code == 201
    early = await intake_client.post(
        path, json=change | {"effective_from": day(1)}, headers=auth(*MANAGER)
    )
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "effective_from"
    nowhere = await intake_client.post(
        f"/v1/contracts/{uuid.uuid4()}/amendments",
        json=change | {"effective_from": day(5)},
        headers=auth(*MANAGER),
    )
    assert nowhere.status_code == 404


async def test_a_contract_is_never_overwritten_nor_deleted(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    created = await sign(intake_client, auth, contract_body(f"Client {uuid.uuid4().hex[:6]}"))
    path = f"/v1/contracts/{created['id']}"
    put = await intake_client.put(path, json=created, headers=auth(*MANAGER))
    assert put.status_code == 405
    assert put.headers["content-type"].startswith("application/problem+json")
    assert "/amendments" in put.json()["detail"]
    delete = await intake_client.delete(path, headers=auth(*MANAGER))
    assert delete.status_code == 405
    assert "/terminations" in delete.json()["detail"]
    still = await intake_client.get(path, headers=auth(*AGENT))
    assert still.json()["version"] == 1


async def new_member(client: httpx.AsyncClient, auth: Any, organisation: str) -> str:
    login = f"m.{uuid.uuid4().hex[:8]}"
    entry = {"login": login, "name": "Marc Roux", "organisation": organisation}
    created = await client.post("/v1/requesters", json=entry, headers=auth(*AGENT))
    assert created.status_code == 201, created.text
    return login


def request_form(login: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "incident",
        "channel": "phone",
        "subject": "Excel se ferme",
        "description": "Excel se ferme à l'ouverture d'un classeur.",
        "requester": {"login": login},
        "category": "office_software",
        "software": "Excel",
    } | extra


async def test_openings_are_judged_against_the_version_in_force_and_say_which(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    created = await sign(intake_client, auth, contract_body(organisation))
    login = await new_member(intake_client, auth, organisation)
    first = await intake_client.post("/v1/requests", json=request_form(login), headers=auth(*AGENT))
    assert first.status_code == 201, first.text
    evidence = first.json()["admissibility"]
    assert (evidence["decision"], evidence["contract_id"]) == ("in_scope", created["id"])
    assert (evidence["contract_version"], evidence["up_to_level"]) == (1, 1)
    amendment = {
        "effective_from": day(0),
        "reason": "Excel tous niveaux",
        "coverage_set": [{"kind": "software", "name": "Excel", "up_to_level": 3}],
    }
    await intake_client.post(
        f"/v1/contracts/{created['id']}/amendments", json=amendment, headers=auth(*MANAGER)
    )
    second = await intake_client.post(
        "/v1/requests", json=request_form(login), headers=auth(*AGENT)
    )
    stored = (await event_store.read_stream(f"ticket-{second.json()['ticket_id']}"))[0]
    event = stored.to_domain()
    assert isinstance(event, TicketOpened)
    assert (event.admissibility.contract_version, event.admissibility.up_to_level) == (2, 3)
    assert stored.schema_version == 2


async def test_an_unknown_login_declaring_a_covered_organisation_is_to_verify(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    await sign(intake_client, auth, contract_body(organisation))
    login = f"inconnu.{uuid.uuid4().hex[:8]}"
    form = request_form(login) | {"requester": {"login": login, "organisation": organisation}}
    response = await intake_client.post("/v1/requests", json=form, headers=auth(*AGENT))
    body = response.json()
    assert (body["admissible"], body["outcome"]) == (False, "to_verify")
    assert body["admissibility"]["decision"] == "to_verify"
    assert body["admissibility"]["rules"][0]["rule"] == "requester_verified"


async def test_a_terminated_contract_no_longer_covers_and_takes_no_change(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    created = await sign(intake_client, auth, contract_body(organisation))
    path = f"/v1/contracts/{created['id']}"
    ended = await intake_client.post(
        f"{path}/terminations",
        json={"last_day": day(-1), "reason": "résiliation"},
        headers=auth(*MANAGER),
    )
    assert ended.status_code == 201, ended.text
    login = await new_member(intake_client, auth, organisation)
    response = await intake_client.post(
        "/v1/requests", json=request_form(login), headers=auth(*AGENT)
    )
    assert response.json()["outcome"] == "out_of_scope"
    assert [r["rule"] for r in response.json()["reasons"]] == ["contract_not_valid"]
    change = {"effective_from": day(0), "reason": "x", "assets_added": [{"asset_tag": "A"}]}
    refused = await intake_client.post(f"{path}/amendments", json=change, headers=auth(*MANAGER))
    assert refused.status_code == 409
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT version, cause FROM intake.contract_versions WHERE contract_id = :id"),
            {"id": created["id"]},
        )
        assert sorted(tuple(r) for r in rows) == [(1, "signed"), (2, "terminated")]


async def test_the_read_model_is_rebuilt_from_the_stream(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine, event_store: EventStore
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    created = await sign(intake_client, auth, contract_body(organisation))
    contract_id = uuid.UUID(created["id"])
    async with engine.begin() as conn:
        before = await queries.of_client(conn, organisation)
        assert await contract_store.rebuild_versions(conn, event_store, contract_id) == 1
        after = await queries.of_client(conn, organisation)
    assert after == before


async def test_a_lost_race_is_decided_again_on_the_winner_s_version(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine, event_store: EventStore
) -> None:
    """Two amendments at once: the one that loses the append is decided again, as version 3."""
    created = await sign(intake_client, auth, contract_body(f"Client {uuid.uuid4().hex[:6]}"))
    contract_id = uuid.UUID(created["id"])
    service = contract_service(event_store)
    staged: list[int] = []

    def amendment(tag: str) -> Amend:
        asset = CoveredAsset(asset_tag=tag)
        return Amend(contract_id, TODAY, f"ajout {tag}", datetime.now(UTC), "chef",
                     assets_added=(asset,))  # fmt: skip

    async def competitor(stream: str) -> None:
        if staged:
            return
        staged.append(1)
        await contract_service(event_store).change(
            amendment("PC-RIVAL"), "race", None, {}, lambda s: ({}, "")
        )

    service.aggregates.before_append = competitor
    answer = await service.change(
        amendment("PC-MINE"), "race", None, {}, lambda s: ({"v": s.current.number}, "")
    )
    assert answer.body == {"v": 3}
    versions = (await intake_client.get(f"/v1/contracts/{contract_id}/versions",
                                        headers=auth(*AGENT))).json()  # fmt: skip
    assert [v["reason"] for v in versions] == [None, "ajout PC-RIVAL", "ajout PC-MINE"]
    assert {a["asset_tag"] for a in versions[-1]["covered_assets"]} == {"PC-RIVAL", "PC-MINE"}
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT version FROM intake.contract_versions WHERE contract_id = :id"),
            {"id": contract_id},
        )
        assert sorted(r.version for r in rows) == [1, 2, 3]
