"""A small desk's day as stored events, for the metrics integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk_shared.events import decode
from helpdesk_shared.eventstore.model import NewEvent

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Paris


@dataclass(frozen=True)
class Stored:
    stream_id: str
    event: NewEvent


def _at(minutes: float) -> str:
    return (MONDAY + timedelta(minutes=minutes)).isoformat()


class Desk:
    """Builds the events of tickets and calls the way intake and the ticket service record them."""

    def __init__(self) -> None:
        self.events: list[Stored] = []
        self._n = 0

    def _add(self, stream_id: str, type_: str, data: dict[str, Any]) -> None:
        decode(type_, 1, data)  # the scenario speaks the catalogue's language, field for field
        self.events.append(Stored(stream_id, NewEvent(type=type_, data=data)))

    def ticket(
        self,
        *,
        channel: str = "web",
        start: float = 0,
        take_after: float | None = 10,
        escalate: bool = False,
        resolve_after: float | None = None,
        close: bool = False,
        category: str = "printer",
        asset: str | None = None,
        only_contract_events: bool = False,
    ) -> str:
        """One ticket's events; returns its stream id."""
        self._n += 1
        ticket_id = str(uuid.uuid4())
        stream = f"ticket-{ticket_id}"

        def event(type_: str, minutes: float, **data: Any) -> None:
            self._add(stream, type_, {"ticket_id": ticket_id, "occurred_at": _at(minutes), **data})

        event(
            "TicketOpened",
            start,
            reference=f"INC-2026-{self._n:05d}",
            type="incident",
            channel=channel,
            requester={"login": f"user{self._n}", "name": "Agent", "department": "DAF"},
            subject="Imprimante",
            description="Ne marche plus",
            category=category,
            asset_tag=asset,
            pre_qualification={"outcome": "admissible", "reasons": []},
            group="desk",
            level=1,
            received_at=_at(start - 1),
        )
        if not only_contract_events:
            event(
                "TicketQualified",
                start + 1,
                type="incident",
                category=category,
                impact="low",
                urgency="high",
                priority="P3",
                by="agent1",
            )
        if take_after is not None and not only_contract_events:
            event("TicketTaken", start + take_after, agent="a1", group="desk", level=1, by="a1")
        if escalate:
            event(
                "Escalated",
                start + take_after + 5 if take_after else start + 5,
                from_level=1,
                to_level=2,
                group="n2-poste",
                reason="hardware",
                by="a1",
            )
        if resolve_after is not None and not only_contract_events:
            event(
                "TicketResolved",
                start + resolve_after,
                solution="fixed",
                resolution_code="fixed",
                first_contact=not escalate,
                level=2 if escalate else 1,
                group="n2-poste" if escalate else "desk",
                by="a1",
            )
        if close:
            event("Closed", start + (resolve_after or 30) + 5, code="resolved", by="a1")
        return stream

    def call(self, *, wait: float, answered: bool, start: float = 0) -> str:
        call_id = str(uuid.uuid4())
        offered = MONDAY + timedelta(minutes=start)
        end = (offered + timedelta(seconds=wait)).isoformat()
        self._add(
            f"call-{call_id}",
            "CallRecorded",
            {
                "call_id": call_id,
                "occurred_at": end,
                "outcome": "answered" if answered else "abandoned",
                "offered_at": offered.isoformat(),
                "answered_at": end if answered else None,
                "abandoned_at": None if answered else end,
                "wait_seconds": wait,
                "agent": "a1" if answered else None,
            },
        )
        return f"call-{call_id}"


def a_busy_morning() -> Desk:
    """Twelve tickets and ten calls, with worked commitments:
    abandonment 2/10, answered within 30 s 7/8, mail/web taken within 30 min 8/10,
    resolved by the desk 4/6."""
    desk = Desk()
    for i in range(8):
        desk.ticket(channel="web" if i % 2 else "email", start=i * 5, take_after=10)
    desk.ticket(channel="web", start=40, take_after=45)  # late
    desk.ticket(channel="email", start=45, take_after=None)  # never taken: late by noon
    # Resolutions: four at the desk, two after escalation.
    for i in range(4):
        desk.ticket(channel="phone", start=60 + i, resolve_after=20, close=True, asset="PRN-1")
    for i in range(2):
        desk.ticket(channel="phone", start=70 + i, escalate=True, resolve_after=90)
    for i in range(7):
        desk.call(wait=10 + i, answered=True, start=i)
    desk.call(wait=50, answered=True, start=8)
    desk.call(wait=40, answered=False, start=9)
    desk.call(wait=3, answered=False, start=10)
    return desk


@pytest.fixture
def busy_morning() -> Callable[[], Desk]:
    return a_busy_morning


@pytest.fixture
def new_desk() -> Callable[[], Desk]:
    """An empty desk, to store a scenario of the test's own."""
    return Desk


@pytest.fixture
def minutes_from_monday() -> Callable[[datetime], float]:
    """A moment as the minutes offset `Desk` counts in (negative before its reference Monday)."""
    return lambda moment: (moment - MONDAY).total_seconds() / 60
