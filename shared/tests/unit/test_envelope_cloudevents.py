"""The CloudEvents envelope: what the relay builds, consumers parse back, unchanged."""

import json
import uuid
from datetime import UTC, datetime

import aio_pika
import pytest
from cloudevents.core.bindings import rabbitmq
from cloudevents.core.formats.json import JSONFormat

from helpdesk_shared.events.ticket import Escalated
from helpdesk_shared.eventstore.model import EventMetadata, LogPosition, RecordedEvent
from helpdesk_shared.messaging.envelope import (
    InvalidEventMessage,
    parse_envelope,
    to_cloudevent,
    to_cloudevent_message,
)

TICKET = uuid.uuid4()
WHEN = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)


def recorded(**overrides: object) -> RecordedEvent:
    escalated = Escalated(
        ticket_id=TICKET,
        occurred_at=WHEN,
        from_level=1,
        to_level=2,
        group="n2-systemes",
        reason="Serveur de fichiers indisponible",
        by="agent-42",
    )
    fields: dict[str, object] = {
        "global_position": 1234,
        "tx_id": 987,
        "stream_id": f"ticket-{TICKET}",
        "version": 3,
        "event_id": uuid.uuid4(),
        "type": "Escalated",
        "schema_version": 1,
        "data": escalated.to_data(),
        "metadata": EventMetadata(correlation_id="corr-1", causation_id="cmd-9", actor="agent-42"),
        "recorded_at": WHEN,
    }
    fields.update(overrides)
    return RecordedEvent(**fields)  # type: ignore[arg-type]


def test_message_is_a_persistent_structured_cloudevent() -> None:
    event = recorded()
    message = to_cloudevent_message(event, "helpdesk-relay")
    assert message.content_type == "application/cloudevents+json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == str(event.event_id)
    assert message.type == "Escalated"
    document = json.loads(message.body)
    assert document["specversion"] == "1.0"
    assert document["id"] == str(event.event_id)
    assert document["type"] == "Escalated"
    assert document["subject"] == event.stream_id
    assert document["source"] == "helpdesk-relay"
    assert document["datacontenttype"] == "application/json"
    assert document["time"] == "2026-11-22T09:30:15.123456Z"
    assert document["data"] == event.data
    assert document["streamversion"] == 3
    assert document["globalposition"] == 1234
    assert document["schemaversion"] == 1
    assert document["correlationid"] == "corr-1"
    assert document["causationid"] == "cmd-9"
    assert document["actor"] == "agent-42"


def test_round_trip_gives_back_the_stored_event() -> None:
    event = recorded()
    message = to_cloudevent_message(event, "helpdesk")
    received = parse_envelope(message.body, message.content_type, message.headers)
    assert received.event_id == event.event_id
    assert received.type == event.type
    assert received.stream_id == event.stream_id
    assert received.version == event.version
    assert received.global_position == event.global_position
    assert received.recorded_at == event.recorded_at
    assert received.schema_version == 1
    assert received.data == event.data
    assert received.metadata == {
        "correlation_id": "corr-1",
        "causation_id": "cmd-9",
        "actor": "agent-42",
    }
    assert received.to_domain() == event.to_domain()


def test_absent_metadata_is_left_out() -> None:
    message = to_cloudevent_message(recorded(metadata=EventMetadata()), "helpdesk")
    document = json.loads(message.body)
    assert not {"correlationid", "causationid", "actor"} & document.keys()
    assert parse_envelope(message.body, message.content_type).metadata == {}


def test_the_sdk_reads_our_messages() -> None:
    message = to_cloudevent_message(recorded(), "helpdesk")
    raw = rabbitmq.RabbitMQMessage(headers={}, content_type=message.content_type, body=message.body)
    cloud_event = rabbitmq.from_rabbitmq(raw, JSONFormat())
    assert cloud_event.get_type() == "Escalated"
    assert cloud_event.get_extension("globalposition") == 1234


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json at all", "application/cloudevents+json"),
        (b"[1, 2]", "application/cloudevents+json"),
        (b'{"specversion": "1.0", "type": "Escalated"}', "application/cloudevents+json"),
        (b"\xff\xfe", "application/cloudevents+json"),
        (b'{"hello": "world"}', "application/json"),
    ],
)
def test_garbage_is_refused_as_poison(body: bytes, content_type: str) -> None:
    with pytest.raises(InvalidEventMessage):
        parse_envelope(body, content_type)


def test_unknown_type_is_refused_as_poison() -> None:
    message = to_cloudevent_message(recorded(type="SomethingNobodyKnows"), "helpdesk")
    with pytest.raises(InvalidEventMessage, match="unknown event type"):
        parse_envelope(message.body, message.content_type)


def test_missing_extension_is_refused_as_poison() -> None:
    document = json.loads(to_cloudevent_message(recorded(), "helpdesk").body)
    del document["globalposition"]
    with pytest.raises(InvalidEventMessage, match="globalposition"):
        parse_envelope(json.dumps(document).encode(), "application/cloudevents+json")


def test_sequence_orders_as_the_log_does_and_parses_back() -> None:
    positions = [LogPosition(9, 100), LogPosition(10, 3), LogPosition(10, 20), LogPosition(700, 1)]
    sequences = [p.sequence for p in positions]
    assert sorted(sequences) == sequences  # lexicographic order is the log order
    assert [LogPosition.from_sequence(s) for s in sequences] == positions
    received = parse_envelope(
        to_cloudevent_message(recorded(), "helpdesk").body, "application/cloudevents+json"
    )
    assert received.sequence == recorded().log_position.sequence
    for bad in ("12-3", "", "00000000000000000010-0000000000000000000x"):
        with pytest.raises(ValueError, match="not a sequence"):
            LogPosition.from_sequence(bad)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"metadata": EventMetadata()},
        {
            "metadata": EventMetadata(
                actor="a", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
            )
        },
        {"data": {"texte": "Écran noir — « urgent »", "n": [1, 2.5, None, True]}},
        {"recorded_at": datetime(2026, 11, 22, 9, 30, tzinfo=UTC)},
    ],
)
def test_the_body_is_what_the_sdk_writes_for_the_same_event(overrides: dict[str, object]) -> None:
    """The relay writes the envelope's JSON itself; any CloudEvents reader sees the SDK's."""
    event = recorded(**overrides)
    message = to_cloudevent_message(event, "helpdesk-relay")
    sdk = rabbitmq.to_structured(to_cloudevent(event, "helpdesk-relay"), JSONFormat())
    assert message.body == sdk.body
    assert message.content_type == sdk.content_type
    assert {**sdk.headers, "event-type": event.type} == message.headers
