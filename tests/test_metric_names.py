"""Every metric a service or the relay exposes follows one naming rule (`helpdesk_shared.metrics`),
and every `/metrics` serves the process and Python runtime metrics besides.

The dashboards and alert rules in deploy/ are written against these names: a metric named
otherwise would escape them.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.bootstrap import build_app as intake_app
from helpdesk_intake.settings import Settings as IntakeSettings
from helpdesk_metrics.bootstrap import build_app as metrics_app
from helpdesk_metrics.settings import Settings as MetricsSettings
from helpdesk_notify.bootstrap import build_app as notify_app
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.settings import Settings as NotifySettings
from helpdesk_shared.metrics import follows_convention
from helpdesk_shared.relay.metrics import RelayMetrics
from helpdesk_ticket.bootstrap import build_app as ticket_app
from helpdesk_ticket.settings import Settings as TicketSettings

SECRET = "metric-names-secret-0123456789-abcdef"


class _NoMail:
    async def send(self, mail: Mail) -> str:
        return "250 not sent"


def _apps(database_url: str, engine: AsyncEngine) -> dict[str, FastAPI]:
    common = {"database_url": database_url, "helpdesk_jwt_secret": SECRET}
    return {
        "intake": intake_app(IntakeSettings(**common), engine=engine),  # type: ignore[arg-type]
        "ticket": ticket_app(
            TicketSettings(**common, ticket_background_tasks=False),  # type: ignore[arg-type]
            engine=engine,
        ),
        "notify": notify_app(
            NotifySettings(**common, notify_consumer_enabled=False),  # type: ignore[arg-type]
            engine=engine,
            sender=_NoMail(),
        ),
        "metrics": metrics_app(
            MetricsSettings(**common, metrics_consumer_enabled=False),  # type: ignore[arg-type]
            engine=engine,
        ),
    }


async def _exposed(app: FastAPI) -> set[str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        await http.get("/healthz")  # so that the labelled HTTP series exist
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    return {family.name for family in text_string_to_metric_families(answer.text)}


@pytest.mark.parametrize("service", ["intake", "ticket", "notify", "metrics"])
async def test_every_service_metric_follows_the_naming_rule(
    service: str, database_url: str, engine: AsyncEngine
) -> None:
    names = await _exposed(_apps(database_url, engine)[service])
    assert {n for n in names if not follows_convention(n)} == set()
    assert any(n.startswith("helpdesk_http_requests") for n in names)
    for runtime in ("process_cpu_seconds", "process_resident_memory_bytes", "python_info"):
        assert runtime in names, f"{service} does not serve {runtime}"
    assert any(n.startswith("python_gc_") for n in names)


@pytest.mark.parametrize("service", ["notify", "metrics"])
async def test_consuming_services_serve_their_consumers_metrics(
    service: str, database_url: str, engine: AsyncEngine
) -> None:
    names = await _exposed(_apps(database_url, engine)[service])
    for metric in ("handled", "duplicates", "retried", "dead_lettered"):
        assert f"helpdesk_consumer_{metric}_events" in names
    assert "helpdesk_consumer_lag_seconds" in names


def test_the_relay_metrics_follow_the_naming_rule() -> None:
    text = generate_latest(RelayMetrics().registry).decode()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {n for n in names if not follows_convention(n)} == set()
    assert {"helpdesk_relay_events_behind", "process_cpu_seconds", "python_info"} <= names
    assert "helpdesk_relay_oldest_unpublished_age_seconds" in names


def _used_in_deploy() -> set[str]:
    """The metric families the dashboards and alert rules of deploy/ query."""
    deploy = Path(__file__).resolve().parents[1] / "deploy"
    texts = [p.read_text() for p in (deploy / "grafana" / "dashboards").glob("*.json")]
    texts += [p.read_text() for p in (deploy / "prometheus" / "rules").glob("*.yml")]
    names = {
        n for text in texts for n in re.findall(r"\b(?:helpdesk|process|python)_[a-z_]+", text)
    }
    return {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in names}


async def test_the_dashboards_and_rules_query_only_exposed_metrics(
    database_url: str, engine: AsyncEngine
) -> None:
    exposed: set[str] = set()
    for app in _apps(database_url, engine).values():
        exposed |= await _exposed(app)
    relay = generate_latest(RelayMetrics().registry).decode()
    exposed |= {family.name for family in text_string_to_metric_families(relay)}
    used = _used_in_deploy()
    assert {"helpdesk_consumer_lag_seconds", "helpdesk_relay_events_behind"} <= used
    assert used - exposed == set()


@pytest.mark.parametrize(
    ("name", "follows"),
    [
        ("helpdesk_consumer_handled_events", True),
        ("process_cpu_seconds", True),
        ("http_requests", False),
        ("notify_mails", False),
        ("helpdesk_", False),
        ("helpdesk_Tickets_opened", False),
    ],
)
def test_the_rule_itself(name: str, follows: bool) -> None:
    assert follows_convention(name) is follows


VISIBILITY = {
    "helpdesk_postgres_oldest_transaction_age_seconds",
    "helpdesk_eventstore_oldest_writer_age_seconds",
    "helpdesk_eventstore_held_back_events",
    "helpdesk_eventstore_held_back_age_seconds",
}


async def test_the_ticket_service_measures_the_logs_visibility_at_each_scrape(
    database_url: str, engine: AsyncEngine
) -> None:
    """The service that serves the log (`GET /v1/events`) tells what holds its readers back."""
    app = _apps(database_url, engine)["ticket"]
    async with engine.connect() as writer:
        await writer.execute(text("SELECT pg_current_xact_id()"))  # an open writer
        age = text("SELECT extract(epoch FROM clock_timestamp() - now())")
        writing_for = float((await writer.execute(age)).scalar_one())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            answer = await http.get("/metrics")
        await writer.rollback()
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    assert values.keys() >= VISIBILITY
    assert values["helpdesk_eventstore_oldest_writer_age_seconds"] >= writing_for > 0
