"""`POST /v1/inbound-emails`: the mail gateway hands over one raw RFC 5322 message."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from helpdesk_intake.adapters import queries
from helpdesk_intake.application.inbound_mail import MailContext, MailHandled, receive_mail
from helpdesk_intake.entrypoints.common import (
    IntakeSettings,
    StaffPrincipal,
    Units,
    invalid,
)
from helpdesk_intake.entrypoints.metrics import Metrics
from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.http.dependencies import Engine

PATH = "/v1/inbound-emails"
router = APIRouter(prefix="/v1", tags=["inbound e-mail"])

MailGateway = Annotated[Principal, Depends(require_roles(Role.SERVICE, Role.ADMIN))]

_STATUS = {"opened": 201, "quarantined": 202}


@router.post(
    "/inbound-emails",
    summary="Take a raw RFC 5322 message: open a ticket, add a reply, or quarantine it",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        201: {"description": "A new ticket was opened"},
        200: {
            "description": "A reply (a comment, or the reopening of a resolved ticket whose "
            "problem persists), an automatic message, or a message handled before"
        },
        202: {"description": "Unreadable: kept in quarantine with the reason"},
    },
)
async def inbound_email(
    request: Request,
    principal: MailGateway,
    units: Units,
    settings: IntakeSettings,
    metrics: Metrics,
) -> JSONResponse:
    raw = await request.body()
    if not raw.strip():
        raise invalid("body", "the raw message is empty")
    ctx = MailContext(
        units=units,
        timezone=settings.intake_timezone,
        staff_domains=tuple(settings.intake_staff_domains),
        actor=principal.sub,
        complaint_keywords=tuple(settings.intake_complaint_keywords),
        systems=settings.operating_systems(),
        reopening=settings.reopening_rules(),
    )
    handled = await receive_mail(ctx, raw)
    if not handled.duplicate:
        metrics.inbound_emails.labels(handled.disposition).inc()
        if handled.disposition == "opened":
            metrics.tickets_opened.labels("email", handled.outcome or "unknown").inc()
    status = 200 if handled.duplicate else _STATUS.get(handled.disposition, 200)
    return JSONResponse(_body(handled), status_code=status)


def _body(handled: MailHandled) -> dict[str, Any]:
    return {
        "mail_id": str(handled.mail_id),
        "message_id": handled.message_id,
        "disposition": handled.disposition,
        "ticket_id": str(handled.ticket_id) if handled.ticket_id else None,
        "reference": handled.reference,
        "detail": handled.detail,
        "duplicate": handled.duplicate,
        "outcome": handled.outcome,
    }


@router.get("/inbound-emails/quarantine", summary="Messages kept in quarantine, newest first")
async def quarantine(
    _: StaffPrincipal, engine: Engine, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await queries.quarantined(conn, limit)
    return [
        r | {"mail_id": str(r["mail_id"]), "received_at": r["received_at"].isoformat()}
        for r in rows
    ]
