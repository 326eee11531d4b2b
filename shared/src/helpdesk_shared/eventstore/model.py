"""What goes into and comes out of the event store, independent of PostgreSQL."""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk_shared.events.base import DomainEvent, decode
from helpdesk_shared.logging import correlation_id
from helpdesk_shared.telemetry import trace_context

_SEQUENCE_DIGITS = 20
_SEQUENCE = re.compile(r"(\d{20})-(\d{20})")


class ExpectedVersion(enum.Enum):
    """Special expectations for `append`; an `int` means "the stream is exactly at this version"."""

    NO_STREAM = "no_stream"  # the stream must not exist yet
    ANY = "any"  # append at the end, whatever the version


class ConcurrencyConflict(Exception):
    """The stream was not at the expected version: someone else appended first (HTTP 409).

    `actual` is the stream's version when known, -1 when a race was lost inside the caller's
    transaction (which is then aborted and cannot read it). `allowed`, when the handler knows
    them, are the commands the aggregate takes now (the 409 names them).
    """

    def __init__(self, stream_id: str, expected: int | ExpectedVersion, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        self.allowed: list[str] | None = None
        shown = expected.value if isinstance(expected, ExpectedVersion) else expected
        super().__init__(f"stream {stream_id}: expected version {shown}, found {actual}")


class DuplicateEventIds(ValueError):
    """One batch names the same event id twice: a caller's mistake, refused before any write
    (not a conflict, so never retried as a lost race)."""

    def __init__(self, stream_id: str, event_ids: list[uuid.UUID]) -> None:
        self.stream_id = stream_id
        self.event_ids = event_ids
        shown = ", ".join(str(e) for e in event_ids)
        super().__init__(f"stream {stream_id}: one append repeats event ids {shown}")


def check_batch(stream_id: str, events: Sequence[NewEvent]) -> None:
    """What every store refuses before writing: an empty batch, an event id named twice."""
    if not events:
        raise ValueError("append needs at least one event")
    seen: set[uuid.UUID] = set()
    repeated: list[uuid.UUID] = []
    for event in events:
        if event.event_id in seen:
            repeated.append(event.event_id)
        seen.add(event.event_id)
    if repeated:
        raise DuplicateEventIds(stream_id, repeated)


class StreamNotFound(LookupError):
    """A stream with no events was read where one was required."""


@dataclass(frozen=True)
class EventMetadata:
    """Why and by whom an event was recorded, and in which trace (the W3C trace context of the
    append, so that the trace goes on where the event is published and consumed)."""

    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    traceparent: str | None = None
    tracestate: str | None = None

    def to_json(self) -> dict[str, Any]:
        raw = {
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "actor": self.actor,
            **self.extra,
        }
        # Only a trace context there is: an event appended outside any trace has no keys for it.
        if self.traceparent is not None:
            raw["traceparent"] = self.traceparent
        if self.tracestate is not None:
            raw["tracestate"] = self.tracestate
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EventMetadata:
        return cls(
            correlation_id=raw.get("correlation_id"),
            causation_id=raw.get("causation_id"),
            actor=raw.get("actor"),
            extra={k: v for k, v in raw.items() if k not in _KNOWN_METADATA},
            traceparent=raw.get("traceparent"),
            tracestate=raw.get("tracestate"),
        )


#: The metadata keys `EventMetadata` names; any other is kept in its `extra`.
_KNOWN_METADATA = frozenset(
    {"correlation_id", "causation_id", "actor", "traceparent", "tracestate"}
)


def in_context(events: Sequence[NewEvent]) -> Sequence[NewEvent]:
    """`events` stamped with what the current request or message knows and their handler did
    not say: its correlation id, and the trace context of the append (when tracing). Events
    sharing one metadata object (a command's) share its stamped copy, so that the store encodes
    it once for all of them."""
    cid = correlation_id.get()
    traced = trace_context()
    if not traced and (cid is None or all(e.metadata.correlation_id for e in events)):
        return events
    stamped: dict[int, EventMetadata] = {}
    for event in events:
        metadata = event.metadata
        if id(metadata) not in stamped:
            stamped[id(metadata)] = dataclasses.replace(
                metadata,
                correlation_id=metadata.correlation_id or cid,
                traceparent=traced.get("traceparent", metadata.traceparent),
                tracestate=traced.get("tracestate", metadata.tracestate),
            )
    return [dataclasses.replace(e, metadata=stamped[id(e.metadata)]) for e in events]


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended. Its id makes retried appends idempotent."""

    type: str
    data: dict[str, Any]
    schema_version: int = 1
    metadata: EventMetadata = field(default_factory=EventMetadata)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def from_domain(
        cls,
        event: DomainEvent,
        metadata: EventMetadata | None = None,
        event_id: uuid.UUID | None = None,
    ) -> NewEvent:
        return cls(
            type=event.event_type(),
            data=event.to_data(),
            schema_version=event.schema_version,
            metadata=metadata or EventMetadata(),
            event_id=event_id or uuid.uuid4(),
        )


@dataclass(frozen=True, order=True)
class LogPosition:
    """A point in the all-events log.

    The log is ordered by (writing transaction id, global position): rows are only read once every
    transaction with a lower id has ended, so this order is gapless and final. `global_position`
    alone is unique but not the reading order.
    """

    tx_id: int
    global_position: int

    @classmethod
    def start(cls) -> LogPosition:
        return cls(0, 0)

    @property
    def sequence(self) -> str:
        """This position as the CloudEvents `sequence` of its event: a string whose lexicographic
        order is the log order (both numbers zero-padded to 20 digits, enough for any bigint),
        so a subscriber can compare two events' cursors without knowing how they are built."""
        return f"{self.tx_id:0{_SEQUENCE_DIGITS}d}-{self.global_position:0{_SEQUENCE_DIGITS}d}"

    @classmethod
    def from_sequence(cls, sequence: str) -> LogPosition:
        """The position a `sequence` names; raises `ValueError` for anything else."""
        match = _SEQUENCE.fullmatch(sequence)
        if match is None:
            raise ValueError(f"{sequence!r} is not a sequence (<20 digits>-<20 digits>)")
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored, with its place in its stream and in the log."""

    global_position: int
    tx_id: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: EventMetadata
    recorded_at: datetime

    @property
    def log_position(self) -> LogPosition:
        return LogPosition(self.tx_id, self.global_position)

    @property
    def category(self) -> str:
        return stream_category(self.stream_id)

    def to_domain(self) -> DomainEvent:
        """The catalogue model of this event, upcast to the current schema version."""
        return decode(self.type, self.schema_version, self.data)


@dataclass(frozen=True)
class AppendResult:
    """Where an append put its events (or where they already were, for an idempotent retry)."""

    stream_id: str
    first_version: int
    last_version: int
    global_positions: tuple[int, ...]
    already_stored: bool = False


def stream_category(stream_id: str) -> str:
    """`ticket-<uuid>` -> `ticket`."""
    category, sep, _ = stream_id.partition("-")
    if not sep or not category:
        raise ValueError(f"stream id {stream_id!r} is not <category>-<id>")
    return category


def stream_id(category: str, entity_id: uuid.UUID | str) -> str:
    """`<category>-<id>`, the stream naming contract."""
    return f"{category}-{entity_id}"
