"""Over HTTP on the real database: a request judged again is a new fact on the ticket's stream,
after the desk verified it or after its contract was extended to cover it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from helpdesk_shared.events.ticket import AdmissibilityRedecided, RedecisionReason
from helpdesk_shared.eventstore.store import EventStore

AGENT = ("agent.martin", "agent")
MANAGER = ("chef", "manager")


def day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def contract_body(organisation: str) -> dict[str, Any]:
    return {
        "name": f"Contrat {organisation}",
        "client": {"kind": "organisation", "name": organisation},
        "signed_on": day(-30),
        "valid_from": day(-30),
        "valid_until": day(300),
        "coverage": [{"kind": "domain", "name": "office_software"}],
    }


async def sign(client: httpx.AsyncClient, auth: Any, body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/v1/contracts", json=body, headers=auth(*MANAGER))
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


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
        "subject": "Word se ferme",
        "description": "Word se ferme à l'ouverture d'un document.",
        "requester": {"login": login},
        "category": "office_software",
        "software": "Word",
    } | extra


def printers_only(organisation: str) -> dict[str, Any]:
    return contract_body(organisation) | {"coverage": [{"kind": "domain", "name": "printers"}]}


async def opened(client: httpx.AsyncClient, auth: Any, form: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/requests", json=form, headers=auth(*AGENT))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def redecisions(store: EventStore, ticket_id: str) -> list[AdmissibilityRedecided]:
    events = [e.to_domain() for e in await store.read_stream(f"ticket-{ticket_id}")]
    return [e for e in events if isinstance(e, AdmissibilityRedecided)]


async def test_an_accepted_extension_amends_the_contract_and_redecides_the_open_tickets(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    contract = await sign(intake_client, auth, printers_only(organisation))
    login = await new_member(intake_client, auth, organisation)
    word = await opened(intake_client, auth, request_form(login, software="Word"))
    assert word["admissibility"]["decision"] == "out_of_scope"
    printer = await opened(intake_client, auth, request_form(login, category="printers"))
    assert printer["admissibility"]["decision"] == "in_scope"
    network = await opened(intake_client, auth, request_form(login, category="network"))
    assert network["admissibility"]["decision"] == "out_of_scope"  # about another item
    path = f"/v1/contracts/{contract['id']}/extension-proposals"
    item = {"kind": "domain", "name": "office_software", "label": "Bureautique"}
    proposal = await intake_client.post(
        path, json={"item": item, "ticket_id": word["ticket_id"]}, headers=auth(*AGENT)
    )
    assert proposal.status_code == 201, proposal.text
    pid = proposal.json()["proposal_id"]
    keyed = {**auth(*MANAGER), "Idempotency-Key": f"answer-{pid}"}
    answer = await intake_client.post(
        f"{path}/{pid}/answer", json={"accepted": True}, headers=keyed
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["contract_version"] == 2
    assert answer.json()["redecided"] == [word["ticket_id"]]
    retried = await intake_client.post(
        f"{path}/{pid}/answer", json={"accepted": True}, headers=keyed
    )
    assert retried.status_code == 200, retried.text  # the first answer, recorded once
    assert retried.json() == answer.json() | {"redecided": []}  # nothing left to judge again
    unkeyed = await intake_client.post(
        f"{path}/{pid}/answer", json={"accepted": True}, headers=auth(*MANAGER)
    )
    assert unkeyed.status_code == 409, unkeyed.text  # without the key: already answered
    amended = await event_store.read_stream(f"contract-{contract['id']}")
    assert [e.type for e in amended][-2:] == ["ContractExtensionAccepted", "ContractAmended"]
    assert [e.type for e in amended].count("ContractExtensionAccepted") == 1
    version = await intake_client.get(f"/v1/contracts/{contract['id']}", headers=auth(*AGENT))
    assert version.json()["version"] == 2
    assert any(i["name"] == "office_software" for i in version.json()["coverage"])
    (redecided,) = await redecisions(event_store, word["ticket_id"])
    assert redecided.reason is RedecisionReason.CONTRACT_EXTENDED
    assert redecided.admissibility.decision.value == "in_scope"
    assert (redecided.admissibility.contract_version, redecided.contract_version) == (2, 2)
    assert await redecisions(event_store, printer["ticket_id"]) == []
    assert await redecisions(event_store, network["ticket_id"]) == []


async def test_a_verified_request_is_judged_again_on_the_directory_as_fixed(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    await sign(intake_client, auth, contract_body(organisation))
    login = f"inconnu.{uuid.uuid4().hex[:8]}"
    form = request_form(login) | {"requester": {"login": login, "organisation": organisation}}
    ticket = await opened(intake_client, auth, form)
    assert ticket["admissibility"]["decision"] == "to_verify"
    verification = f"/v1/requests/{ticket['ticket_id']}/verification"
    still = await intake_client.post(verification, headers=auth(*AGENT))
    assert still.status_code == 200, still.text
    assert still.json()["admissibility"]["decision"] == "to_verify"  # nobody checked yet
    confirmed = await intake_client.patch(
        f"/v1/requesters/{ticket['requester']['id']}", json={"verified": True}, headers=auth(*AGENT)
    )
    assert confirmed.status_code == 200, confirmed.text
    verified = await intake_client.post(verification, headers=auth(*AGENT))
    assert verified.status_code == 200, verified.text
    assert verified.json()["admissibility"]["decision"] == "in_scope"
    recorded = await redecisions(event_store, ticket["ticket_id"])
    assert [(e.reason, e.admissibility.decision.value) for e in recorded] == [
        (RedecisionReason.VERIFIED, "to_verify"),
        (RedecisionReason.VERIFIED, "in_scope"),
    ]
    again = await intake_client.post(verification, headers=auth(*AGENT))
    assert again.status_code == 409
    assert "in_scope" in again.json()["detail"]
    unknown = await intake_client.post(
        f"/v1/requests/{uuid.uuid4()}/verification", headers=auth(*AGENT)
    )
    assert unknown.status_code == 404
    as_requester = await intake_client.post(verification, headers=auth(login, "requester"))
    assert as_requester.status_code == 403


async def test_a_proposal_says_what_it_would_have_changed_and_writes_nothing(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    organisation = f"Client {uuid.uuid4().hex[:6]}"
    contract = await sign(intake_client, auth, printers_only(organisation))
    login = await new_member(intake_client, auth, organisation)
    for form in (
        request_form(login),
        request_form(login, software="Excel"),
        request_form(login, category="printers"),
    ):
        await opened(intake_client, auth, form)
    elsewhere = f"Client {uuid.uuid4().hex[:6]}"
    await sign(intake_client, auth, printers_only(elsewhere))
    await opened(
        intake_client, auth, request_form(await new_member(intake_client, auth, elsewhere))
    )
    path = f"/v1/contracts/{contract['id']}/extension-proposals"
    item = {"kind": "domain", "name": "office_software", "up_to_level": 2, "label": "Bureautique"}
    proposed = await intake_client.post(path, json={"item": item}, headers=auth(*AGENT))
    assert proposed.status_code == 201, proposed.text
    expected = {
        "requests": 3,
        "would_be_in_scope": 2,
        "by_item": {"Bureautique": 2},
        "by_level": {"2": 2},
    }
    assert proposed.json()["impact"] == expected
    shown = await intake_client.get(
        f"{path}/{proposed.json()['proposal_id']}", headers=auth(*AGENT)
    )
    assert shown.status_code == 200, shown.text
    assert (shown.json()["status"], shown.json()["impact"]) == ("proposed", expected)
    stream = await event_store.read_stream(f"contract-{contract['id']}")
    assert [e.type for e in stream] == ["ContractSigned", "ContractExtensionProposed"]
    missing = await intake_client.get(f"{path}/{uuid.uuid4()}", headers=auth(*AGENT))
    assert missing.status_code == 404
