"""`POST /v1/requests`: the assistance form ("fiche d'assistance utilisateur")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from helpdesk_intake.application.open_request import (
    OpenRequest,
    RequesterDetails,
    RequesterUnidentified,
    open_ticket,
    open_ticket_alone_first,
)
from helpdesk_intake.application.ports import ArticleSuggestions
from helpdesk_intake.domain.complaints import ticket_type
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.entrypoints.common import (
    IntakeSettings,
    Knowledge,
    Openings,
    OpeningSlots,
    invalid,
)
from helpdesk_intake.entrypoints.metrics import Metrics
from helpdesk_shared import catalogue
from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.events.admissibility import AdmissibilityEvidence
from helpdesk_shared.events.ticket import BreakdownCause, Channel, Reason, TicketType
from helpdesk_shared.http.idempotency import HEADER, IdempotencyGuard
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1", tags=["requests"])

Opener = Annotated[
    Principal,
    Depends(require_roles(Role.REQUESTER, Role.AGENT, Role.MANAGER, Role.ADMIN, Role.SERVICE)),
]


class AssistanceForm(BaseModel):
    """The fields of a request, as the desk's form or a front end sends them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "Imprimante du 2e étage hors service",
                    "description": "Bourrage papier sur l'imprimante du bureau 214.",
                    "category": "printers",
                    "asset_tag": "PRN-0214",
                }
            ]
        },
        extra="forbid",
    )

    #: Left out: `complaint` when the subject or description says "plainte" or "réclamation"
    #: (`INTAKE_COMPLAINT_KEYWORDS`), else `incident`.
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.WEB
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)
    ]
    #: For whom: a requester may leave it out (the request is its own); an agent must fill it.
    requester: RequesterDetails | None = None
    #: The support domain, a code of `GET /v1/categories` (`printers`, `office_software`,
    #: `servers`...), checked against the contract.
    category: str | None = Field(default=None, min_length=1, max_length=80)
    software: str | None = Field(default=None, max_length=120)
    asset_tag: str | None = Field(default=None, max_length=80)
    operating_system: str | None = Field(default=None, max_length=80)
    private: bool = Field(default=False, description="Demande à titre privé")
    personal_training: bool = Field(default=False, description="Relève d'une formation personnelle")
    #: What caused the breakdown, if known: `software_outside_approved_base` is the contract's
    #: exclusion of breakdowns due to installations outside the approved base; `misuse` is not.
    suspected_cause: BreakdownCause | None = None
    #: When the request reached the desk (a phone call's start); defaults to now.
    received_at: AwareDatetime | None = None

    @field_validator("category")
    @classmethod
    def _in_the_catalogue(cls, category: str | None) -> str | None:
        return None if category is None else catalogue.known(category)


class RequesterOut(BaseModel):
    id: str
    login: str
    needs_verification: bool
    created: bool


class RequestOpened(BaseModel):
    ticket_id: str
    reference: str
    admissible: bool
    outcome: str
    reasons: list[Reason]
    routed_domain: str | None
    contract_id: str | None
    #: The decision as evidence: contract, version applied, every rule evaluated in order.
    admissibility: AdmissibilityEvidence
    group: str
    level: int
    requester: RequesterOut
    #: Published knowledge articles matching the request (empty when none or unavailable).
    suggested_articles: list[dict[str, Any]] = []


@router.post(
    "/requests",
    status_code=201,
    summary="Record a request on the assistance form and open its ticket",
    responses={201: {"model": RequestOpened}},
)
async def submit_request(
    form: AssistanceForm,
    request: Request,
    principal: Opener,
    openings: Openings,
    settings: IntakeSettings,
    metrics: Metrics,
    knowledge: Knowledge,
    slots: OpeningSlots,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    command = _command(form, principal, tuple(settings.intake_complaint_keywords))
    zone, systems = settings.intake_timezone, settings.operating_systems()
    if idempotency_key is None:
        async with slots:
            with _requester_identified():
                opened = await open_ticket_alone_first(openings, command, zone, systems)
        body, location = opened.body(), f"/v1/tickets/{opened.ticket_id}"
    else:
        scope = f"POST /v1/requests:{principal.sub}"
        async with slots, openings.begin() as conn:
            guard = await IdempotencyGuard.claim(
                conn, scope, idempotency_key, form.model_dump(mode="json")
            )
            replay = guard.replay
            if replay is None:
                with _requester_identified():
                    opened = await open_ticket(openings.within(conn), command, zone, systems)
                body, location = opened.body(), f"/v1/tickets/{opened.ticket_id}"
                await guard.remember(201, body, location)
        if replay is not None:
            body = {
                **replay.body,
                "suggested_articles": await _suggest(knowledge, request, form, replay.body),
            }
            return _answer(replay.status_code, body, replay.location, True)
    metrics.tickets_opened.labels(form.channel.value, body["outcome"]).inc()
    body["suggested_articles"] = await _suggest(knowledge, request, form, body)
    return _answer(201, body, location, False)


@contextmanager
def _requester_identified() -> Iterator[None]:
    """An unidentified requester is the form's fault: 422 naming the field."""
    try:
        yield
    except RequesterUnidentified as error:
        raise invalid("requester", str(error)) from None


async def _suggest(
    knowledge: ArticleSuggestions, request: Request, form: AssistanceForm, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """Articles the ticket service suggests (after the commit: never holds the transaction)."""
    if "ticket_id" not in body:
        return []
    return await knowledge.suggestions(
        request.headers.get("authorization"),
        f"{form.subject} {form.description}",
        category=form.category,
        ticket_id=uuid.UUID(body["ticket_id"]),
    )


def _answer(
    status: int, body: dict[str, Any], location: str | None, replayed: bool
) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if location:
        headers["Location"] = location
    return JSONResponse(body, status_code=status, headers=headers)


def _command(
    form: AssistanceForm, principal: Principal, complaint_keywords: tuple[str, ...]
) -> OpenRequest:
    received_at = form.received_at or datetime.now(tz=UTC)
    if received_at > datetime.now(tz=UTC) + timedelta(minutes=5):
        raise invalid("received_at", "must not be in the future")
    chosen = form.type if "type" in form.model_fields_set else None
    return OpenRequest(
        type=ticket_type(chosen, form.subject, form.description, complaint_keywords),
        channel=form.channel,
        subject=form.subject,
        description=form.description,
        facts=AssistanceRequest(
            domain=form.category,
            software=form.software,
            asset_tag=form.asset_tag,
            operating_system=form.operating_system,
            private=form.private,
            personal_training=form.personal_training,
            suspected_cause=form.suspected_cause,
        ),
        requester=_for_whom(form, principal),
        received_at=received_at,
        opened_by=principal.sub,
        verified_by_staff=principal.is_staff,
    )


def _for_whom(form: AssistanceForm, principal: Principal) -> RequesterDetails:
    """A requester opens in its own name only; staff and services open for the caller."""
    if principal.is_staff:
        if form.requester is None or not (form.requester.login or form.requester.email):
            raise invalid("requester", "requester.login or requester.email is required")
        return form.requester
    details = form.requester or RequesterDetails()
    if details.login not in (None, principal.sub):
        raise Problem(
            403,
            "Accès refusé",
            "A requester opens requests in its own name only.",
            type_="urn:helpdesk:problem:not-own-request",
        )
    if form.channel is Channel.PHONE:
        raise invalid("channel", "the phone channel is for the desk's agents")
    if form.received_at is not None:
        raise invalid("received_at", "set by the desk: a requester's request is received now")
    return details.model_copy(update={"login": principal.sub})
