"""The CloudEvents 1.0 envelope every stored event travels in (structured JSON mode).

Parsed with the CloudEvents SDK's RabbitMQ binding, so that any subscriber, ours or another DSI
system's, can read the messages with the same SDK. The relay writes the same documents itself:
`structured_body` byte for byte as the SDK, `spliced_body` around the body's stored JSON text
(the same document, not the same bytes: consumers parse, never compare bytes). Our own attributes
travel as extensions, whose names the spec restricts to lowercase letters and digits.

`sequence` (the CloudEvents sequence extension) is the subscribers' resume cursor: strictly
increasing in delivery order and the same on every re-publication. `globalposition` identifies an
event in the store but is not an order (the log is ordered by writing transaction first).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import aio_pika
import aiormq
from aio_pika.abc import AbstractIncomingMessage
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import rabbitmq
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from helpdesk_shared.events.base import DomainEvent, UnknownEventType, decode, event_class
from helpdesk_shared.eventstore.model import EventMetadata, LogPosition, RecordedEvent
from helpdesk_shared.eventstore.outgoing import OutgoingEvent
from helpdesk_shared.messaging.amqp_properties import EncodedProperties

CLOUDEVENTS_JSON = JSONFormat.CONTENT_TYPE  # "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
#: Header naming the event type, for tools that route or filter without parsing the body.
TYPE_HEADER = "event-type"

#: CloudEvents extension name -> key in `ReceivedEvent.metadata` (and in the stored metadata).
METADATA_EXTENSIONS = {
    "correlationid": "correlation_id",
    "causationid": "causation_id",
    "actor": "actor",
    # The CloudEvents distributed-tracing extension: the W3C trace context of the publish.
    "traceparent": "traceparent",
    "tracestate": "tracestate",
}

_FORMAT = JSONFormat()


class InvalidEventMessage(ValueError):
    """A message that is not one of our CloudEvents (a poison message): it can never succeed."""


@dataclass(frozen=True)
class ReceivedEvent:
    """A stored event as a consumer receives it from the exchange."""

    event_id: uuid.UUID
    type: str
    stream_id: str
    version: int
    global_position: int
    recorded_at: datetime
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    #: The CloudEvents `sequence` (the event's place in the log, see `LogPosition.sequence`):
    #: compare it, not `global_position`, which identifies an event but does not order them.
    sequence: str = ""

    def to_domain(self) -> DomainEvent:
        """The catalogue model of this event, upcast to the current schema version."""
        return decode(self.type, self.schema_version, self.data)


class StoredEvent(Protocol):
    """What the envelope's attributes are made of: a `RecordedEvent` or an `OutgoingEvent`."""

    @property
    def event_id(self) -> uuid.UUID | str: ...
    @property
    def type(self) -> str: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def global_position(self) -> int: ...
    @property
    def log_position(self) -> LogPosition: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def metadata(self) -> EventMetadata: ...
    @property
    def recorded_at(self) -> datetime: ...


def cloudevent_attributes(event: StoredEvent, source: str) -> dict[str, Any]:
    """The CloudEvents context attributes of a stored event (its `time` still a datetime)."""
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.event_id),
        "type": event.type,
        "source": source,
        "subject": event.stream_id,
        "time": event.recorded_at,
        "datacontenttype": DATA_CONTENT_TYPE,
        "streamversion": event.version,
        "globalposition": event.global_position,
        "sequence": event.log_position.sequence,
        "schemaversion": event.schema_version,
    }
    metadata = event.metadata
    for extension, key in METADATA_EXTENSIONS.items():
        value = getattr(metadata, key)
        if value is not None:
            attributes[extension] = str(value)
    return attributes


def to_cloudevent(event: RecordedEvent, source: str) -> CloudEvent:
    """The CloudEvent of a stored event."""
    return CloudEvent(attributes=cloudevent_attributes(event, source), data=event.data)


def structured_body(event: RecordedEvent, source: str) -> bytes:
    """The structured-mode JSON of a stored event, byte for byte what the SDK's JSON format
    writes for `to_cloudevent` (a unit test holds them equal), without building and validating
    a `CloudEvent` first: the relay's cost per event (docs/performance.md)."""
    attributes = cloudevent_attributes(event, source)
    attributes["time"] = rfc3339(event.recorded_at)
    attributes["data"] = event.data
    return json.dumps(attributes).encode()


