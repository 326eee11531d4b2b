"""`POST /v1/calls`: the telephony system reports each call (offered, answered or abandoned).

The call's own id makes a report recorded once: reported again, it is answered 200 with the call
as recorded. A client that must tell its own retry from a repeat sends an `Idempotency-Key`: its
retry then gets the first answer again (201 and `Location` included), as every creating POST."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

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
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.idempotency import (
    IdempotencyGuard,
    KeyHeader,
    StoredResponse,
    validate_key,
)
from helpdesk_shared.http.openapi import problem_responses
from helpdesk_shared.http.problems import Problem
from helpdesk_shared.logging import correlation_id

router = APIRouter(prefix="/v1", tags=["calls"])

Telephony = Annotated[
    Principal, Depends(require_roles(Role.SERVICE, Role.AGENT, Role.MANAGER, Role.ADMIN))
]


#: Attempts of a keyed report whose transaction lost the append's race to the same call
#: reported at the same moment (the next attempt sees it recorded: 200, or 409 with other data).
_KEYED_ATTEMPTS = 3


@router.post(
    "/calls",
    status_code=201,
    summary="Record a call (the same call reported again is answered 200, not recorded twice; "
    "with `Idempotency-Key`, a retry gets the first answer, 201 included)",
    responses={
        201: {"model": CallRecorded},
        200: {"model": CallRecorded},
        **problem_responses(409),  # the call id was already recorded with other facts
    },
)
async def report_call(
    report: CallReport,
    principal: Telephony,
    store: Store,
    metrics: Metrics,
    idempotency_key: KeyHeader = None,
) -> JSONResponse:
    try:
        event = record_call(report, datetime.now(tz=UTC))
    except CallRejected as error:
        raise invalid(error.field, str(error)) from None
    metadata = EventMetadata(correlation_id=correlation_id.get(), actor=principal.sub)
    new = NewEvent.from_domain(event, metadata, event_id=event_uuid(report))
    replayed = False
    if validate_key(idempotency_key) is None:
        answer = await _record(store, event, new, None)
    else:
        scope = f"POST /v1/calls:{principal.sub}"
        keyed = (scope, idempotency_key or "", report.model_dump(mode="json"))
        answer, replayed = await _record_once(store, event, new, keyed)
    if answer.status_code == 201 and not replayed:
        metrics.calls.labels(event.outcome.value).inc()
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if answer.location:
        headers["Location"] = answer.location
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


async def _record(
    store: EventStore, event: CallRecorded, new: NewEvent, conn: AsyncConnection | None
) -> StoredResponse:
    """Append the call to its own stream: 201, or 200 with the call as first recorded when
    its event is already stored; 409 when the call id was recorded with other facts. A race
    lost inside the caller's transaction (`conn`) is raised as is: that transaction is over."""
    stream = stream_id("call", event.call_id)
    try:
        result = await store.append(stream, ExpectedVersion.NO_STREAM, [new], conn=conn)
    except ConcurrencyConflict as conflict:
        if conflict.actual == -1:
            raise
        raise Problem(
            409,
            "Appel déjà enregistré",
            f"The call {event.call_id!r} was already recorded with other data.",
            type_="urn:helpdesk:problem:call-already-recorded",
        ) from None
    if result.already_stored:
        stored = await store.read_stream(stream, 1, 1, conn=conn)
        return StoredResponse(200, stored[0].data)
    return StoredResponse(201, event.to_data(), f"/v1/calls/{event.call_id}")


async def _record_once(
    store: EventStore, event: CallRecorded, new: NewEvent, keyed: tuple[str, str, dict[str, Any]]
) -> tuple[StoredResponse, bool]:
    """`_record` under an `Idempotency-Key`: the key claimed and the answer stored in the
    append's transaction, so a retry (after a lost answer or a 503) gets the first answer,
    status included; True when it is that replay."""
    for attempt in range(_KEYED_ATTEMPTS):
        try:
            async with store.transaction() as conn:
                guard = await IdempotencyGuard.claim(conn, *keyed)
                if guard.replay is not None:
                    return guard.replay, True
                answer = await _record(store, event, new, conn)
                await guard.remember(answer.status_code, answer.body, answer.location)
            return answer, False
        except ConcurrencyConflict:
            if attempt == _KEYED_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@router.get("/calls/{call_id}", summary="One recorded call", response_model=CallRecorded)
async def get_call(call_id: uuid.UUID, _: StaffPrincipal, store: Store) -> JSONResponse:
    stored = await store.read_stream(stream_id("call", call_id), 1, 1)
    if not stored:
        raise not_found("call")
    return JSONResponse(stored[0].data)
