"""`GET /v1/events`: the published log, for other systems that catch up before they subscribe.

The answer is a CloudEvents JSON batch (`application/cloudevents-batch+json`): the very documents
the relay publishes on the exchange, in the same order (the log's, by `sequence`). A subscriber
keeps the `sequence` of the last event it handled and asks for what comes `after` it. Every answer
names the next page: `Link: <...?after=...>; rel="next"`, and the bare cursor in
`Helpdesk-Next-After` (past the events of other types too, when `type` filters). A page with fewer
than `limit` events is the last one for now: the subscriber has caught up with what is readable,
and can consume from the exchange, skipping what has a `sequence` <= its cursor.

Only callers holding the `service` role read it: the log holds every ticket's history.
"""

from __future__ import annotations

from typing import Annotated

from cloudevents.core.formats.json import JSONFormat
from fastapi import APIRouter, Depends, Query, Request, Response

from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.events.base import UnknownEventType, event_class
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.http.problems import field_error, invalid_input
from helpdesk_shared.kernel.ports import EventStore
from helpdesk_shared.messaging.envelope import to_cloudevent

CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
#: The cursor of the next page (the `after` of the `Link: rel="next"` URL), for clients that
#: would rather not parse the link.
NEXT_HEADER = "Helpdesk-Next-After"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Rows read per store query while filtering by type (a page may need several).
_SCAN = 1000

_FORMAT = JSONFormat()


def events_router(store: EventStore, source: str) -> APIRouter:
    """The `/v1/events` route over `store`; `source` is the CloudEvents source the relay uses."""
    router = APIRouter(tags=["events"])

    @router.get(
        "/v1/events",
        response_class=Response,
        responses={200: {"content": {CLOUDEVENTS_BATCH: {}}, "description": "CloudEvents batch"}},
        summary="The published events after a sequence, in log order (role service)",
    )
    async def list_events(
        request: Request,
        _caller: Annotated[Principal, Depends(require_roles(Role.SERVICE))],
        after: Annotated[
            str | None, Query(description="`sequence` of the last event already handled")
        ] = None,
        type_: Annotated[
            list[str] | None, Query(alias="type", description="Only these event types")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Response:
        position = _cursor(after)
        types = _types(type_ or [])
        page, reached = await _page(store, position, types, limit)
        # A batch is a JSON array of the structured documents (CloudEvents JSON format, 4).
        body = b"[" + b",".join(_FORMAT.write(to_cloudevent(e, source)) for e in page) + b"]"
        nxt = request.url.include_query_params(after=reached.sequence)
        headers = {"Link": f'<{nxt}>; rel="next"', NEXT_HEADER: reached.sequence}
        return Response(content=body, media_type=CLOUDEVENTS_BATCH, headers=headers)

    return router


async def _page(
    store: EventStore, after: LogPosition, types: frozenset[str], limit: int
) -> tuple[list[RecordedEvent], LogPosition]:
    """Up to `limit` events after `after` of `types` (all when empty), and how far the log was
    read: past events of other types too, so that the next page does not read them again. Fewer
    than `limit` events only when the readable end of the log was reached."""
    if not types:
        rows = await store.read_all(after, limit)
        return rows, rows[-1].log_position if rows else after
    page: list[RecordedEvent] = []
    reached = after
    while True:
        rows = await store.read_all(reached, _SCAN)
        for row in rows:
            reached = row.log_position
            if row.type in types:
                page.append(row)
                if len(page) == limit:
                    return page, reached
        if len(rows) < _SCAN:
            return page, reached


def _cursor(after: str | None) -> LogPosition:
    if after is None or after == "":
        return LogPosition.start()
    try:
        return LogPosition.from_sequence(after)
    except ValueError as error:
        raise invalid_input([field_error("query", ["after"], str(error))]) from None


def _types(names: list[str]) -> frozenset[str]:
    unknown = []
    for name in names:
        try:
            event_class(name)
        except UnknownEventType:
            unknown.append(name)
    if unknown:
        message = f"unknown event types: {', '.join(unknown)}"
        raise invalid_input([field_error("query", ["type"], message)])
    return frozenset(names)
