"""`helpdesk-relay` / `python -m helpdesk_shared.relay`: run the relay from the environment.

Several replicas may run: one publishes, the others wait for its advisory lock. The consumers'
queues it declares before publishing come from `RELAY_CONSUMERS` (JSON: each consuming service's
queue name and bindings, as the services declare them in their `entrypoints/consumer.py`), e.g.
`{"notify": ["ticket.#"], "metrics": ["ticket.#", "call.#"]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Sequence

from prometheus_client import start_http_server
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.eventstore.visibility import LogVisibility
from helpdesk_shared.logging import configure_logging
from helpdesk_shared.messaging.topology import ConsumerQueue
from helpdesk_shared.relay.metrics import RelayMetrics
from helpdesk_shared.relay.relay import Relay
from helpdesk_shared.settings import CommonSettings
from helpdesk_shared.telemetry import configure_tracing


class RelaySettings(CommonSettings):
    """The relay's own environment variables, beside the common ones."""

    relay_batch_size: int = 500
    relay_publish_timeout_seconds: float = 10.0
    #: Serve /metrics (prometheus) on this port when set.
    relay_metrics_port: int | None = None
    #: With /metrics: measure the log's visibility (open transactions, held-back events) this often.
    relay_visibility_interval_seconds: float = Field(default=5.0, gt=0)
    #: The consumers' queues, declared before the first publish: queue name -> bindings.
    relay_consumers: dict[str, list[str]] = Field(default_factory=dict)

    def consumer_queues(self) -> tuple[ConsumerQueue, ...]:
        return tuple(
            ConsumerQueue(name, tuple(bindings)) for name, bindings in self.relay_consumers.items()
        )


@contextlib.asynccontextmanager
async def serving_metrics(
    settings: RelaySettings, engine: AsyncEngine
) -> AsyncIterator[RelayMetrics]:
    """The relay's metrics, served on `relay_metrics_port` when set, with the log's visibility
    measured every `relay_visibility_interval_seconds` while serving."""
    metrics = RelayMetrics()
    if settings.relay_metrics_port is None:
        yield metrics
        return
    server, _ = start_http_server(settings.relay_metrics_port, registry=metrics.registry)
    visibility = LogVisibility(engine, metrics.registry)
    interval = settings.relay_visibility_interval_seconds
    watching = asyncio.create_task(visibility.watch(interval), name="log-visibility")
    try:
        yield metrics
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        server.shutdown()
        server.server_close()


async def run_relay(settings: RelaySettings) -> None:
    """Run until SIGTERM or SIGINT, then finish the batch in flight and exit."""
    engine = create_engine(
        settings.database_url,
        pool_size=2,
        application_name="helpdesk-relay",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
    try:
        async with serving_metrics(settings, engine) as metrics:
            await _relay(settings, engine, metrics)
    finally:
        await engine.dispose()


async def _relay(settings: RelaySettings, engine: AsyncEngine, metrics: RelayMetrics) -> None:
    relay = Relay(
        engine=engine,
        amqp_url=settings.amqp_url,
        exchange=settings.helpdesk_exchange,
        queue_prefix=settings.helpdesk_queue_prefix,
        source=settings.relay_source,
        batch_size=settings.relay_batch_size,
        publish_timeout=settings.relay_publish_timeout_seconds,
        consumers=settings.consumer_queues(),
        metrics=metrics,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(relay.stop()))
    await relay.run()


def main(argv: Sequence[str] | None = None) -> None:
    """Relay until stopped; the settings come from the environment (`--help` only answers)."""
    argparse.ArgumentParser(prog="helpdesk-relay", description=__doc__).parse_args(argv)
    settings = RelaySettings()
    configure_logging("relay", settings.log_level, settings.log_json)
    configure_tracing("relay")
    asyncio.run(run_relay(settings))


if __name__ == "__main__":
    main()
