"""Facts shared by the metrics tests: varied tickets and calls that reach every figure of a
report (the fold's unit tests and the paged report's integration tests use the same ones)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import Status, TicketFacts


def varied_tickets(n: int, seed: int = 7) -> list[TicketFacts]:
    rng = random.Random(seed)
    pick = rng.choice
    tickets = []
    for i in range(n):
        received = datetime(2026, 2, 20, tzinfo=UTC) + timedelta(minutes=20 * rng.randrange(3000))
        taken = pick([None, received + timedelta(minutes=rng.randrange(1, 3000))])
        resolved = pick([None, None, (taken or received) + timedelta(hours=rng.randrange(1, 200))])
        closed = pick([None, resolved and resolved + timedelta(days=rng.randrange(0, 5))])
        desk = rng.random() < 0.4  # kept by the desk at level 1 throughout: single-desk
        reopenings = 0 if desk else pick([0, 0, 1, 2])
        tickets.append(
            TicketFacts(
                ticket_id=f"{i:06d}",
                reference=f"INC-{rng.randrange(10**6):06d}",
                type=pick(["incident", "incident", "request", "complaint"]),
                channel=pick(["web", "email", "phone", "walk_in"]),
                received_at=received,
                opened_at=received,
                initial_group="desk" if desk else pick(["desk", "desk", "n2"]),
                initial_level=1 if desk else pick([1, 1, 2]),
                group="desk" if desk else pick(["desk", "desk", "n2", "management"]),
                level=1 if desk else pick([1, 1, 2, 3]),
                status=pick(list(Status)),
                priority=pick([None, "P1", "P2", "P3", "P4"]),
                category=pick([None, "printer", "network", "mail"]),
                asset_tag=pick([None, "", "PC-1", "PC-2", "PRN-9"]),
                department=pick([None, "DAF", "DRH", "DSI"]),
                admissibility=pick([None, "admissible", "in_scope", "out_of_scope"]),
                taken_at=taken,
                first_resolved_at=resolved and pick([resolved, resolved - timedelta(hours=1)]),
                resolved_at=resolved if not reopenings or rng.random() < 0.5 else None,
                closed_at=closed,
                escalations=0 if desk else pick([0, 0, 1, 2]),
                routings=0 if desk else pick([0, 0, 1]),
                reopenings=reopenings,
                sla_breaches=pick([0, 0, 0, 1, 3]),
                rating=pick([None, None, 1, 2, 3, 4, 5]),
                first_contact=pick([None, True, False]),
                resolved_level=pick([None, 1, 2]),
            )
        )
    return tickets


def calls_of(n: int) -> list[CallFacts]:
    start = datetime(2026, 2, 28, 8, tzinfo=UTC)
    return [
        CallFacts(
            call_id=f"c{i}",
            offered_at=start + timedelta(hours=7 * i),
            answered_at=None if i % 4 == 0 else start + timedelta(hours=7 * i, seconds=i % 50),
            abandoned_at=start + timedelta(hours=7 * i, seconds=40) if i % 4 == 0 else None,
            wait_seconds=None if i % 9 == 0 else float(i % 50),
        )
        for i in range(n)
    ]


@pytest.fixture(name="varied_tickets")
def varied_tickets_fixture() -> Callable[..., list[TicketFacts]]:
    """`varied_tickets(n, seed=7)`: n tickets of every type, channel, group and fate."""
    return varied_tickets


@pytest.fixture(name="calls_of")
def calls_of_fixture() -> Callable[[int], list[CallFacts]]:
    """`calls_of(n)`: n calls, a quarter abandoned, some without a wait recorded."""
    return calls_of
