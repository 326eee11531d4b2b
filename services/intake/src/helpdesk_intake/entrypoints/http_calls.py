"""`POST /v1/calls`: the telephony system reports each call (offered, answered or abandoned)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from helpdesk_intake.domain.calls import CallRejected, CallReport, event_uuid, record_call
from helpdesk_intake.entrypoints.common import StaffPrincipal, Store, invalid, not_found
from helpdesk_intake.entrypoints.metrics import Metrics
from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.events.intake import CallRecorded
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
    stream_id,
)
from helpdesk_shared.http.openapi import problem_responses
from helpdesk_shared.http.problems import Problem
from helpdesk_shared.logging import correlation_id

router = APIRouter(prefix="/v1", tags=["calls"])

Telephony = Annotated[
    Principal, Depends(require_roles(Role.SERVICE, Role.AGENT, Role.MANAGER, Role.ADMIN))
]


@router.post(
    "/calls",
    status_code=201,
    summary="Record a call (the same call reported again is answered 200, not recorded twice)",
    responses={
        201: {"model": CallRecorded},
        200: {"model": CallRecorded},
        **problem_responses(409),  # the call id was already recorded with other facts
    },
)
async def report_call(
    report: CallReport, principal: Telephony, store: Store, metrics: Metrics
) -> JSONResponse:
    try:
        event = record_call(report, datetime.now(tz=UTC))
    except CallRejected as error:
        raise invalid(error.field, str(error)) from None
    stream = stream_id("call", event.call_id)
    metadata = EventMetadata(correlation_id=correlation_id.get(), actor=principal.sub)
    new = NewEvent.from_domain(event, metadata, event_id=event_uuid(report))
    try:
        result = await store.append(stream, ExpectedVersion.NO_STREAM, [new])
    except ConcurrencyConflict:
        raise Problem(
            409,
            "Appel déjà enregistré",
            f"The call {report.call_id!r} was already recorded with other data.",
            type_="urn:helpdesk:problem:call-already-recorded",
        ) from None
    if result.already_stored:
        stored = await store.read_stream(stream, 1, 1)
        return JSONResponse(stored[0].data, status_code=200)
    metrics.calls.labels(event.outcome.value).inc()
    return JSONResponse(
        event.to_data(), status_code=201, headers={"Location": f"/v1/calls/{event.call_id}"}
    )


@router.get("/calls/{call_id}", summary="One recorded call", response_model=CallRecorded)
async def get_call(call_id: uuid.UUID, _: StaffPrincipal, store: Store) -> JSONResponse:
    stored = await store.read_stream(stream_id("call", call_id), 1, 1)
    if not stored:
        raise not_found("call")
    return JSONResponse(stored[0].data)
