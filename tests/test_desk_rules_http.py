"""The desk's rules across intake and the ticket service, over HTTP, on one real database.

Both services run in process (their real apps) on this run's database: a request opened by intake
is the ticket the ticket service then qualifies, refuses or closes, as the front ends see it.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.demo_data import load
from helpdesk_intake.bootstrap import build_app as build_intake
from helpdesk_intake.settings import Settings as IntakeSettings
from helpdesk_shared import catalogue
from helpdesk_shared.auth import issue_token
from helpdesk_ticket.bootstrap import build_app as build_ticket
from helpdesk_ticket.settings import Settings as TicketSettings

SECRET = "desk-rules-tests-secret-0123456789abcdef"
#: A requester of the demo directory (Entreprise Alpha, contract n°1).
REQUESTER = "demo.alpha"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Desk:
    intake: httpx.AsyncClient
    ticket: httpx.AsyncClient
    settings: IntakeSettings

    def auth(
        self, sub: str, *roles: str, level: int = 1, groups: tuple[str, ...] = ("desk",)
    ) -> dict[str, str]:
        token = issue_token(self.settings, sub, list(roles), level=level, groups=list(groups))
        return {"Authorization": f"Bearer {token}"}

    @property
    def agent(self) -> dict[str, str]:
        return self.auth("agent.n1", "agent")

    @property
    def manager(self) -> dict[str, str]:
        """Acts on tickets of every group (routed domains start in their own group)."""
        return self.auth("chef.desk", "manager")

    async def open_request(self, **form: Any) -> dict[str, Any]:
        body = {
            "subject": "Demande",
            "description": "Décrite au guichet",
            "requester": {"login": REQUESTER},
            **form,
        }
        answer = await self.intake.post("/v1/requests", json=body, headers=self.agent)
        assert answer.status_code == 201, answer.text
        opened: dict[str, Any] = answer.json()
        return opened

    async def command(
        self, ticket_id: str, name: str, headers: dict[str, str] | None = None, **body: Any
    ) -> httpx.Response:
        return await self.ticket.post(
            f"/v1/tickets/{ticket_id}/{name}", json=body, headers=headers or self.agent
        )


@pytest.fixture
async def desk(database_url: str, engine: AsyncEngine) -> AsyncIterator[Desk]:
    await load(engine)
    intake_settings = IntakeSettings(
        database_url=database_url,
        helpdesk_jwt_secret=SECRET,
        intake_ticket_url=f"http://127.0.0.1:{_closed_port()}",
        intake_rate_limit_per_minute=0,
    )
    ticket_settings = TicketSettings(
        database_url=database_url, helpdesk_jwt_secret=SECRET, ticket_background_tasks=False
    )
    intake_app = build_intake(intake_settings, engine=engine)
    ticket_app = build_ticket(ticket_settings, engine=engine)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake_app), base_url="http://intake"
        ) as intake,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ticket_app), base_url="http://ticket"
        ) as ticket,
    ):
        yield Desk(intake, ticket, intake_settings)


async def test_the_catalogue_is_served_read_only_to_authenticated_callers(desk: Desk) -> None:
    anonymous = await desk.intake.get("/v1/categories")
    assert anonymous.status_code == 401
    requester = desk.auth(REQUESTER, "requester")
    served = await desk.intake.get("/v1/categories", headers=requester)
    assert served.status_code == 200, served.text
    items = {c["code"]: c for c in served.json()["items"]}
    assert list(items) == list(catalogue.codes())
    assert items["office_software"]["group"] == "desk"
    assert items["servers"] == {
        "code": "servers",
        "label": "Serveurs",
        "group": "servers",
        "level_one": False,
    }
    refused = await desk.intake.post("/v1/categories", json={}, headers=desk.agent)
    assert refused.status_code == 405


async def test_a_ticket_opened_with_a_category_is_qualified_with_the_same_category(
    desk: Desk,
) -> None:
    for served in (await desk.intake.get("/v1/categories", headers=desk.agent)).json()["items"]:
        opened = await desk.open_request(category=served["code"])
        qualified = await desk.command(
            opened["ticket_id"],
            "qualify",
            desk.manager,
            type="incident",
            category=served["code"],
            impact="low",
            urgency="low",
        )
        assert qualified.status_code == 200, (served["code"], qualified.text)
        assert qualified.json()["category"] == served["code"]


async def test_unknown_categories_are_refused_by_both_services_listing_the_catalogue(
    desk: Desk,
) -> None:
    refused_form = await desk.intake.post(
        "/v1/requests",
        json={
            "subject": "Café",
            "description": "La machine à café",
            "category": "coffee",
            "requester": {"login": REQUESTER},
        },
        headers=desk.agent,
    )
    assert refused_form.status_code == 422, refused_form.text
    assert refused_form.json()["errors"][0]["field"] == "category"
    assert "office_software" in refused_form.text
    opened = await desk.open_request(category="printers")
    refused = await desk.command(
        opened["ticket_id"],
        "qualify",
        type="incident",
        category="coffee",
        impact="low",
        urgency="low",
    )
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["field"] == "category"
    assert "unknown category" in error["message"]
    for code in catalogue.codes():
        assert code in error["message"]


async def test_an_out_of_scope_request_is_not_resolved_at_level_one(desk: Desk) -> None:
    opened = await desk.open_request(category="printers", private=True)
    assert opened["outcome"] == "out_of_scope"
    assert (opened["group"], opened["level"]) == ("desk", 1)
    ticket_id = opened["ticket_id"]
    refused = await desk.command(
        ticket_id, "resolve", solution="Imprimante perso réparée", resolution_code="fix"
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert {"route", "escalate", "close"} <= set(problem["allowed"])
    assert "resolve" not in problem["allowed"]
    assert "out-of-scope" in problem["detail"]
    view = await desk.ticket.get(f"/v1/tickets/{ticket_id}", headers=desk.agent)
    assert "resolve" not in view.json()["allowed_commands"]
    closed = await desk.command(
        ticket_id,
        "close",
        code="out_of_scope",
        reason="Matériel personnel",
        follow_up="Orienté vers le revendeur",
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"


async def test_a_complaint_is_its_own_type_for_management(desk: Desk) -> None:
    requester = desk.auth(REQUESTER, "requester")
    answer = await desk.intake.post(
        "/v1/requests",
        json={"subject": "Réclamation", "description": "Mon ticket traîne depuis un mois"},
        headers=requester,
    )
    assert answer.status_code == 201, answer.text
    opened = answer.json()
    assert opened["reference"].startswith("REC-")
    assert opened["group"] == "management"
    taken_by_desk = await desk.command(opened["ticket_id"], "take")
    assert taken_by_desk.status_code == 403  # not the desk's to handle: management's
    view = await desk.ticket.get(f"/v1/tickets/{opened['ticket_id']}", headers=desk.manager)
    assert (view.json()["type"], view.json()["group"]) == ("complaint", "management")
    chosen = await desk.open_request(type="incident", subject="Plainte", category="printers")
    assert chosen["reference"].startswith("INC-")
    assert chosen["group"] == "desk"


async def test_remote_maintenance_for_an_eple_with_consent_only(desk: Desk) -> None:
    login = f"prof.{uuid.uuid4().hex[:8]}"
    school = {
        "login": login,
        "name": "Paul Lefèvre",
        "organisation": "Collège Victor Hugo",
        "organisation_kind": "eple",
        "academy": "Paris",
    }
    created = await desk.intake.post("/v1/requesters", json=school, headers=desk.agent)
    assert created.status_code == 201, created.text
    answer = await desk.intake.post(
        "/v1/requests",
        json={"subject": "Poste lent", "description": "Très lent", "requester": {"login": login}},
        headers=desk.agent,
    )
    assert answer.status_code == 201, answer.text
    ticket_id = answer.json()["ticket_id"]
    appointment = {
        "kind": "remote",
        "starts_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }

    first = await desk.command(ticket_id, "schedule", **appointment)
    assert first.status_code == 409, first.text
    assert "consent" in first.json()["detail"]
    assert "record-consent" in first.json()["allowed"]

    granted = await desk.command(ticket_id, "record-consent", granted=True, channel="phone")
    assert granted.status_code == 200, granted.text
    view = granted.json()
    assert (view["requester_organisation_kind"], view["requester_academy"]) == ("eple", "Paris")
    assert view["consent"]["granted"] is True
    assert view["consent"]["channel"] == "phone"
    scheduled = await desk.command(ticket_id, "schedule", **appointment)
    assert scheduled.status_code == 200, scheduled.text

    withdrawn = await desk.command(ticket_id, "record-consent", granted=False, channel="email")
    assert withdrawn.json()["consent"]["granted"] is False
    again = await desk.command(ticket_id, "schedule", **appointment)
    assert again.status_code == 409
    assert "withdrew" in again.json()["detail"]
    history = await desk.ticket.get(f"/v1/tickets/{ticket_id}/history", headers=desk.agent)
    summaries = [e["summary"] for e in history.json() if e["type"].startswith("RemoteMaint")]
    assert summaries == [
        "Accord de télémaintenance enregistré (phone)",
        "Refus de télémaintenance enregistré (email)",
    ]


async def test_remote_maintenance_is_refused_outside_an_eple(desk: Desk) -> None:
    opened = await desk.open_request(category="workstation")
    await desk.command(opened["ticket_id"], "record-consent", granted=True, channel="phone")
    refused = await desk.command(
        opened["ticket_id"],
        "schedule",
        kind="remote",
        starts_at=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
    )
    assert refused.status_code == 409
    assert "EPLE" in refused.json()["detail"]


async def test_the_form_declares_the_cause_and_the_directory_the_charter(desk: Desk) -> None:
    """The exclusion by cause and the workstation charter, from the form and the directory."""
    named_only = await desk.open_request(category="workstation", software="Jeu vidéo")
    assert named_only["outcome"] == "admissible", named_only["reasons"]
    caused = await desk.open_request(
        category="workstation",
        software="Jeu vidéo",
        suspected_cause="software_outside_approved_base",
    )
    assert caused["outcome"] == "out_of_scope"
    assert [r["rule"] for r in caused["reasons"]] == ["excluded_unapproved_software"]

    login = f"compta.{uuid.uuid4().hex[:8]}"
    checked = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    pc = {"asset_tag": f"PC-{login}", "charter": {"compliant": False, "checked_on": checked}}
    member = {"login": login, "name": "Luc Bernard", "organisation": "Entreprise Alpha"}
    created = await desk.intake.post(
        "/v1/requesters", json=member | {"equipment": [pc]}, headers=desk.agent
    )
    assert created.status_code == 201, created.text
    assert created.json()["equipment"][0]["charter"] == {"compliant": False, "checked_on": checked}
    opened = await desk.open_request(category="workstation", requester={"login": login})
    assert opened["outcome"] == "to_verify"
    assert [r["rule"] for r in opened["reasons"]] == ["workstation_charter"]
    printing = await desk.open_request(category="printers", requester={"login": login})
    assert printing["outcome"] == "admissible"


def _reply(reference: str, body: str) -> bytes:
    """The requester's answer to the closure e-mail, quoting it."""
    lines = [
        "From: Alice Martin <alice.martin@alpha.example>",
        "To: support@dsi.example.fr",
        f"Subject: Re: [{reference}] Clôture de votre ticket",
        f"Message-ID: <{uuid.uuid4()}@alpha.example>",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
        "",
        "Le lundi, Guichet DSI a écrit :",
        "> Si le problème persiste, répondez à ce courriel.",
    ]
    return "\r\n".join(lines).encode()


