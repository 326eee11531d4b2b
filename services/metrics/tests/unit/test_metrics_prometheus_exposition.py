"""`/metrics` exposition from facts: names, bounded labels, and the deploy files that use them."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from helpdesk_metrics.adapters.queries.figures import (
    MAX_LABEL_VALUES,
    FiguresCollector,
    Snapshot,
)
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import Status, TicketFacts
from helpdesk_metrics.domain.report_fold import kpi_report
from helpdesk_metrics.domain.totals import bounded, timed, totals_of
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.db import create_engine

DEPLOY = Path(__file__).resolve().parents[4] / "deploy"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
CALENDAR = BusinessCalendar.always_open()


def facts(n_groups: int) -> tuple[list[TicketFacts], list[CallFacts]]:
    base = TicketFacts(
        ticket_id="t",
        reference="INC",
        type="incident",
        channel="web",
        received_at=NOW - timedelta(hours=2),
        opened_at=NOW - timedelta(hours=2),
        initial_group="desk",
        initial_level=1,
        group="desk",
        level=1,
        status=Status.IN_PROGRESS,
        priority="P3",
        taken_at=NOW - timedelta(hours=1, minutes=50),
    )
    tickets = [replace(base, ticket_id=f"t{i}", group=f"group-{i}") for i in range(n_groups)]
    tickets.append(replace(base, ticket_id="r", resolved_at=NOW, status=Status.RESOLVED))
    calls = [CallFacts("c1", NOW - timedelta(hours=1), answered_at=NOW, wait_seconds=12.0)]
    return tickets, calls


def exposition(n_groups: int = 3) -> str:
    tickets, calls = facts(n_groups)
    collector = FiguresCollector(
        create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none"),  # never connected here
        calendar=CALENDAR,
        window=timedelta(days=30),
        recurrence_threshold=3,
        max_age=60,
        clock=lambda: NOW,
    )
    window = Period(NOW - timedelta(days=30), NOW)
    report = kpi_report(tickets, calls, window, Filters(), as_of=NOW, calendar=CALENDAR)
    totals = bounded(totals_of([timed(t, CALENDAR) for t in tickets], calls), MAX_LABEL_VALUES)
    collector.snapshot = Snapshot(totals, report, time.monotonic())
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def sample_names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_names_follow_prometheus_conventions() -> None:
    names = sample_names(exposition())
    assert "helpdesk_tickets_opened_total" in names
    assert "helpdesk_calls_total" in names
    assert {
        "helpdesk_ticket_take_into_account_seconds_bucket",
        "helpdesk_ticket_resolution_seconds_sum",
        "helpdesk_call_wait_seconds_count",
    } <= names
    assert {"helpdesk_commitment_ratio", "helpdesk_commitment_met"} <= names
    assert "helpdesk_backlog_tickets" in names


def test_histograms_count_the_business_durations() -> None:
    families = {f.name: f for f in text_string_to_metric_families(exposition(n_groups=2))}
    take = {
        (s.labels.get("le"), s.name): s.value
        for s in families["helpdesk_ticket_take_into_account_seconds"].samples
        if s.labels.get("priority") == "P3"
    }
    assert take[("300.0", "helpdesk_ticket_take_into_account_seconds_bucket")] == 0
    assert take[("900.0", "helpdesk_ticket_take_into_account_seconds_bucket")] == 3  # 10 minutes
    assert take[(None, "helpdesk_ticket_take_into_account_seconds_count")] == 3
    assert take[(None, "helpdesk_ticket_take_into_account_seconds_sum")] == 3 * 600


def test_group_labels_are_bounded() -> None:
    text = exposition(n_groups=50)
    groups = set(re.findall(r'helpdesk_backlog_tickets\{[^}]*group="([^"]+)"', text))
    assert len(groups) <= MAX_LABEL_VALUES + 1
    assert "other" in groups


def test_the_deploy_files_use_only_exposed_metrics() -> None:
    exposed = sample_names(exposition())
    dashboard = json.loads((DEPLOY / "grafana/dashboards/helpdesk-commitments.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    rules = yaml.safe_load((DEPLOY / "prometheus/rules/helpdesk-commitments.yml").read_text())
    expressions += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {
        name
        for e in expressions
        for name in re.findall(r"\bhelpdesk_[a-z_]+", e)
        # served by the relay, or by every service's HTTP layer (tests/test_metric_names.py)
        if not name.startswith(("helpdesk_relay_", "helpdesk_http_"))
    }
    assert used, "the dashboard should use the metrics service's figures"
    assert used <= exposed, used - exposed
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    targets = [
        t
        for job in config["scrape_configs"]
        for s in job.get("static_configs", [])
        for t in s["targets"]
    ]
    assert "127.0.0.1:8004" in targets
