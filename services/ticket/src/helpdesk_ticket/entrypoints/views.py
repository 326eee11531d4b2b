"""What the API answers about a ticket: its rebuilt state, deadlines and readable history."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from helpdesk_shared.events.admissibility import AdmissibilityEvidence
from helpdesk_shared.events.ticket import BreakdownCause
from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.sla import TargetView, current_holding, sla_views
from helpdesk_ticket.domain.ticket.sla import shares as team_shares
from helpdesk_ticket.domain.ticket.state import Ticket


class Deadline(BaseModel):
    """One SLA commitment of the ticket (business time, per the desk's calendar)."""

    target: str
    allowed_minutes: float
    deadline: datetime | None
    warning_at: datetime | None
    completed_at: datetime | None
    elapsed_minutes: float
    paused: bool
    breached: bool


class ResolutionView(BaseModel):
    solution: str
    code: str
    first_contact: bool
    by: str
    at: datetime
    #: Why the breakdown happened, with a `reinstall` resolution (`misuse`,
    #: `software_outside_approved_base`).
    cause: BreakdownCause | None = None


class ConsentView(BaseModel):
    """The requester's answer on remote maintenance: `granted` False is a refusal, or a
    withdrawal of an earlier consent."""

    granted: bool
    channel: str
    by: str
    at: datetime


class SuggestedArticle(BaseModel):
    id: uuid.UUID
    title: str
    category: str | None
    audience: str
    solved: int
    rank: float | None


class RuleView(BaseModel):
    """One rule the decision evaluated, in order, with what it found (in French)."""

    rule: str
    outcome: str
    detail: str


class AdmissibilityView(BaseModel):
    """The latest admissibility decision and what it rests on: the contract and the version of
    its terms applied (null when not recorded, tickets opened before it was), every rule."""

    decision: str
    contract_id: uuid.UUID | None
    contract_version: int | None
    rules: list[RuleView]


def admissibility_view(evidence: AdmissibilityEvidence) -> AdmissibilityView:
    return AdmissibilityView(
        decision=evidence.decision.value,
        contract_id=evidence.contract_id,
        contract_version=evidence.contract_version,
        rules=[
            RuleView(rule=r.rule, outcome=r.outcome.value, detail=r.detail) for r in evidence.rules
        ],
    )


class TicketView(BaseModel):
    id: uuid.UUID
    reference: str
    type: str
    status: str
    requester: str
    requester_name: str
    subject: str
    description: str
    channel: str
    admissibility: AdmissibilityView
    #: The version-1 summary of the same decision (`admissible`, `to_route`, `out_of_scope`,
    #: `to_verify`), the value `admissibility` had before it became the evidence.
    admissibility_outcome: str
    #: How deep the contract covers the request: escalation above this level is refused.
    coverage_limit: int | None = None
    coverage_item: str | None = None
    category: str | None
    #: The group the category belongs to when it is not the holder (routed domains): route there.
    suggested_group: str | None
    impact: str | None
    urgency: str | None
    priority: str | None
    group: str
    level: int
    assignee: str | None
    taken_by: str | None
    received_at: datetime
    opened_at: datetime
    taken_at: datetime | None
    last_activity_at: datetime | None
    hold_reason: str | None
    resolution: ResolutionView | None
    closed_at: datetime | None
    closure_code: str | None
    remote_maintenance_consent: bool | None
    #: The last consent recorded (granted or refused/withdrawn), by whom, when, how.
    consent: ConsentView | None = None
    #: The requester's organisation kind (`eple`: remote maintenance may be offered) and academy.
    requester_organisation_kind: str | None = None
    requester_academy: str | None = None
    #: The earlier ticket this one follows up, if any.
    follows_reference: str | None = None
    appointments: list[dict[str, Any]]
    comments: int
    escalations: int
    routings: int
    reopenings: int
    satisfaction: int | None
    sla: list[Deadline]
    #: Each group's share of the running business time, in minutes.
    team_minutes: dict[str, float]
    #: The group holding the ticket, since when, and its own running business time (minutes).
    holder_since: datetime | None
    holder_minutes: float | None
    version: int
    allowed_commands: list[str]
    #: Published articles that match the ticket best (GET only; requesters see FAQ entries).
    suggested_articles: list[SuggestedArticle] = []


def _minutes(value: timedelta) -> float:
    return round(value.total_seconds() / 60, 2)


def _deadline(view: TargetView, now: datetime, recorded: bool) -> Deadline:
    return Deadline(
        target=view.target.value,
        allowed_minutes=_minutes(view.allowed),
        deadline=view.deadline,
        warning_at=view.warning_at,
        completed_at=view.completed_at,
        elapsed_minutes=_minutes(view.elapsed),
        paused=view.paused,
        breached=recorded or view.breached or view.due(now),
    )


def _suggested_group(ticket: Ticket, policy: TicketPolicy) -> str | None:
    category = policy.category(ticket.category) if ticket.category else None
    if category is None or category.group == ticket.group:
        return None
    return category.group


def ticket_view(
    ticket: Ticket,
    version: int,
    allowed: list[str],
    policy: TicketPolicy,
    now: datetime,
    *,
    staff: bool = True,
) -> TicketView:
    """The ticket as `staff` or as its requester sees it (no count of internal comments)."""
    resolution = ticket.resolution
    until = ticket.closed_at or (resolution.at if resolution else None) or now
    holding = current_holding(ticket.clock, until, policy.calendar)
    return TicketView(
        id=ticket.id,
        reference=ticket.reference,
        type=ticket.type.value,
        status=ticket.status.value,
        requester=ticket.requester,
        requester_name=ticket.requester_name,
        subject=ticket.subject,
        description=ticket.description,
        channel=ticket.channel,
        admissibility=admissibility_view(ticket.evidence),
        admissibility_outcome=ticket.admissibility.value,
        coverage_limit=ticket.coverage_limit,
        coverage_item=ticket.coverage_item,
        category=ticket.category,
        suggested_group=_suggested_group(ticket, policy),
        impact=ticket.impact,
        urgency=ticket.urgency,
        priority=ticket.priority,
        group=ticket.group,
        level=ticket.level,
        assignee=ticket.assignee,
        taken_by=ticket.taken_by,
        received_at=ticket.received_at,
        opened_at=ticket.opened_at,
        taken_at=ticket.taken_at,
        last_activity_at=ticket.last_activity_at,
        hold_reason=ticket.hold_reason,
        resolution=ResolutionView(**vars(resolution)) if resolution else None,
        closed_at=ticket.closed_at,
        closure_code=ticket.closure_code,
        remote_maintenance_consent=ticket.consent.granted if ticket.consent else None,
        consent=ConsentView(**vars(ticket.consent)) if ticket.consent else None,
        requester_organisation_kind=ticket.requester_organisation_kind,
        requester_academy=ticket.requester_academy,
        follows_reference=ticket.follows_reference,
        appointments=[vars(a) for a in ticket.appointments],
        comments=ticket.comments if staff else ticket.public_comments,
        escalations=ticket.escalations,
        routings=ticket.routings,
        reopenings=ticket.reopenings,
        satisfaction=ticket.satisfaction,
        sla=[
            _deadline(v, now, v.target in ticket.breached) for v in sla_views(ticket, policy, now)
        ],
        team_minutes={
            g: _minutes(t) for g, t in team_shares(ticket.clock, until, policy.calendar).items()
        },
        holder_since=holding[1] if holding else None,
        holder_minutes=_minutes(holding[2]) if holding else None,
        version=version,
        allowed_commands=allowed,
    )


class HistoryEntry(BaseModel):
    version: int
    type: str
    summary: str
    by: str | None
    occurred_at: datetime | None
    recorded_at: datetime
    data: dict[str, Any]


_SUMMARIES: dict[str, str] = {
    "TicketOpened": "Ticket ouvert : {subject}",
    "TicketQualified": "Qualifié : {category}, priorité {priority}",
    "TicketAssigned": "Affecté au groupe {group}",
    "TicketTaken": "Pris en compte par {agent}",
    "Escalated": "Escaladé du niveau {from_level} au niveau {to_level} ({reason})",
    "Routed": "Routé de {from_group} vers {to_group} ({reason})",
    "CommentAdded": "Commentaire ({visibility}) : {text}",
    "PutOnHold": "Mis en attente ({reason})",
    "Resumed": "Reprise du traitement",
    "RemoteMaintenanceConsentRecorded": "Accord de télémaintenance enregistré ({channel})",
    "AppointmentScheduled": "Rendez-vous ({kind}) le {starts_at}",
    "TicketResolved": "Résolu : {solution}",
    "Closed": "Clôturé ({code})",
    "TicketReopened": "Réouvert : {reason}",
    "AdmissibilityRedecided": "Recevabilité redécidée ({reason}) : {decision}",
    "SatisfactionRated": "Satisfaction : {score}/5",
    "SlaWarning": "Échéance proche ({target}) : {deadline}",
    "SlaBreached": "Échéance dépassée ({target}) : {deadline}",
}


def history_entry(recorded: RecordedEvent) -> HistoryEntry:
    data = recorded.data
    template = _SUMMARIES.get(recorded.type, recorded.type)
    if recorded.type == "RemoteMaintenanceConsentRecorded" and data.get("granted") is False:
        template = "Refus de télémaintenance enregistré ({channel})"
    if recorded.type == "AdmissibilityRedecided":
        data = {**data, "decision": (data.get("admissibility") or {}).get("decision")}
    try:
        summary = template.format(**data)
    except (KeyError, IndexError, ValueError):
        summary = recorded.type
    occurred = data.get("occurred_at")
    return HistoryEntry(
        version=recorded.version,
        type=recorded.type,
        summary=summary,
        by=data.get("by") or data.get("opened_by") or recorded.metadata.actor,
        occurred_at=datetime.fromisoformat(occurred) if isinstance(occurred, str) else None,
        recorded_at=recorded.recorded_at,
        data=recorded.data,
    )