def spliced_body(event: OutgoingEvent, source: str) -> bytes:
    """The structured-mode JSON of an event read for publishing, written around its stored JSON
    text without decoding it: the same document as `structured_body`, `data` last, though not
    the same bytes (the store's key order and unescaped non-ASCII text; consumers parse it)."""
    attributes = cloudevent_attributes(event, source)
    attributes["time"] = rfc3339(event.recorded_at)
    head = json.dumps(attributes)
    return f'{head[:-1]}, "data": {event.data}}}'.encode()


def rfc3339(moment: datetime) -> str:
    """A timestamp as the CloudEvents JSON format writes it (`Z` for UTC)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def to_cloudevent_message(event: RecordedEvent, source: str) -> aio_pika.Message:
    """The persistent AMQP message the relay publishes for a stored event (structured mode: the
    RabbitMQ binding sets no header of its own then, only the content type)."""
    return aio_pika.Message(
        body=structured_body(event, source),
        content_type=CLOUDEVENTS_JSON,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(event.event_id),
        type=event.type,
        timestamp=event.recorded_at,
        app_id=source,
        correlation_id=event.metadata.correlation_id,
        headers={TYPE_HEADER: event.type},
    )


def outgoing_properties(event: OutgoingEvent, source: str) -> aiormq.spec.Basic.Properties:
    """The AMQP properties of `to_cloudevent_message`, built directly and encoded once per event
    type (`amqp_properties`): the relay publishes on the underlying channel, skipping aio-pika's
    `Message`, which converts and checks every property again for each message, and the client's
    generic encoding (a unit test holds properties and bytes equal)."""
    return EncodedProperties(
        content_type=CLOUDEVENTS_JSON,
        header=(TYPE_HEADER, event.type),
        correlation_id=event.metadata.correlation_id,
        message_id=event.event_id,
        timestamp=event.recorded_at,
        message_type=event.type,
        app_id=source,
    )


def from_amqp_message(message: AbstractIncomingMessage) -> ReceivedEvent:
    """Parse a delivered message; raises `InvalidEventMessage` for anything not ours."""
    return parse_envelope(message.body, message.content_type, message.headers)


def parse_envelope(
    body: bytes, content_type: str | None, headers: dict[str, Any] | None = None
) -> ReceivedEvent:
    """Parse a CloudEvents message body (structured, or binary with `ce-` headers)."""
    raw = rabbitmq.RabbitMQMessage(
        headers={str(k): str(v) for k, v in (headers or {}).items()},
        content_type=content_type,
        body=body,
    )
    try:
        cloud_event = rabbitmq.from_rabbitmq(raw, _FORMAT)
    except (ValueError, TypeError, KeyError, AttributeError, BaseCloudEventException) as error:
        raise InvalidEventMessage(f"not a CloudEvent: {error}") from error
    return from_cloudevent(cloud_event)


def from_cloudevent(cloud_event: BaseCloudEvent) -> ReceivedEvent:
    """Our view of a CloudEvent; raises `InvalidEventMessage` if it lacks our attributes."""
    attributes = cloud_event.get_attributes()
    try:
        event_class(str(attributes["type"]))
        data = cloud_event.get_data()
        if not isinstance(data, dict):
            raise InvalidEventMessage(f"data is not a JSON object: {type(data).__name__}")
        time = attributes["time"]
        if not isinstance(time, datetime):
            raise InvalidEventMessage("time is missing or not a timestamp")
        return ReceivedEvent(
            event_id=uuid.UUID(str(attributes["id"])),
            type=str(attributes["type"]),
            stream_id=str(attributes["subject"]),
            version=int(attributes["streamversion"]),
            global_position=int(attributes["globalposition"]),
            recorded_at=time,
            schema_version=int(attributes.get("schemaversion", 1)),
            data=data,
            metadata={
                key: attributes[ext]
                for ext, key in METADATA_EXTENSIONS.items()
                if ext in attributes
            },
            source=str(attributes.get("source", "")),
            sequence=str(attributes.get("sequence", "")),
        )
    except UnknownEventType as error:
        raise InvalidEventMessage(f"unknown event type {error}") from error
    except KeyError as error:
        raise InvalidEventMessage(f"missing CloudEvents attribute {error}") from error
    except (TypeError, ValueError) as error:
        if isinstance(error, InvalidEventMessage):
            raise
        raise InvalidEventMessage(f"invalid CloudEvents attribute: {error}") from error


def persistent_copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """The same message (body and properties) with other headers, to park or replay it."""
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )
