"""Generate the AsyncAPI 3.0 document of `helpdesk.events` from the event catalogue.

The catalogue is the single source of truth: `python -m helpdesk_shared.events.asyncapi
docs/asyncapi.yaml` rewrites the document, and a test fails when the committed one is stale.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from helpdesk_shared.events import registered_events
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.schema import schema_file_name

#: Where the events' JSON Schemas are committed, relative to the AsyncAPI document.
SCHEMAS_DIR = "schemas"

CLOUDEVENT_EXTENSIONS = {
    # The CloudEvents distributed-tracing extension (W3C trace context), when traces are on.
    "traceparent": ("string", "W3C `traceparent` of the publish: the event's trace goes on."),
    "tracestate": ("string", "W3C `tracestate` that goes with `traceparent`, when there is one."),
    "streamversion": ("integer", "Version of the event within its stream (1, 2, ...)."),
    "globalposition": (
        "integer",
        "Identity of the event in the event store: unique, but NOT an order (use `sequence`).",
    ),
    "sequence": (
        "string",
        "The event's place in the log: strictly increasing in delivery order when compared as"
        " strings, the same on every re-publication. The resume cursor of `GET /v1/events`.",
    ),
    "schemaversion": ("integer", "Schema version of `data` (see the upcasters)."),
    "correlationid": ("string", "Correlation id of the request that caused the event."),
    "causationid": ("string", "Id of the command or event that caused this one."),
    "actor": ("string", "Login of whoever caused the event."),
}


def build_document(exchange: str = "helpdesk.events") -> dict[str, Any]:
    """The AsyncAPI document: one message and one send operation per event type."""
    events = dict(sorted(registered_events().items()))
    messages = {name: _message(cls) for name, cls in events.items()}
    schemas = {name: _data_schema(cls) for name, cls in events.items()}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "helpdesk events",
            "version": "1.0.0",
            "description": (
                "Every event stored by the service desk is published, in store order and at least"
                " once, to the durable topic exchange `helpdesk.events` as a CloudEvents 1.0"
                " structured JSON document (`application/cloudevents+json`). Routing key:"
                " `<stream category>.<event name in snake case, less a leading category word>`."
                " Subscribers bind their own queue with `ticket.#` or `#`, resume and deduplicate"
                " by the `sequence` extension (strictly increasing in delivery order) and by `id`,"
                " and catch up through `GET /v1/events?after=<sequence>` (see examples/subscriber)."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": _servers(),
        "channels": {
            "helpdesk.events": {
                "address": exchange,
                "description": "The topic exchange every stored event is published to.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in events},
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {"name": exchange, "type": "topic", "durable": True},
                    }
                },
            }
        },
        "operations": {
            f"publish{name}": {
                "action": "send",
                "channel": {"$ref": "#/channels/helpdesk.events"},
                "summary": _summary(cls),
                "messages": [{"$ref": f"#/channels/helpdesk.events/messages/{name}"}],
                "bindings": {"amqp": {"deliveryMode": 2, "cc": [cls.routing_key()]}},
            }
            for name, cls in events.items()
        },
        "components": {
            "messages": messages,
            "schemas": schemas,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _summary(cls: type[DomainEvent]) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def _data_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    """The event body's JSON Schema: the committed file (`helpdesk_shared.events.schema`), one
    source for the document and for the subscribers who validate `data` with it."""
    return {"$ref": f"{SCHEMAS_DIR}/{schema_file_name(cls)}"}


SECURITY_SCHEMES: dict[str, Any] = {
    "rabbitmqUser": {
        "type": "userPassword",
        "description": "A RabbitMQ user and password of the subscriber's own (guest/guest here).",
    },
    "serviceToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A bearer token with the role `service`, for `GET /v1/events`.",
    },
}


def _servers() -> dict[str, Any]:
    """Local development, and the production placeholders each deployment replaces."""
    amqp = [{"$ref": "#/components/securitySchemes/rabbitmqUser"}]
    token = [{"$ref": "#/components/securitySchemes/serviceToken"}]
    return {
        "local": {
            "host": "127.0.0.1:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "description": "The local broker (make up).",
            "security": amqp,
        },
        "production": {
            "host": "rabbitmq.helpdesk.example:5671",
            "protocol": "amqps",
            "protocolVersion": "0.9.1",
            "description": "Placeholder: the deployment's broker, over TLS.",
            "security": amqp,
        },
        "events-api": {
            "host": "127.0.0.1:8002",
            "protocol": "http",
            "pathname": "/v1/events",
            "description": (
                "The ticket service's log of the same CloudEvents, to catch up from a `sequence`"
                " (`?after=<sequence>&type=<EventType>&limit=<n>`, answering"
                ' `application/cloudevents-batch+json`, next page in `Link: rel="next"`).'
            ),
            "security": token,
        },
    }


def _message(cls: type[DomainEvent]) -> dict[str, Any]:
    extensions = {
        key: {"type": kind, "description": text}
        for key, (kind, text) in CLOUDEVENT_EXTENSIONS.items()
    }
    return {
        "name": cls.__name__,
        "title": cls.__name__,
        "summary": _summary(cls),
        "contentType": "application/cloudevents+json",
        "payload": {
            "type": "object",
            "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
            "properties": {
                "specversion": {"const": "1.0"},
                "id": {"type": "string", "format": "uuid", "description": "The event id."},
                "source": {"type": "string", "description": "The service that recorded it."},
                "type": {"const": cls.__name__},
                "subject": {"type": "string", "description": "The stream id, e.g. ticket-<uuid>."},
                "time": {"type": "string", "format": "date-time"},
                "datacontenttype": {"const": "application/json"},
                "data": {"$ref": f"#/components/schemas/{cls.__name__}"},
                **extensions,
            },
        },
        "bindings": {"amqp": {"messageType": cls.__name__}},
        "x-routing-key": cls.routing_key(),
        "x-schema-version": cls.schema_version,
    }


def render(exchange: str = "helpdesk.events") -> str:
    """The document as YAML text (deterministic, so a stale committed copy is detectable)."""
    text: str = yaml.safe_dump(
        build_document(exchange), sort_keys=False, allow_unicode=True, width=100
    )
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m helpdesk_shared.events.asyncapi",
        description="Write the AsyncAPI document of the event catalogue.",
    )
    parser.add_argument("target", type=Path, nargs="?", default=Path("docs/asyncapi.yaml"))
    target = parser.parse_args(argv).target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
