"""The relay's envelope, written around the stored JSON text and published with its AMQP
properties built directly: the same document and the same properties as `to_cloudevent_message`,
which the CloudEvents SDK's own output holds byte for byte (`test_envelope_cloudevents.py`)."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent
from helpdesk_shared.eventstore.outgoing import OutgoingEvent
from helpdesk_shared.messaging.envelope import (
    outgoing_properties,
    parse_envelope,
    spliced_body,
    to_cloudevent_message,
)

WHEN = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)

#: Stored texts as `jsonb` writes them: its own key order and spacing, non-ASCII unescaped.
STORED_TEXTS = [
    '{"n": 1.0, "big": 100000000000000000000, "text": "Zoë 🖨️ \\"q\\" \\\\ \\n"}',
    "{}",
    '{"a": {"b": [[], {}, null, true, -0.5e-3]}, "": "empty key"}',
]


def outgoing(data: str, metadata: EventMetadata) -> OutgoingEvent:
    return OutgoingEvent(
        global_position=1234,
        tx_id=987,
        stream_id=f"ticket-{uuid.uuid4()}",
        version=3,
        event_id=str(uuid.uuid4()),
        type="Escalated",
        schema_version=1,
        data=data,
        metadata=metadata,
        recorded_at=WHEN,
    )


def as_recorded(event: OutgoingEvent) -> RecordedEvent:
    """The same event as `read_all` gives it: the body decoded."""
    return RecordedEvent(
        global_position=event.global_position,
        tx_id=event.tx_id,
        stream_id=event.stream_id,
        version=event.version,
        event_id=uuid.UUID(event.event_id),
        type=event.type,
        schema_version=event.schema_version,
        data=json.loads(event.data),
        metadata=event.metadata,
        recorded_at=event.recorded_at,
    )


METADATA = [
    EventMetadata(correlation_id="corr-é", causation_id="cmd-9", actor="agent-42"),
    EventMetadata(),
    EventMetadata(correlation_id="c", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
]


@pytest.mark.parametrize("data", STORED_TEXTS)
@pytest.mark.parametrize("metadata", METADATA)
def test_the_spliced_body_is_the_same_document_as_the_decoded_one(
    data: str, metadata: EventMetadata
) -> None:
    event = outgoing(data, metadata)
    spliced = spliced_body(event, "helpdesk")
    decoded = to_cloudevent_message(as_recorded(event), "helpdesk").body
    assert _typed(json.loads(spliced)) == _typed(json.loads(decoded))
    assert parse_envelope(spliced, "application/cloudevents+json") == parse_envelope(
        decoded, "application/cloudevents+json"
    )


@pytest.mark.parametrize("metadata", METADATA)
def test_the_properties_are_those_of_the_aio_pika_message(metadata: EventMetadata) -> None:
    event = outgoing("{}", metadata)
    ours = outgoing_properties(event, "helpdesk")
    theirs = to_cloudevent_message(as_recorded(event), "helpdesk").properties
    assert dict(ours) == dict(theirs)
    assert ours.marshal() == theirs.marshal()  # the same bytes on the wire


def _typed(value: Any) -> Any:
    """`value` with every leaf paired with its type, so that 1.0 and 1 differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize(
    ("correlation_id", "event_type", "source"),
    [
        ("", "Escalated", "helpdesk"),  # an empty property is left out, as the client does
        ("corr-" + "é" * 100, "TicketOpened", "helpdesk-relay-ü"),
        ("c" * 255, "X" * 200, "s"),  # the longest short strings
    ],
)
def test_the_encoded_properties_are_the_clients_bytes(
    correlation_id: str, event_type: str, source: str
) -> None:
    event = outgoing("{}", EventMetadata(correlation_id=correlation_id))._replace(type=event_type)
    ours = outgoing_properties(event, source)
    theirs = to_cloudevent_message(as_recorded(event), source).properties
    assert ours.marshal() == theirs.marshal()


def test_a_property_too_long_for_amqp_is_refused_as_the_client_refuses_it() -> None:
    event = outgoing("{}", EventMetadata(correlation_id="c" * 256))
    with pytest.raises(TypeError):
        to_cloudevent_message(as_recorded(event), "helpdesk").properties.marshal()
    with pytest.raises(TypeError):
        outgoing_properties(event, "helpdesk").marshal()
