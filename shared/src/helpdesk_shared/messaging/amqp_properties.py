"""The relay's AMQP message properties with their wire encoding written directly.

The AMQP client encodes a message's properties generically, property by property, looking up each
one's type, for every message: for the relay's nine properties (its event-type header a field
table) that was about twice the cost of a plain publisher's four (docs/performance.md). The relay
always sets the same properties, most of them the same for every event of a type, so these are
encoded once per type and source and only the per-event ones (ids, timestamp) for each message.
The bytes are those the client would write (a unit test holds them equal); strings over 255 bytes
are refused as the client refuses them.
"""

from __future__ import annotations

import functools
import struct
from datetime import datetime

import aiormq

_FLAGS = aiormq.spec.Basic.Properties.flags
_SHORT_MAX = 255
_TIMESTAMP = struct.Struct(">Q")
_LONG = struct.Struct(">I")


class EncodedProperties(aiormq.spec.Basic.Properties):
    """`Basic.Properties` (content type, event-type header, persistent, priority 0, correlation
    id, message id, timestamp, type, app id) whose `marshal` returns the bytes written here."""

    def __init__(
        self,
        *,
        content_type: str,
        header: tuple[str, str],
        correlation_id: str | None,
        message_id: str,
        timestamp: datetime,
        message_type: str,
        app_id: str,
    ) -> None:
        super().__init__(
            content_type=content_type,
            headers=dict((header,)),
            delivery_mode=2,
            priority=0,
            correlation_id=correlation_id,
            message_id=message_id,
            timestamp=timestamp,
            message_type=message_type,
            app_id=app_id,
        )
        # As the client writes them: a property is left out when None or empty.
        correlation = _short(correlation_id) if correlation_id else b""
        self._encoded = b"".join(
            (
                _leading(content_type, header, bool(correlation)),
                correlation,
                _short(message_id),
                _TIMESTAMP.pack(int(timestamp.timestamp())),
                _trailing(message_type, app_id),
            )
        )

    def marshal(self) -> bytes:
        return self._encoded


@functools.lru_cache(maxsize=1024)
def _leading(content_type: str, header: tuple[str, str], correlated: bool) -> bytes:
    """Flags, content type, headers, delivery mode and priority: fixed per event type."""
    flags = 0
    for name in ("content_type", "headers", "delivery_mode", "priority", "message_id"):
        flags |= _FLAGS[name]
    flags |= _FLAGS["timestamp"] | _FLAGS["message_type"] | _FLAGS["app_id"]
    if correlated:
        flags |= _FLAGS["correlation_id"]
    key, value = header
    table = _short(key) + b"S" + _long(value)
    return b"".join(
        (struct.pack(">H", flags), _short(content_type), _LONG.pack(len(table)), table, b"\x02\x00")
    )


@functools.lru_cache(maxsize=1024)
def _trailing(message_type: str, app_id: str) -> bytes:
    return _short(message_type) + _short(app_id)


def _short(value: str) -> bytes:
    encoded = value.encode()
    if len(encoded) > _SHORT_MAX:
        raise TypeError(f"string exceeds maximum length of {_SHORT_MAX} bytes")
    return bytes((len(encoded),)) + encoded


def _long(value: str) -> bytes:
    encoded = value.encode()
    return _LONG.pack(len(encoded)) + encoded
