"""Spans recorded in memory, for tests that follow a trace across the service desk's parts.

`recorded_spans` (a fixture of the plugin) turns tracing on for one test with an
`InMemorySpanExporter`, every span exported as it ends, and turns it off afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from helpdesk_shared.telemetry import record_spans, stop_tracing

__all__ = ["InMemorySpanExporter", "ReadableSpan", "RecordedSpans", "recorded_spans"]


@dataclass(frozen=True)
class RecordedSpans:
    """What the process traced since the test started."""

    exporter: InMemorySpanExporter

    def all(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        """The only span of that name (fails naming the spans there are otherwise)."""
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r} in {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        return [s.name for s in self.all()]


@pytest.fixture
def recorded_spans() -> Iterator[RecordedSpans]:
    exporter = InMemorySpanExporter()
    record_spans(exporter)
    try:
        yield RecordedSpans(exporter)
    finally:
        stop_tracing()
