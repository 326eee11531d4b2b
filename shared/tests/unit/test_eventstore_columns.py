"""The append's columns: each event's JSON encoded once, to the same value `json` reads back,
and the metadata a command's events share stamped and encoded once for all of them."""

from __future__ import annotations

import json
import uuid

from helpdesk_shared.eventstore.append_sql import append_args, event_columns
from helpdesk_shared.eventstore.model import EventMetadata, NewEvent, in_context
from helpdesk_shared.logging import correlation_id


def _event(n: int, metadata: EventMetadata) -> NewEvent:
    data = {"n": n, "text": "Bâtiment B, « file d'attente »", "list": [1.5, None, True]}
    return NewEvent(type=f"Type{n}", data=data, schema_version=n + 1, metadata=metadata)


def test_columns_hold_every_event_in_order_with_its_json() -> None:
    first = EventMetadata(actor="a", extra={"via": "mél"}, traceparent="00-abc-def-01")
    shared = EventMetadata(correlation_id="c", actor="b")
    events = [_event(0, first), _event(1, shared), _event(2, shared), _event(3, EventMetadata())]
    ids, types, versions, datas, metadatas = event_columns(events)
    assert ids == [e.event_id for e in events]
    assert types == ["Type0", "Type1", "Type2", "Type3"]
    assert versions == [1, 2, 3, 4]
    assert [json.loads(d) for d in datas] == [e.data for e in events]
    assert [EventMetadata.from_json(json.loads(m)) for m in metadatas] == [
        e.metadata for e in events
    ]
    # The shared metadata is encoded once: the same text object for both of its events.
    assert metadatas[1] is metadatas[2]


def test_args_follow_the_statements_placeholders() -> None:
    events = [_event(0, EventMetadata())]
    args = append_args("ticket-1", 4, events)
    assert args[:2] == ("ticket-1", 4)
    assert args[2:] == event_columns(events)


def test_stamping_keeps_each_metadata_and_shares_a_commands_copy() -> None:
    shared = EventMetadata(actor="b")
    own = EventMetadata(actor="a", correlation_id="mine")
    events = [_event(0, shared), _event(1, own), _event(2, shared)]
    token = correlation_id.set(str(uuid.uuid4()))
    try:
        stamped = in_context(events)
        cid = correlation_id.get()
    finally:
        correlation_id.reset(token)
    assert [e.metadata.actor for e in stamped] == ["b", "a", "b"]
    assert [e.metadata.correlation_id for e in stamped] == [cid, "mine", cid]
    assert stamped[0].metadata is stamped[2].metadata
    assert [e.event_id for e in stamped] == [e.event_id for e in events]
