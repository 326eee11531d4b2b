"""The relay process serves the log's visibility gauges on its metrics port (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from helpdesk_shared.db import create_engine
from helpdesk_shared.relay.__main__ import RelaySettings, serving_metrics

PATIENCE_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _oldest_writer(http: httpx.AsyncClient) -> float | None:
    answer = await http.get("/metrics")
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "helpdesk_eventstore_oldest_writer_age_seconds":
                return sample.value
    return None


async def test_the_relay_measures_an_open_writer_periodically(fresh_database_url: str) -> None:
    port = _free_port()
    settings = RelaySettings(
        database_url=fresh_database_url,
        relay_metrics_port=port,
        relay_visibility_interval_seconds=0.05,
    )  # type: ignore[call-arg]
    engine = create_engine(fresh_database_url, pool_size=2, application_name="test-relay-metrics")
    try:
        async with (
            serving_metrics(settings, engine),
            engine.connect() as writer,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            await writer.execute(text("SELECT pg_current_xact_id()"))  # an open writer
            age = text("SELECT extract(epoch FROM clock_timestamp() - now())")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + PATIENCE_S
            while True:
                writing_for = float((await writer.execute(age)).scalar_one())
                served = await _oldest_writer(http)
                if served is not None and served >= writing_for:
                    break  # measured after the writer began (or an older one)
                assert loop.time() < deadline, (served, writing_for)
                await asyncio.sleep(0.05)
            await writer.rollback()
    finally:
        await engine.dispose()
