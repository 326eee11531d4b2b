"""Calls reported by the telephony system, checked and turned into `CallRecorded` facts.

The service card's call commitments (abandonment under 10 %, answered within 30 s over 90 %) are
computed by metrics from these facts, so a call must say plainly whether it was answered or
abandoned, and when.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helpdesk_shared.events.intake import CallOutcome, CallRecorded

_NAMESPACE = uuid.UUID("0b7f6d1e-2c3a-4e5f-8a9b-1c2d3e4f5a6b")


class CallReport(BaseModel):
    """One call as the telephony system describes it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "pbx-2026-000123",
                    "offered_at": "2026-03-02T09:14:05+01:00",
                    "answered_at": "2026-03-02T09:14:40+01:00",
                    "ended_at": "2026-03-02T09:21:12+01:00",
                    "agent": "agent.martin",
                    "caller": "+33123456789",
                    "queue": "support",
                }
            ]
        },
        extra="forbid",
    )

    call_id: str = Field(min_length=1, max_length=200, description="The telephony system's id")
    offered_at: AwareDatetime
    answered_at: AwareDatetime | None = None
    abandoned_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    agent: str | None = Field(default=None, max_length=200)
    caller: str | None = Field(default=None, max_length=80)
    queue: str | None = Field(default=None, max_length=80)
    ticket_id: uuid.UUID | None = None


class CallRejected(ValueError):
    """The report contradicts itself; `field` names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def call_uuid(report: CallReport) -> uuid.UUID:
    """The same telephony id always names the same `call-<uuid>` stream."""
    return uuid.uuid5(_NAMESPACE, report.call_id)


def event_uuid(report: CallReport) -> uuid.UUID:
    """Same id and same content: same event (a retry); other content: a conflict."""
    content = json.dumps(report.model_dump(mode="json"), sort_keys=True)
    return uuid.uuid5(_NAMESPACE, hashlib.sha256(content.encode()).hexdigest())


def record_call(report: CallReport, now: datetime) -> CallRecorded:
    """Check the report's times and say what happened to the call."""
    if (report.answered_at is None) == (report.abandoned_at is None):
        raise CallRejected("answered_at", "exactly one of answered_at or abandoned_at is needed")
    outcome_at = report.answered_at or report.abandoned_at
    assert outcome_at is not None
    field = "answered_at" if report.answered_at else "abandoned_at"
    if outcome_at < report.offered_at:
        raise CallRejected(field, f"{field} is before offered_at")
    if report.ended_at is not None and report.ended_at < outcome_at:
        raise CallRejected("ended_at", f"ended_at is before {field}")
    if report.answered_at is not None and not report.agent:
        raise CallRejected("agent", "an answered call names the agent who answered")
    return CallRecorded(
        call_id=call_uuid(report),
        occurred_at=now,
        external_id=report.call_id,
        outcome=CallOutcome.ANSWERED if report.answered_at else CallOutcome.ABANDONED,
        offered_at=report.offered_at,
        answered_at=report.answered_at,
        abandoned_at=report.abandoned_at,
        ended_at=report.ended_at,
        wait_seconds=(outcome_at - report.offered_at).total_seconds(),
        agent=report.agent,
        caller=report.caller,
        queue=report.queue,
        ticket_id=report.ticket_id,
    )
