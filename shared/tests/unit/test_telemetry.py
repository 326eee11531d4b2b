"""Traces are off unless the `OTEL_*` variables ask for them; on, the trace context is carried
by the events (metadata, CloudEvents extension) and the request's correlation id reaches them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient

from helpdesk_shared import telemetry
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import (
    EventMetadata,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.http.app import create_app
from helpdesk_shared.messaging.envelope import parse_envelope, to_cloudevent_message
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.tracing import InMemorySpanExporter, RecordedSpans

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(autouse=True)
def untraced() -> Iterator[None]:
    telemetry.stop_tracing()
    yield
    telemetry.stop_tracing()


def _app(store: MemoryEventStore) -> AsyncClient:
    router = APIRouter()

    @router.post("/v1/things")
    async def append() -> dict[str, str]:
        await store.append("thing-1", ExpectedVersion.ANY, [NewEvent("ThingDone", {})])
        return {}

    app = create_app(
        service="test", version="0", settings=CommonSettings(), routers=[router],
        readiness_checks={},
    )  # fmt: skip
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
    ],
)
async def test_without_otel_variables_nothing_is_traced_nor_exported(
    environ: dict[str, str],
) -> None:
    assert telemetry.configure_tracing("test", environ) is False
    assert not telemetry.tracing()
    with telemetry.span("anything") as span:
        assert span is None
        assert telemetry.trace_context() == {}
    assert telemetry.context_from({"traceparent": TRACEPARENT}) is None
    store = MemoryEventStore()
    async with _app(store) as client:
        response = await client.post("/v1/things", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    (event,) = await store.read_stream("thing-1")
    assert (event.metadata.traceparent, event.metadata.tracestate) == (None, None)
    assert "traceparent" not in event.metadata.to_json()


def test_the_otlp_endpoint_or_exporter_turns_tracing_on() -> None:
    assert telemetry.configure_tracing("test", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert telemetry.tracing()
    telemetry.stop_tracing()
    assert telemetry.configure_tracing("test", {"OTEL_TRACES_EXPORTER": "console"})
    telemetry.stop_tracing()
    assert not telemetry.configure_tracing("test", {"OTEL_TRACES_EXPORTER": "zipkin"})


def test_stopped_tracing_exports_nothing_more() -> None:
    exporter = InMemorySpanExporter()
    telemetry.record_spans(exporter)
    with telemetry.span("recorded"):
        pass
    telemetry.stop_tracing()
    with telemetry.span("after"):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["recorded"]


async def test_request_span_continues_the_callers_trace_and_events_carry_the_append_span() -> None:
    spans = RecordedSpans(InMemorySpanExporter())
    telemetry.record_spans(spans.exporter)
    store = MemoryEventStore()
    async with _app(store) as client:
        response = await client.post("/v1/things", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    server = spans.one("POST /v1/things")
    assert server.parent is not None
    assert server.parent.span_id == 0xB7AD6B7169203331
    assert server.context is not None
    assert server.context.trace_id == int(TRACEPARENT[3:35], 16)
    (event,) = await store.read_stream("thing-1")
    assert event.metadata.traceparent is not None
    assert event.metadata.traceparent.split("-")[1] == TRACEPARENT[3:35]
    assert event.metadata.correlation_id == response.headers["x-correlation-id"]


async def test_the_request_correlation_id_reaches_events_whose_handler_named_none() -> None:
    store = MemoryEventStore()
    async with _app(store) as client:
        response = await client.post("/v1/things")
    (event,) = await store.read_stream("thing-1")
    assert event.metadata.correlation_id is not None
    assert event.metadata.correlation_id == response.headers["x-correlation-id"]


def test_the_trace_context_travels_in_the_cloudevents_tracing_extension() -> None:
    stored = RecordedEvent(
        global_position=1, tx_id=1, stream_id="ticket-1", version=1, event_id=uuid.uuid4(),
        type="Escalated", schema_version=1, data={}, recorded_at=datetime.now(UTC),
        metadata=EventMetadata(traceparent=TRACEPARENT, tracestate="dsi=1"),
    )  # fmt: skip
    message = to_cloudevent_message(stored, "test")
    assert json.loads(message.body)["traceparent"] == TRACEPARENT
    received = parse_envelope(message.body, message.content_type, message.headers)
    assert received.metadata["traceparent"] == TRACEPARENT
    assert received.metadata["tracestate"] == "dsi=1"


def test_a_span_links_the_traces_it_serves_without_being_their_child() -> None:
    """A batch of messages from several traces: one span, linked to each (none its parent)."""
    exporter = InMemorySpanExporter()
    telemetry.record_spans(exporter)
    other = "00-1bf7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"
    carried = [telemetry.context_from({"traceparent": tp}) for tp in (TRACEPARENT, other)]
    with telemetry.span("consume batch", links=[c for c in carried if c is not None]):
        pass
    (batch,) = exporter.get_finished_spans()
    assert batch.parent is None
    assert {f"{link.context.trace_id:032x}" for link in batch.links} == {
        TRACEPARENT.split("-")[1],
        other.split("-")[1],
    }
