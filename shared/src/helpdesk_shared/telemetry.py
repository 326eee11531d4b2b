"""Distributed traces (OpenTelemetry), configured from the standard `OTEL_*` variables.

A request's trace follows it through every process: the HTTP server span, the event store append,
the relay's publish, the consumer's handling and what the handler does (an SMTP send). The W3C
trace context crosses the two hops that are not calls: it is stored with each event (its metadata)
and travels in the CloudEvents distributed-tracing extension of each message.

Off unless the environment asks for it (`OTEL_EXPORTER_OTLP_ENDPOINT`, or `OTEL_TRACES_EXPORTER`
set to `otlp` or `console`): then `span()` hands out one shared `nullcontext` and `trace_context()`
an empty mapping, so an untraced process pays nothing but a check. `configure_tracing` runs once
per process (the service builder and the relay's entry point call it); tests install an in-memory
exporter with `record_spans` and go back to no tracing with `stop_tracing`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

__all__ = [
    "TRACE_KEYS",
    "SpanKind",
    "configure_tracing",
    "context_from",
    "record_spans",
    "span",
    "stop_tracing",
    "trace_context",
    "tracing",
]

log = logging.getLogger(__name__)

#: The W3C trace context headers, also the names of the stored metadata keys and CloudEvents
#: extension attributes (the CloudEvents distributed-tracing extension uses the same names).
TRACE_KEYS = ("traceparent", "tracestate")

_SCOPE = "helpdesk"
_PROPAGATOR = TraceContextTextMapPropagator()
_NO_SPAN: AbstractContextManager[None] = nullcontext()

_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None


def configure_tracing(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Trace this process if the environment asks for it; whether it does.

    `OTEL_TRACES_EXPORTER=otlp` (or only `OTEL_EXPORTER_OTLP_ENDPOINT`) exports over OTLP/HTTP
    (the exporter reads its own `OTEL_EXPORTER_OTLP_*` variables), `console` prints the spans,
    `none` or nothing leaves tracing off, as does `OTEL_SDK_DISABLED=true`. `OTEL_SERVICE_NAME`
    overrides `service`; `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER` are honoured by the
    SDK. A process already traced (a test's exporter) is left as it is.
    """
    env = os.environ if environ is None else environ
    if _tracer is not None:
        return True
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not exporter and (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        exporter = "otlp"
    if exporter in ("", "none"):
        return False
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        chosen: SpanExporter = OTLPSpanExporter()
    elif exporter == "console":
        chosen = ConsoleSpanExporter()
    else:
        log.warning("OTEL_TRACES_EXPORTER=%s is not supported (otlp, console, none)", exporter)
        return False
    _install(_provider_for(service, env), BatchSpanProcessor(chosen))
    return True


def record_spans(exporter: SpanExporter, service: str = "test") -> TracerProvider:
    """Trace into `exporter` (an `InMemorySpanExporter` in tests), each span as it ends."""
    stop_tracing()
    provider = _provider_for(service, {})
    _install(provider, SimpleSpanProcessor(exporter))
    return provider


def stop_tracing() -> None:
    """Back to no tracing: flush and shut down what was installed (tests, process exit)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = None
    _provider = None


def tracing() -> bool:
    """Whether this process traces."""
    return _tracer is not None


def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
    parent: Context | None = None,
    links: Sequence[Context] = (),
) -> AbstractContextManager[Span | None]:
    """A span around a block, current inside it (a child of the current one, or of `parent`);
    `None` and no cost when tracing is off. An exception escaping the block is recorded.
    `links` name the traces a span serves without being their child (a batch of messages, each
    from its own trace)."""
    if _tracer is None:
        return _NO_SPAN
    linked = [trace.Link(trace.get_current_span(c).get_span_context()) for c in links]
    return _tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes, links=linked
    )


def trace_context() -> dict[str, str]:
    """The current span's W3C trace context (`traceparent`, `tracestate` when there is one), to
    carry across a hop; empty when tracing is off or no span is current."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, object]) -> Context | None:
    """The remote parent a carried W3C trace context names (`None` when off or absent)."""
    if _tracer is None or not carrier.get("traceparent"):
        return None
    return _PROPAGATOR.extract({k: str(carrier[k]) for k in TRACE_KEYS if carrier.get(k)})


def _provider_for(service: str, env: Mapping[str, str]) -> TracerProvider:
    named = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": service}
    return TracerProvider(resource=Resource.create(named))


def _install(provider: TracerProvider, processor: SimpleSpanProcessor | BatchSpanProcessor) -> None:
    global _tracer, _provider
    provider.add_span_processor(processor)
    _provider = provider
    _tracer = provider.get_tracer(_SCOPE)
