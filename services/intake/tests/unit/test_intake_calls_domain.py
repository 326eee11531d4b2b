"""Call reports: what the call commitments are computed from must be unambiguous."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_intake.domain.calls import (
    CallRejected,
    CallReport,
    call_uuid,
    event_uuid,
    record_call,
)

NOW = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def report(**extra: Any) -> CallReport:
    fields: dict[str, Any] = {
        "call_id": "pbx-1",
        "offered_at": "2026-03-02T09:00:00+00:00",
        "answered_at": "2026-03-02T09:00:29+00:00",
        "agent": "agent.dupont",
    }
    return CallReport.model_validate(fields | extra)


def test_answered_call_measures_the_wait() -> None:
    event = record_call(report(), NOW)
    assert (event.outcome.value, event.wait_seconds, event.agent) == (
        "answered",
        29.0,
        "agent.dupont",
    )


def test_abandoned_call_measures_the_wait_until_hang_up() -> None:
    event = record_call(
        report(answered_at=None, agent=None, abandoned_at="2026-03-02T09:01:00+00:00"), NOW
    )
    assert (event.outcome.value, event.wait_seconds) == ("abandoned", 60.0)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"answered_at": None}, "answered_at"),
        ({"abandoned_at": "2026-03-02T09:00:10+00:00"}, "answered_at"),
        ({"answered_at": "2026-03-02T08:59:00+00:00"}, "answered_at"),
        ({"answered_at": None, "abandoned_at": "2026-03-02T08:00:00+00:00"}, "abandoned_at"),
        ({"ended_at": "2026-03-02T09:00:01+00:00"}, "ended_at"),
        ({"agent": None}, "agent"),
    ],
)
def test_contradictory_reports_name_the_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(CallRejected) as rejected:
        record_call(report(**extra), NOW)
    assert rejected.value.field == field


def test_ids_are_stable_per_call_and_per_content() -> None:
    assert call_uuid(report()) == call_uuid(report(agent="other"))
    assert event_uuid(report()) == event_uuid(report())
    assert event_uuid(report()) != event_uuid(report(agent="other"))
