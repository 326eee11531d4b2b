"""Support contracts across the running services, over HTTP only, as the front ends see them.

The relay and the four services run as real processes with the demo data loaded; a real SMTP
server (aiosmtpd) receives the mails. One stack, one walk through the contract rules: coverage
depth enforced on escalation, what is to verify, which of several contracts applies, a person's
own contract, the evidence on the ticket, and an accepted extension re-deciding an open ticket
and telling its requester.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from deploy.local.stack import Stack
from tests.support.mailbox import Mailbox

from helpdesk_intake.domain.demo_contracts import CONTRACT_3
from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.broker import eventually


class Desk:
    """HTTP calls with the tokens of the people at the desk."""

    def __init__(self, stack: Stack, secret: str) -> None:
        self.urls = stack.urls
        settings = CommonSettings(helpdesk_jwt_secret=secret)
        self.tokens = {
            "agent": issue_token(settings, "agent.n1", ["agent"], level=1, groups=["desk"]),
            "manager": issue_token(settings, "chef.desk", ["manager"]),
        }

    async def raw(
        self, who: str, service: str, method: str, path: str, body: Any = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        async with httpx.AsyncClient(base_url=self.urls[service], timeout=30) as client:
            return await client.request(method, path, json=body, headers=headers)

    async def call(
        self, who: str, service: str, method: str, path: str, body: Any = None
    ) -> dict[str, Any]:
        response = await self.raw(who, service, method, path, body)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    async def open(self, login: str, **form: Any) -> dict[str, Any]:
        body = {
            "channel": "phone",
            "subject": "Demande au guichet",
            "description": "Décrite au téléphone.",
            "requester": {"login": login},
            **form,
        }
        return await self.call("agent", "intake", "POST", "/v1/requests", body)

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        return await self.call("agent", "ticket", "GET", f"/v1/tickets/{ticket_id}")

    async def sign(self, client: dict[str, Any], *coverage: dict[str, Any]) -> str:
        today = date.today()
        body = {
            "name": f"Contrat {client['name']}",
            "client": client,
            "signed_on": (today - timedelta(days=30)).isoformat(),
            "valid_from": (today - timedelta(days=30)).isoformat(),
            "valid_until": (today + timedelta(days=300)).isoformat(),
            "coverage": list(coverage),
        }
        signed = await self.call("manager", "intake", "POST", "/v1/contracts", body)
        return str(signed["id"])

    async def member(self, login: str, organisation: str | None, mail: str) -> None:
        entry = {"login": login, "name": "Claire Petit", "email": mail}
        if organisation:
            entry["organisation"] = organisation
        await self.call("agent", "intake", "POST", "/v1/requesters", entry)


def domain(name: str, level: int = 3) -> dict[str, Any]:
    return {"kind": "domain", "name": name, "up_to_level": level}


async def test_the_contract_rules_across_the_running_services(
    stack: Stack, smtp_server: tuple[Mailbox, int], runner_env: dict[str, str]
) -> None:
    desk, mailbox = Desk(stack, runner_env["HELPDESK_JWT_SECRET"]), smtp_server[0]
    await _excel_is_covered_at_level_1_only(desk)
    await _what_the_directory_does_not_know_is_to_verify(desk)
    organisation, second = await _the_contract_that_covers_is_applied(desk)
    await _a_person_holds_a_contract_of_its_own(desk)
    await _an_accepted_extension_redecides_and_tells_the_requester(
        desk, mailbox, organisation, second
    )


async def _excel_is_covered_at_level_1_only(desk: Desk) -> None:
    """Contract 3 of the demo covers Excel at level 1: escalation above it is 409; the ticket
    shows the evidence with the contract's version."""
    opened = await desk.open("demo.gamma", category="office_software", software="Excel")
    evidence = opened["admissibility"]
    assert (evidence["decision"], evidence["up_to_level"]) == ("in_scope", 1)
    assert evidence["contract_id"] == str(CONTRACT_3.id)
    ticket_id = opened["ticket_id"]
    shown = (await desk.ticket(ticket_id))["admissibility"]
    assert shown["decision"] == "in_scope"
    assert shown["contract_id"] == str(CONTRACT_3.id)
    assert shown["contract_version"] == evidence["contract_version"] >= 1
    assert {"rule", "outcome", "detail"} == set(shown["rules"][0])
    await desk.call("agent", "ticket", "POST", f"/v1/tickets/{ticket_id}/take")
    refused = await desk.raw(
        "agent", "ticket", "POST", f"/v1/tickets/{ticket_id}/escalate",
        {"reason": "macro complexe", "to_level": 2},
    )  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert refused.json()["coverage_limit"] == 1