async def _resolved_and_closed(desk: Desk) -> dict[str, Any]:
    opened = await desk.open_request(category="printers")
    resolved = await desk.command(
        opened["ticket_id"], "resolve", solution="Pilote réinstallé", resolution_code="fix"
    )
    assert resolved.status_code == 200, resolved.text
    closed = await desk.command(opened["ticket_id"], "close", code="resolved")
    assert closed.status_code == 200, closed.text
    return opened


async def _mail(intake: httpx.AsyncClient, desk: Desk, raw: bytes) -> dict[str, Any]:
    headers = desk.auth("mail-gateway", "service") | {"content-type": "message/rfc822"}
    answer = await intake.post("/v1/inbound-emails", content=raw, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    handled: dict[str, Any] = answer.json()
    return handled


async def test_a_reply_that_the_problem_persists_reopens_within_the_window(desk: Desk) -> None:
    opened = await _resolved_and_closed(desk)
    thanks = await _mail(desk.intake, desk, _reply(opened["reference"], "Merci !"))
    assert thanks["disposition"] == "reply"  # the quoted "persiste" is not the requester's
    handled = await _mail(
        desk.intake, desk, _reply(opened["reference"], "Bonjour, le problème persiste.")
    )
    assert (handled["disposition"], handled["ticket_id"]) == ("reopened", opened["ticket_id"])
    view = await desk.ticket.get(f"/v1/tickets/{opened['ticket_id']}", headers=desk.agent)
    assert view.json()["status"] not in ("resolved", "closed")
    assert view.json()["reopenings"] == 1
    history = (
        await desk.ticket.get(f"/v1/tickets/{opened['ticket_id']}/history", headers=desk.agent)
    ).json()
    reopened = [e for e in history if e["type"] == "TicketReopened"]
    assert len(reopened) == 1
    assert "le problème persiste" in reopened[0]["data"]["reason"]
    assert reopened[0]["by"] == REQUESTER


async def test_after_the_window_the_reply_opens_a_linked_ticket(
    desk: Desk, database_url: str, engine: AsyncEngine
) -> None:
    opened = await _resolved_and_closed(desk)
    no_window = IntakeSettings(
        database_url=database_url,
        helpdesk_jwt_secret=SECRET,
        intake_ticket_url=f"http://127.0.0.1:{_closed_port()}",
        intake_reopen_window_days=0,
    )
    transport = httpx.ASGITransport(app=build_intake(no_window, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as late_intake:
        raw = _reply(opened["reference"], "Ça ne fonctionne toujours pas.")
        handled = await _mail(late_intake, desk, raw)
    assert handled["disposition"] == "opened"
    assert handled["ticket_id"] != opened["ticket_id"]
    new = await desk.ticket.get(f"/v1/tickets/{handled['ticket_id']}", headers=desk.agent)
    assert new.json()["follows_reference"] == opened["reference"]
    assert opened["reference"] in new.json()["description"]
    old = await desk.ticket.get(f"/v1/tickets/{opened['ticket_id']}", headers=desk.agent)
    assert old.json()["status"] == "closed"