async def _what_the_directory_does_not_know_is_to_verify(desk: Desk) -> None:
    unknown_asset = await desk.open("demo.alpha", category="workstation", asset_tag="PC-X-404")
    assert unknown_asset["admissibility"]["decision"] == "to_verify"
    rules = {r["rule"]: r["outcome"] for r in unknown_asset["admissibility"]["rules"]}
    assert rules["asset_known"] == "to_verify"
    caller = f"inconnu.{uuid.uuid4().hex[:6]}"
    declared = await desk.open(
        caller,
        category="printers",
        requester={"login": caller, "organisation": "Entreprise Alpha"},
    )
    assert declared["admissibility"]["decision"] == "to_verify"
    assert declared["admissibility"]["rules"][0]["rule"] == "requester_verified"


async def _the_contract_that_covers_is_applied(desk: Desk) -> tuple[str, str]:
    """An organisation with two contracts: the request is covered by the second only."""
    organisation = f"Collège {uuid.uuid4().hex[:6]}"
    client = {"kind": "organisation", "name": organisation}
    await desk.sign(client, domain("printers"))
    second = await desk.sign(client, domain("office_software", 2))
    login = f"c.{uuid.uuid4().hex[:6]}"
    await desk.member(login, organisation, f"{login}@college.example")
    opened = await desk.open(login, category="office_software", software="Word")
    evidence = opened["admissibility"]
    assert (evidence["decision"], evidence["contract_id"]) == ("in_scope", second)
    assert evidence["up_to_level"] == 2
    shown = (await desk.ticket(opened["ticket_id"]))["admissibility"]
    assert (shown["contract_id"], shown["contract_version"]) == (second, 1)
    return organisation, second


async def _a_person_holds_a_contract_of_its_own(desk: Desk) -> None:
    login = f"p.{uuid.uuid4().hex[:6]}"
    own = await desk.sign(
        {"kind": "person", "name": "Paul Durand", "login": login}, domain("printers")
    )
    await desk.member(login, None, f"{login}@perso.example")
    opened = await desk.open(login, category="printers")
    assert (opened["admissibility"]["decision"], opened["admissibility"]["contract_id"]) == (
        "in_scope",
        own,
    )


async def _an_accepted_extension_redecides_and_tells_the_requester(
    desk: Desk, mailbox: Mailbox, organisation: str, contract_id: str
) -> None:
    login = f"c.{uuid.uuid4().hex[:6]}"
    address = f"{login}@college.example"
    await desk.member(login, organisation, address)
    opened = await desk.open(login, category="internet_access", subject="Pas d'accès Internet")
    ticket_id, reference = opened["ticket_id"], opened["reference"]
    assert opened["admissibility"]["decision"] == "out_of_scope"
    proposals = f"/v1/contracts/{contract_id}/extension-proposals"
    item = {**domain("internet_access"), "label": "Accès Internet"}
    proposed = await desk.call(
        "agent", "intake", "POST", proposals, {"item": item, "ticket_id": ticket_id}
    )
    assert proposed["impact"]["would_be_in_scope"] == 1
    answered = await desk.call(
        "manager", "intake", "POST", f"{proposals}/{proposed['proposal_id']}/answer",
        {"accepted": True},
    )  # fmt: skip
    assert answered["redecided"] == [ticket_id]
    assert answered["contract_version"] == 2
    shown = (await desk.ticket(ticket_id))["admissibility"]
    assert (shown["decision"], shown["contract_id"], shown["contract_version"]) == (
        "in_scope",
        contract_id,
        2,
    )
    history = await desk.raw("agent", "ticket", "GET", f"/v1/tickets/{ticket_id}/history")
    assert history.json()[-1]["type"] == "AdmissibilityRedecided"

    def taken_on() -> list[EmailMessage]:
        return [m for m in mailbox.to(address) if "prise en charge" in str(m["Subject"])]

    await eventually(lambda: len(taken_on()) == 1, within=90, what="the in-scope mail")
    mail = taken_on()[0]
    assert reference in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "couvre désormais" in body.get_content()
